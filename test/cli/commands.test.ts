import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probe } from '../helpers/ffprobe.js';
import { TEST_KEY } from '../helpers/test-app.js';
import { MediaFiles } from '../media/helpers.js';
import { closedPort, startVidgate, type RunningVidgate } from '../sdk/helpers.js';
import { runCli } from './run-cli.js';

describe('vidgate tasks, balance and models', () => {
  let v: RunningVidgate;
  let dir: string;
  let env: Record<string, string>;
  let taskId: string;

  beforeAll(async () => {
    v = await startVidgate();
    dir = await mkdtemp(join(tmpdir(), 'vidgate-cli-'));
    env = { VIDGATE_BASE_URL: v.baseURL, VIDGATE_API_KEY: TEST_KEY };
    taskId = (await v.client().videos.generate({ model: 'doubao-seedance-2.0', prompt: 'CLI task', resolution: '480p', duration: 4, return_last_frame: true }))
      .task_id;
  });
  afterAll(async () => {
    await v?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('tasks wait --out resumes a wait and downloads; tasks get shows the task', async () => {
    const out = join(dir, 'resumed.mp4');
    const r = await runCli(['tasks', 'wait', taskId, '--out', out], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${out}\n`);
    expect((await probe(out)).frames).toBe(96);

    const human = await runCli(['tasks', 'get', taskId], env);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(new RegExp(`^${taskId}  completed  100%`));
    expect(human.stdout).toMatch(/video +http:\/\/127\.0\.0\.1:\d+\//);
    expect(human.stdout).toMatch(/last frame +http/);

    const json = await runCli(['tasks', 'get', taskId, '--json', '--language', 'zh'], env);
    expect(JSON.parse(json.stdout)).toMatchObject({ id: taskId, status: 'completed', result: { videos: [{ url: [expect.any(String)] }] } });
  });

  it('tasks download saves to <id>.mp4 in the working directory by default, and the last frame with --variant', async () => {
    await v.settled(taskId);
    const cwd = await mkdtemp(join(dir, 'cwd-'));
    const r = await runCli(['tasks', 'download', taskId], env, cwd);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(join(cwd, `${taskId}.mp4`));
    const frame = await runCli(['tasks', 'download', taskId, '--variant', 'last_frame', '--json'], env, cwd);
    expect(JSON.parse(frame.stdout)).toMatchObject({ path: join(cwd, `${taskId}.png`), content_type: 'image/png' });
    expect((await readdir(cwd)).sort()).toEqual([`${taskId}.mp4`, `${taskId}.png`]);
  });

  it('tasks list, in lines and in JSON', async () => {
    const human = await runCli(['tasks', 'list', '--limit', '5'], env);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(taskId);
    const json = await runCli(['tasks', 'list', '--json', '--status', 'completed'], env);
    const page = JSON.parse(json.stdout);
    expect(page).toMatchObject({ has_more: false, next_after: null });
    expect(page.data.map((t: { id: string }) => t.id)).toContain(taskId);
  });

  it('balance and models', async () => {
    const balance = await runCli(['balance'], env);
    expect(balance.stdout).toMatch(/^remaining +unlimited\nused +\$/);
    expect(JSON.parse((await runCli(['balance', '--json'], env)).stdout)).toMatchObject({ success: true, remain_balance: -1, unlimited_quota: true });
    const models = await runCli(['models'], env);
    expect(models.stdout.trim().split('\n')).toHaveLength(5);
    expect(models.stdout).toMatch(/^doubao-seedance-2\.0 +480p 720p 1080p 4k +\$0\.066–\$0\.722 per second$/m);
    expect(JSON.parse((await runCli(['models', '--json'], env)).stdout)[0]).toMatchObject({ id: 'doubao-seedance-2.0' });
  });

  it('--image with a local file uploads it first and submits its URL', async () => {
    const files = await MediaFiles.create();
    try {
      const image = await files.image('first.png', 640, 360);
      const r = await runCli(['generate', 'The kitten walks', '--image', image, '--json'], env);
      expect(r.code).toBe(0);
      const { task_id } = JSON.parse(r.stdout);
      const record = await v.app.store.getTask(task_id);
      expect(record?.request.media).toHaveLength(1);
      expect(record?.request.media[0]).toMatchObject({ kind: 'image', role: 'first_frame', url: expect.stringMatching(/\/uploads\/[0-9A-Z]{26}\.png\?/) });
      await v.settled(task_id); // let it run before the app closes
    } finally {
      await files.remove();
    }
  });

  it('--base-url and --api-key override the environment', async () => {
    const r = await runCli(['balance', '--base-url', v.baseURL, '--api-key', TEST_KEY, '--json'], {
      VIDGATE_BASE_URL: 'http://127.0.0.1:1',
      VIDGATE_API_KEY: 'wrong',
    });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).success).toBe(true);
  });
});

describe('vidgate tasks cancel', () => {
  it('cancels a pending task; a second cancel is an API error (exit 3)', async () => {
    const v = await startVidgate({}, { runDispatcher: false });
    try {
      const env = { VIDGATE_BASE_URL: v.baseURL, VIDGATE_API_KEY: TEST_KEY };
      const { task_id } = await v.client().videos.generate({ model: 'doubao-seedance-2.0', prompt: 'cancel me' });
      const r = await runCli(['tasks', 'cancel', task_id], env);
      expect(r).toMatchObject({ code: 0, stdout: `${task_id} cancelled\n` });
      const again = await runCli(['tasks', 'cancel', task_id], env);
      expect(again.code).toBe(3);
      expect(again.stderr).toMatch(/^vidgate: .+\(HTTP 409, conflict_error, request [\w-]+\)\n$/);
      const wait = await runCli(['tasks', 'wait', task_id], env);
      expect(wait.code).toBe(1);
      expect(wait.stderr).toContain(`task ${task_id} cancelled`);
    } finally {
      await v.close();
    }
  });
});

describe('vidgate exit codes and one-line errors', () => {
  let v: RunningVidgate;
  let env: Record<string, string>;
  beforeAll(async () => {
    v = await startVidgate({}, { runDispatcher: false });
    env = { VIDGATE_BASE_URL: v.baseURL, VIDGATE_API_KEY: TEST_KEY };
  });
  afterAll(async () => v?.close());

  const oneLine = (stderr: string) => {
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).not.toMatch(/\n\s+at /);
  };

  it('a bad API key → 3', async () => {
    const r = await runCli(['generate', 'x'], { ...env, VIDGATE_API_KEY: 'sk-wrong' });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^vidgate: Authentication failed.*HTTP 401, authentication_error/);
    oneLine(r.stderr);
  });

  it('an unknown task → 3', async () => {
    const r = await runCli(['tasks', 'get', 'task_01ZZZZZZZZZZZZZZZZZZZZZZZZ'], env);
    expect(r.code).toBe(3);
    oneLine(r.stderr);
  });

  it('an unreachable server → 4', async () => {
    const r = await runCli(['balance'], { ...env, VIDGATE_BASE_URL: `http://127.0.0.1:${await closedPort()}` });
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/^vidgate: cannot reach http:\/\/127\.0\.0\.1:\d+\/v1\/balance: .*ECONNREFUSED/);
    oneLine(r.stderr);
  });

  it('a bad flag, a bad value, a missing argument → 2', async () => {
    for (const args of [
      ['generate', 'x', '--frobnicate'],
      ['generate', 'x', '--duration', 'five'],
      ['generate', 'x', '--resolution', '8k'],
      ['tasks', 'get'],
      ['tasks', 'list', '--limit', '1000'],
    ]) {
      const r = await runCli(args, env);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toMatch(/^error: .+\n\(see: vidgate [\w ]+ --help\)\n$/);
    }
  });

  it('a parameter that breaks a submit rule → 2, and nothing is sent', async () => {
    const before = (await v.client().tasks.list()).data.length;
    const r = await runCli(['generate', 'x', '--model', 'doubao-seedance-2.0-fast', '--resolution', '1080p'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('vidgate: resolution "1080p" is not available for doubao-seedance-2.0-fast: use one of 480p, 720p\n');
    const missing = await runCli(['generate', '--image', 'no-such-file.png'], env);
    expect(missing.code).toBe(2);
    oneLine(missing.stderr);
    expect((await v.client().tasks.list()).data.length).toBe(before);
  });

  it('no API key → 2', async () => {
    const r = await runCli(['balance'], { VIDGATE_BASE_URL: v.baseURL });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('vidgate: no API key: set VIDGATE_API_KEY (or APIMART_API_KEY), or pass --api-key\n');
  });

  it('--timeout reached → 4, the task keeps running', async () => {
    const { task_id } = await v.client().videos.generate({ model: 'doubao-seedance-2.0', prompt: 'slow' });
    const r = await runCli(['tasks', 'wait', task_id, '--timeout', '0.5'], env);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(`task ${task_id} did not finish within`);
    expect((await v.client().tasks.get(task_id)).status).toBe('pending');
  });

  it('vidgate --help documents the exit codes and the environment', async () => {
    const r = await runCli(['--help'], {});
    expect(r.code).toBe(0);
    for (const text of ['Exit codes:', '130', 'VIDGATE_BASE_URL', 'VIDGATE_API_KEY', 'APIMART_API_KEY', 'generate', 'serve', 'tasks']) {
      expect(r.stdout).toContain(text);
    }
  });
});
