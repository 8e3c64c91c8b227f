import { readFile, readdir, rm, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probe } from '../helpers/ffprobe.js';
import { MediaFiles } from '../media/helpers.js';
import { VidgateError, VidgateValidationError, type Task } from '../../src/sdk/index.js';
import { closedPort, startVidgate, type RunningVidgate } from './helpers.js';

/** Every SDK method against a real vidgate listening on 127.0.0.1. */
describe('SDK against a running vidgate', () => {
  let v: RunningVidgate;
  let dir: string;
  let files: MediaFiles;

  beforeAll(async () => {
    v = await startVidgate();
    dir = await mkdtemp(join(tmpdir(), 'vidgate-sdk-'));
    files = await MediaFiles.create();
  });
  afterAll(async () => {
    await v?.close();
    await files?.remove();
    await rm(dir, { recursive: true, force: true });
  });

  it('generate → wait (with progress) → download streams a playable video', async () => {
    const client = v.client();
    const submitted = await client.videos.generate({
      model: 'doubao-seedance-2.0',
      prompt: 'A kitten yawning at the camera',
      resolution: '480p',
      duration: 4,
      generate_audio: true,
      return_last_frame: true,
    });
    expect(submitted).toEqual({ task_id: expect.stringMatching(/^task_[0-9A-Z]{26}$/), status: 'submitted', replayed: false });

    const seen: Task[] = [];
    const task = await client.tasks.wait(submitted.task_id, { onProgress: (t) => seen.push(t), pollInterval: 200 });
    expect(task.status).toBe('completed');
    expect(task.progress).toBe(100);
    expect(task.result?.videos[0]?.url).toHaveLength(1);
    expect(task.result?.last_frame_url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);
    expect(seen.length).toBeGreaterThanOrEqual(1);
    expect(seen.at(-1)).toEqual(task);
    const progress = seen.map((t) => t.progress);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));

    const received: number[] = [];
    const file = await client.tasks.download(task.id, join(dir, 'nested', 'kitten.mp4'), { onProgress: (n) => received.push(n) });
    expect(file).toMatchObject({ path: join(dir, 'nested', 'kitten.mp4'), source: 'result_url', content_type: 'video/mp4' });
    expect(received.at(-1)).toBe(file.bytes);
    const p = await probe(file.path);
    expect(p).toMatchObject({ width: 864, height: 480, frames: 96, hasAudio: true, videoCodec: 'h264' });
    expect(await readdir(join(dir, 'nested'))).toEqual(['kitten.mp4']); // no partial file left behind

    const frame = await client.tasks.download(task.id, join(dir, 'last.png'), { variant: 'last_frame' });
    expect((await readFile(frame.path)).subarray(1, 4).toString()).toBe('PNG');
  });

  it('get answers the task; a failed task carries its error, translated with language', async () => {
    const client = v.client();
    // A loopback reference is refused when the task runs: the task fails (invalid_media / media_fetch_failed).
    const { task_id } = await client.videos.generate({
      model: 'doubao-seedance-2.0',
      prompt: 'x',
      image_urls: [`http://127.0.0.1:${await closedPort()}/cat.png`],
    });
    await v.settled(task_id);
    const failed = await client.tasks.get(task_id);
    expect(failed).toMatchObject({ id: task_id, status: 'failed', error: { code: expect.any(String), message: expect.any(String) } });
    const zh = await client.tasks.get(task_id, { language: 'zh' });
    expect(zh.error?.code).toBe(failed.error?.code);
    expect(zh.error?.message).not.toBe(failed.error?.message);
    // A failed task's result cannot be downloaded.
    await expect(client.tasks.download(task_id, join(dir, 'never.mp4'))).rejects.toMatchObject({ status: 409, type: 'conflict_error' });
  });

  it('typed errors carry status, type, param and the request id', async () => {
    const err = await v
      .client()
      .tasks.get('task_01ZZZZZZZZZZZZZZZZZZZZZZZZ')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VidgateError);
    expect(err).toMatchObject({ status: 404, type: 'not_found_error', requestId: expect.any(String) });

    const bad = await v
      .client({ apiKey: 'sk-wrong' })
      .balance()
      .catch((e: unknown) => e);
    expect(bad).toMatchObject({ status: 401, type: 'authentication_error', name: 'VidgateError' });

    // With the client-side checks off, the server's own 400 names the field.
    const server = await v
      .client({ validate: false })
      .videos.generate({ model: 'doubao-seedance-2.0', prompt: 'x', duration: 20 })
      .catch((e: unknown) => e);
    expect(server).toMatchObject({ status: 400, type: 'invalid_request_error', param: 'duration' });
    expect(server).not.toBeInstanceOf(VidgateValidationError);

    // The same rule client-side: thrown before anything is sent.
    const client = await v
      .client()
      .videos.generate({ model: 'doubao-seedance-2.0', prompt: 'x', duration: 20 })
      .catch((e: unknown) => e);
    expect(client).toBeInstanceOf(VidgateValidationError);
    expect(client).toMatchObject({ status: 400, param: 'duration', requestId: undefined });
  });

  it('uploads.image takes a path, bytes or a Blob, and the URL serves the same bytes', async () => {
    const client = v.client();
    const path = await files.image('cat.png', 640, 480);
    const bytes = await readFile(path);

    const fromPath = await client.uploads.image(path);
    expect(fromPath).toMatchObject({
      filename: 'cat.png',
      content_type: 'image/png',
      bytes: bytes.length,
      url: expect.stringMatching(/^http:\/\/127\.0\.0\.1/),
    });
    expect(Buffer.from(await (await fetch(fromPath.url)).arrayBuffer()).equals(bytes)).toBe(true);

    const fromBuffer = await client.uploads.image(bytes, { filename: 'buffer.png' });
    expect(fromBuffer).toMatchObject({ filename: 'buffer.png', content_type: 'image/png', bytes: bytes.length });
    const fromBlob = await client.uploads.image(new Blob([bytes]));
    expect(fromBlob).toMatchObject({ content_type: 'image/png', bytes: bytes.length });

    await expect(client.uploads.image(join(dir, 'missing.png'))).rejects.toMatchObject({ name: 'VidgateValidationError', param: 'file' });
    await expect(client.uploads.image(Buffer.from('not an image'), { filename: 'x.png' })).rejects.toMatchObject({ status: 400, param: 'file' });

    // The uploaded URL is accepted by submit.
    const { task_id } = await client.videos.generate({ model: 'doubao-seedance-2.0', prompt: 'the cat', image_urls: [fromPath.url] });
    const record = await v.app.store.getTask(task_id);
    expect(record?.request.media.map((m) => m.url)).toEqual([fromPath.url]);
    await v.settled(task_id); // let it run before the app closes
  });

  it('balance and models', async () => {
    const client = v.client();
    expect(await client.balance()).toMatchObject({ success: true, remain_balance: -1, unlimited_quota: true, used_balance: expect.any(Number) });
    const models = await client.models();
    expect(models.map((m) => m.id)).toEqual([
      'doubao-seedance-2.0',
      'doubao-seedance-2.0-fast',
      'doubao-seedance-2.0-face',
      'doubao-seedance-2.0-fast-face',
      'doubao-seedance-2.0-mini',
    ]);
    expect(models[0]).toMatchObject({ resolutions: ['480p', '720p', '1080p', '4k'], pricing: { per_second: { '720p': 0.142 } } });
  });

  it('accepts a base URL with /v1 or a trailing slash', async () => {
    for (const baseURL of [`${v.baseURL}/`, `${v.baseURL}/v1`, `${v.baseURL}/v1/`]) {
      expect((await v.client({ baseURL }).balance()).success).toBe(true);
    }
  });
});

describe('SDK: list and cancel (tasks held pending)', () => {
  let v: RunningVidgate;
  beforeAll(async () => {
    v = await startVidgate({}, { runDispatcher: false });
  });
  afterAll(async () => v?.close());

  it('list pages newest first with limit/after and filters by status and model', async () => {
    const client = v.client();
    const ids: string[] = [];
    for (const model of ['doubao-seedance-2.0', 'doubao-seedance-2.0-fast', 'doubao-seedance-2.0'] as const) {
      ids.push((await client.videos.generate({ model, prompt: `task ${ids.length}` })).task_id);
    }
    const first = await client.tasks.list({ limit: 2 });
    expect(first.data.map((t) => t.id)).toEqual([ids[2], ids[1]]);
    expect(first).toMatchObject({ has_more: true, next_after: ids[1] });
    const second = await client.tasks.list({ limit: 2, after: first.next_after! });
    expect(second.data.map((t) => t.id)).toEqual([ids[0]]);
    expect(second).toMatchObject({ has_more: false, next_after: null });

    expect((await client.tasks.list({ model: 'doubao-seedance-2.0-fast' })).data.map((t) => t.id)).toEqual([ids[1]]);
    expect((await client.tasks.list({ status: 'pending' })).data).toHaveLength(3);
    expect((await client.tasks.list({ status: 'completed' })).data).toHaveLength(0);
  });

  it('cancel cancels a pending task; cancelling again is a 409; wait returns the cancelled task', async () => {
    const client = v.client();
    const { task_id } = await client.videos.generate({ model: 'doubao-seedance-2.0', prompt: 'to be cancelled' });
    const cancelled = await client.tasks.cancel(task_id);
    expect(cancelled).toMatchObject({ id: task_id, status: 'cancelled' });
    await expect(client.tasks.cancel(task_id)).rejects.toMatchObject({ status: 409, type: 'conflict_error' });
    expect((await client.tasks.wait(task_id)).status).toBe('cancelled');
  });

  it('wait honours timeout and signal, and leaves the task alone', async () => {
    const client = v.client();
    const { task_id } = await client.videos.generate({ model: 'doubao-seedance-2.0', prompt: 'never runs' });
    const started = Date.now();
    const err = await client.tasks.wait(task_id, { timeout: 700, pollInterval: 200 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'VidgateTimeoutError', type: 'timeout_error', taskId: task_id });
    expect(Date.now() - started).toBeLessThan(3000);

    const controller = new AbortController();
    const waiting = client.tasks.wait(task_id, { signal: controller.signal, pollInterval: 200 });
    setTimeout(() => controller.abort(), 300);
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' });
    expect((await client.tasks.get(task_id)).status).toBe('pending');
  });

  it('download of an unfinished task is a 409 and writes nothing', async () => {
    const client = v.client();
    const dir = await mkdtemp(join(tmpdir(), 'vidgate-sdk-'));
    const { task_id } = await client.videos.generate({ model: 'doubao-seedance-2.0', prompt: 'pending' });
    await expect(client.tasks.download(task_id, join(dir, 'x.mp4'))).rejects.toMatchObject({ status: 409 });
    expect(await readdir(dir)).toEqual([]);
    await rm(dir, { recursive: true, force: true });
  });
});

describe('SDK download falls back to /content', () => {
  it('when the result URL is unreachable (a wrong VIDGATE_PUBLIC_URL)', async () => {
    const v = await startVidgate({ VIDGATE_PUBLIC_URL: `http://127.0.0.1:${await closedPort()}` });
    const dir = await mkdtemp(join(tmpdir(), 'vidgate-sdk-'));
    try {
      const client = v.client({ maxRetries: 1 });
      const { task_id } = await client.videos.generate({ model: 'doubao-seedance-2.0-mini', prompt: 'fallback', resolution: '480p', duration: 4 });
      const task = await client.tasks.wait(task_id, { pollInterval: 200 });
      expect(task.status).toBe('completed');
      const file = await client.tasks.download(task_id, join(dir, 'out.mp4'));
      expect(file.source).toBe('content');
      expect(await probe(file.path)).toMatchObject({ width: 864, height: 480, frames: 96 });
    } finally {
      await v.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
