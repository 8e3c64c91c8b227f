import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probe } from '../helpers/ffprobe.js';
import { TEST_KEY } from '../helpers/test-app.js';
import { startFakeApimart } from '../helpers/upstreams/fake-apimart.js';
import { closedPort, startVidgate, type RunningVidgate } from '../sdk/helpers.js';
import { hasScript, runCli, runCliInTerminal, spawnCli } from './run-cli.js';

const KITTEN = ['generate', 'A kitten yawning at the camera', '--audio', '--resolution', '480p', '--duration', '4'];
const ESC = '\u001b';

describe('vidgate generate against a running vidgate', () => {
  let v: RunningVidgate;
  let dir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    v = await startVidgate();
    dir = await mkdtemp(join(tmpdir(), 'vidgate-cli-'));
    env = { VIDGATE_BASE_URL: v.baseURL, VIDGATE_API_KEY: TEST_KEY };
  });
  afterAll(async () => {
    await v?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('--wait --out produces a playable file; piped, it prints no progress', async () => {
    const out = join(dir, 'kitten.mp4');
    const r = await runCli([...KITTEN, '--wait', '--out', out], env);
    expect(r.stderr).not.toContain('vidgate:');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${out}\n`);
    const id = /task (task_[0-9A-Z]{26}) submitted/.exec(r.stderr)?.[1];
    expect(id).toBeDefined();
    expect(r.stderr).toContain(`task ${id} completed`);
    expect(r.stderr).toContain(`saved ${out}`);
    // No bar, no carriage returns, no escape codes: nothing but whole lines.
    expect(r.stderr).not.toContain('%');
    expect(r.stderr).not.toContain('\r');
    expect(r.stderr).not.toContain(ESC);

    const p = await probe(out);
    expect(p).toMatchObject({ width: 864, height: 480, frames: 96, fps: 24, hasAudio: true, videoCodec: 'h264', pixFmt: 'yuv420p' });
    expect((await v.client().tasks.get(id!)).status).toBe('completed');
  });

  it.skipIf(!hasScript)('attached to a terminal, it shows a live progress bar with status, percentage and elapsed time', async () => {
    const out = join(dir, 'tty.mp4');
    const r = await runCliInTerminal([...KITTEN, '--wait', '--out', out], env);
    expect(r.code).toBe(0);
    expect(r.output).toContain(ESC); // cursor control of the live bar
    expect(r.output).toMatch(/(pending|processing|completed) +[█░]{30} +\d{1,3}% \| elapsed \d+s \| task_[0-9A-Z]{26}/);
    expect(r.output).toMatch(/completed +█{30} 100%/);
    expect(r.output).toMatch(/download +[█░]{30}/);
    expect((await probe(out)).frames).toBe(96);
  });

  it('--json --wait --out prints the finished task as JSON on stdout, and only that', async () => {
    const out = join(dir, 'json.mp4');
    const r = await runCli([...KITTEN, '--wait', '--out', out, '--json'], env);
    expect(r.code).toBe(0);
    const task = JSON.parse(r.stdout);
    expect(task).toMatchObject({
      id: expect.stringMatching(/^task_/),
      status: 'completed',
      progress: 100,
      output: out,
      result: { videos: [{ url: [expect.any(String)] }] },
    });
    expect((await stat(out)).size).toBeGreaterThan(1000);
  });

  it('without --wait it prints the task id at once (stdout) and how to follow it (stderr)', async () => {
    const r = await runCli(['generate', 'A quick one', '--model', 'seedance-2.0-mini', '--resolution', '480p', '--duration', '4'], env);
    expect(r.code).toBe(0);
    const id = r.stdout.trim();
    expect(id).toMatch(/^task_[0-9A-Z]{26}$/);
    expect(r.stderr).toContain(`vidgate tasks wait ${id}`);
    const json = await runCli(['generate', 'Another', '--resolution', '480p', '--duration', '4', '--json'], env);
    const submitted = JSON.parse(json.stdout);
    expect(submitted).toEqual({ task_id: expect.stringMatching(/^task_/), status: 'submitted', replayed: false });
    await Promise.all([v.settled(id), v.settled(submitted.task_id)]); // let them run before the app closes
  });

  it('a failed task exits 1 with its error on one line', async () => {
    const image = `http://127.0.0.1:${await closedPort()}/cat.png`;
    const r = await runCli(['generate', 'x', '--image', image, '--wait'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/task task_[0-9A-Z]{26} failed: \w+: .+/);
    expect(r.stdout).toBe('');
  });
});

describe('Ctrl-C during vidgate generate --wait', () => {
  it('leaves the task running, prints how to resume and exits 130', async () => {
    // Without a dispatcher the task stays pending, so the interrupt always lands mid-wait.
    const v = await startVidgate({}, { runDispatcher: false });
    try {
      const cli = spawnCli([...KITTEN, '--wait', '--out', 'never.mp4'], { VIDGATE_BASE_URL: v.baseURL, VIDGATE_API_KEY: TEST_KEY });
      const [, id] = await cli.waitForStderr(/task (task_[0-9A-Z]{26}) submitted/);
      cli.child.kill('SIGINT');
      const r = await cli.done;
      expect(r.code).toBe(130);
      expect(r.stderr).toContain(`task ${id} keeps running`);
      expect(r.stderr).toContain(`vidgate tasks wait ${id} --out never.mp4`);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
      expect((await v.client().tasks.get(id!)).status).toBe('pending');
    } finally {
      await v.close();
    }
  });
});

describe('vidgate generate against an APIMart-compatible host', () => {
  it('works unchanged with APIMART_API_KEY and the host as base URL (data object, url string)', async () => {
    const fake = await startFakeApimart({ variant: 'object', urlVariant: 'string' });
    const dir = await mkdtemp(join(tmpdir(), 'vidgate-cli-'));
    try {
      const out = join(dir, 'kitten.mp4');
      const r = await runCli(['generate', 'A kitten yawning at the camera', '--audio', '--wait', '--out', out], {
        VIDGATE_BASE_URL: `${fake.baseUrl}/v1`,
        APIMART_API_KEY: 'apimart-key',
      });
      expect(r.stderr).not.toContain('vidgate:');
      expect(r.code).toBe(0);
      expect(fake.submissions()[0]!.body).toEqual({ model: 'doubao-seedance-2.0', prompt: 'A kitten yawning at the camera', generate_audio: true });
      expect(fake.submissions()[0]!.headers['idempotency-key']).toBeDefined();
      expect(await probe(out)).toMatchObject({ width: 320, height: 180, hasAudio: true });
    } finally {
      await fake.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
