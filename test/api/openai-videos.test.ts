import { createWriteStream } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import OpenAI, { APIError, AuthenticationError, BadRequestError, ConflictError, NotFoundError, toFile } from 'openai';
import type { Video, VideoSize } from 'openai/resources/videos';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probe } from '../helpers/ffprobe.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { MediaFiles } from '../media/helpers.js';
import { cover, ssimOfFrame } from '../render/modes-helpers.js';

/**
 * The OpenAI Videos API door, driven by the official `openai` SDK — unchanged but for `baseURL` and
 * `apiKey` — against a vidgate listening on 127.0.0.1, with real local renders: create, poll,
 * list, download, first frame from a file, delete, the errors the SDK turns into its classes, and
 * the same task (and the same single charge) seen through the APIMart door.
 */
const ADMIN = { authorization: 'Bearer admin-secret-for-openai-door' };
/** 480p 16:9, the smallest standard size; 4 s costs 4 × 0.066 USD on the standard model. */
const SMALL = '864x480' as VideoSize;
const PRICE_4S_480P = 0.264;
const OPENAI_ERROR_KEYS = ['code', 'message', 'param', 'type'];

let t: TestApp;
let base: string;
let apiKey: string;
let accountId: string;
let client: OpenAI;
let files: MediaFiles;
let dir: string;

const admin = async (method: string, path: string, body?: unknown) => {
  const res = await t.app.server.inject({ method: method as 'GET', url: `/admin/v1${path}`, headers: ADMIN, ...(body ? { payload: body as object } : {}) });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
};
const balance = async (): Promise<number> => (await admin('GET', `/accounts/${accountId}`)).data.balance;
const ledgerOf = async (taskId: string) =>
  ((await admin('GET', `/accounts/${accountId}/ledger?limit=100`)).data as Array<{ kind: string; amount: number; task_id: string | null }>).filter(
    (e) => e.task_id === taskId,
  );
const raw = (path: string, init: RequestInit = {}) =>
  fetch(`${base}${path}`, { ...init, headers: { authorization: `Bearer ${apiKey}`, ...(init.headers as Record<string, string>) } });

async function finished(id: string): Promise<Video> {
  for (;;) {
    const video = await client.videos.retrieve(id);
    if (video.status === 'completed' || video.status === 'failed') return video;
    await new Promise((r) => setTimeout(r, 150));
  }
}

async function save(response: Response, name: string): Promise<string> {
  const file = join(dir, name);
  await pipeline(Readable.fromWeb(response.body as never), createWriteStream(file));
  return file;
}

beforeAll(async () => {
  t = await startTestApp({ VIDGATE_ADMIN_TOKEN: ADMIN.authorization.slice('Bearer '.length) });
  base = await t.app.server.listen({ host: '127.0.0.1', port: 0 });
  const account = (await admin('POST', '/accounts', { name: 'openai-door', balance: 5 })).data;
  accountId = account.id;
  apiKey = (await admin('POST', `/accounts/${accountId}/keys`, { name: 'sdk' })).api_key;
  client = new OpenAI({ baseURL: `${base}/v1`, apiKey });
  files = await MediaFiles.create();
  dir = await mkdtemp(join(tmpdir(), 'vidgate-openai-'));
});
afterAll(async () => {
  await t?.close();
  await files?.remove();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the OpenAI SDK against vidgate', () => {
  let first: Video;

  it('creates a video, polls it to completed, downloads a real MP4 and its thumbnail', async () => {
    const before = await balance();
    const created = await client.videos.create({ model: 'doubao-seedance-2.0', prompt: 'A paper boat drifting down a rain gutter', seconds: '4', size: SMALL });
    expect(created).toEqual({
      id: expect.stringMatching(/^task_[0-9A-HJKMNP-TV-Z]{26}$/),
      object: 'video',
      model: 'doubao-seedance-2.0',
      status: 'queued',
      progress: 0,
      created_at: expect.any(Number),
      completed_at: null,
      expires_at: null,
      prompt: 'A paper boat drifting down a rain gutter',
      seconds: '4',
      size: '864x480',
      remixed_from_video_id: null,
      error: null,
    });
    first = await finished(created.id);
    expect(first).toMatchObject({ id: created.id, status: 'completed', progress: 100, error: null, seconds: '4', size: '864x480' });
    expect(first.completed_at).toBeGreaterThanOrEqual(first.created_at);
    expect(first.expires_at).toBeGreaterThan(first.completed_at!);

    const content = await client.videos.downloadContent(created.id);
    expect(content.headers.get('content-type')).toBe('video/mp4');
    const mp4 = await probe(await save(content, 'first.mp4'));
    expect(mp4).toMatchObject({ width: 864, height: 480, fps: 24, frames: 96, videoCodec: 'h264', hasAudio: true });
    expect(mp4.durationSec).toBeCloseTo(4, 1);

    const thumbnail = await client.videos.downloadContent(created.id, { variant: 'thumbnail' });
    expect(thumbnail.headers.get('content-type')).toBe('image/png');
    expect(await probe(await save(thumbnail, 'thumbnail.png'))).toMatchObject({ width: 864, height: 480 });

    // Charged once, the APIMart price: one reservation, settled at that price, nothing else.
    expect(await ledgerOf(created.id)).toEqual([expect.objectContaining({ kind: 'reserve', amount: -PRICE_4S_480P })]);
    expect(await balance()).toBeCloseTo(before - PRICE_4S_480P, 6);
  });

  it('is the same task at GET /v1/tasks/{id}, in the APIMart shape, with its cost', async () => {
    const res = await raw(`/v1/tasks/${first.id}`);
    expect(res.status).toBe(200);
    const { code, data } = await res.json();
    expect(code).toBe(200);
    expect(data).toMatchObject({ id: first.id, status: 'completed', progress: 100, cost: PRICE_4S_480P, credits_cost: PRICE_4S_480P });
    expect(data.result.videos[0].url[0]).toMatch(new RegExp(`/${first.id}\\.mp4$`));
    expect(data.result.last_frame_url).toMatch(/_last_frame\.png$/);
    const withRequest = (await (await raw(`/v1/tasks/${first.id}?include=request`)).json()).data.request;
    expect(withRequest).toMatchObject({
      model: 'doubao-seedance-2.0',
      duration: 4,
      resolution: '480p',
      size: '16:9',
      generate_audio: true,
      return_last_frame: true,
    });
  });

  it('takes the first frame from a multipart input_reference file (a PNG made with ffmpeg)', async () => {
    const png = await files.image('reference.png', 864, 480);
    const created = await client.videos.create({
      model: 'seedance-2.0-fast',
      prompt: 'The test card comes alive',
      seconds: '4',
      size: SMALL,
      input_reference: await toFile(await readFile(png), 'reference.png', { type: 'image/png' }),
    });
    expect(created).toMatchObject({ status: 'queued', model: 'doubao-seedance-2.0-fast', size: '864x480' });
    const done = await finished(created.id);
    expect(done.status, JSON.stringify(done.error)).toBe('completed');
    const video = await save(await client.videos.downloadContent(created.id), 'from-reference.mp4');
    expect(await probe(video)).toMatchObject({ width: 864, height: 480, frames: 96 });
    expect(await ssimOfFrame(video, 0, png, cover(864, 480))).toBeGreaterThanOrEqual(0.9);

    // Stored like an upload, given to the task as its first frame, read from storage.
    const request = (await (await raw(`/v1/tasks/${created.id}?include=request`)).json()).data.request;
    expect(request.image_with_roles).toEqual([
      { url: expect.stringMatching(/\/uploads\/[0-9A-HJKMNP-TV-Z]{26}\.png\?expires=\d+&signature=/), role: 'first_frame' },
    ]);
  });

  it('shows a task made through the APIMart door as a video too', async () => {
    const res = await raw('/v1/videos/generations', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'doubao-seedance-2.0', prompt: 'A kitten yawning', resolution: '480p', size: '9:16' }),
    });
    const id: string = (await res.json()).data[0].task_id;
    const video = await client.videos.retrieve(id);
    expect(video).toMatchObject({ id, object: 'video', seconds: '5', size: '480x864', model: 'doubao-seedance-2.0' });
    expect(['queued', 'in_progress', 'completed']).toContain(video.status);
    await t.settled(id);
    expect(await finished(id)).toMatchObject({ status: 'completed' });
    expect((await client.videos.downloadContent(id)).headers.get('content-type')).toBe('video/mp4');
    // Submitted without return_last_frame: no thumbnail, and the answer says why.
    const thumbnail = await client.videos.downloadContent(id, { variant: 'thumbnail' }).catch((e: unknown) => e);
    expect(thumbnail).toBeInstanceOf(NotFoundError);
    expect((thumbnail as Error).message).toContain('return_last_frame');
  });

  it('lists every video, newest first, paging with after; order=asc reverses it', async () => {
    const all = (await t.app.store.listTasks({ accountId, limit: 100 })).map((task) => task.id);
    expect(all.length).toBeGreaterThanOrEqual(3);

    const page = await client.videos.list({ limit: 1 });
    expect(page.data.map((v) => v.id)).toEqual([all[0]]);
    expect(page.hasNextPage()).toBe(true);
    const next = await page.getNextPage();
    expect(next.data.map((v) => v.id)).toEqual([all[1]]);

    const seen: string[] = [];
    for await (const video of client.videos.list({ limit: 2 })) seen.push(video.id);
    expect(seen).toEqual(all);
    const ascending: string[] = [];
    for await (const video of client.videos.list({ limit: 2, order: 'asc' })) ascending.push(video.id);
    expect(ascending).toEqual([...all].reverse());

    const body = await (await raw('/v1/videos?limit=2')).json();
    expect(Object.keys(body).sort()).toEqual(['data', 'first_id', 'has_more', 'last_id', 'object']);
    expect(body).toMatchObject({ object: 'list', first_id: all[0], last_id: all[1], has_more: all.length > 2 });
  });

  it('deletes a finished video: its files go, the charge stays, the record remains', async () => {
    const before = await balance();
    const ledger = await ledgerOf(first.id);
    expect(await client.videos.delete(first.id)).toEqual({ id: first.id, object: 'video.deleted', deleted: true });
    expect(await readdir(join(t.dataDir, 'results', first.id)).catch(() => [])).toEqual([]);
    await expect(client.videos.downloadContent(first.id)).rejects.toBeInstanceOf(NotFoundError);
    expect(await client.videos.retrieve(first.id)).toMatchObject({ id: first.id, status: 'completed' });
    // Deleting again is the same answer; money does not move.
    expect(await client.videos.delete(first.id)).toMatchObject({ deleted: true });
    expect(await ledgerOf(first.id)).toEqual(ledger);
    expect(await balance()).toBe(before);
  });
});

describe('errors, in OpenAI shape, as the SDK classes', () => {
  it('a size Seedance cannot make: BadRequestError with param size, naming the nearest and the sizes it can', async () => {
    const before = await balance();
    const err = await client.videos.create({ prompt: 'x', size: '1280x720' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadRequestError);
    expect(err).toMatchObject({ status: 400, param: 'size', type: 'invalid_request_error', code: 'invalid_value' });
    expect((err as Error).message).toContain('the nearest is 1248x704 (720p 16:9)');
    expect((err as Error).message).toContain('864x480');
    const fast = await client.videos.create({ model: 'doubao-seedance-2.0-fast', prompt: 'x', size: '1920x1088' as VideoSize }).catch((e: unknown) => e);
    expect(fast).toMatchObject({ status: 400, param: 'size' });
    expect((fast as Error).message).not.toContain('1920x1088,');
    expect(await client.videos.create({ prompt: 'x', size: 'large' as VideoSize }).catch((e: unknown) => e)).toMatchObject({ param: 'size' });
    expect(await balance()).toBe(before);
  });

  it.each(['3', '16', '4.5', 'four'])('seconds %s: BadRequestError with param seconds', async (seconds) => {
    const err = await client.videos.create({ prompt: 'x', seconds: seconds as '4' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadRequestError);
    expect(err).toMatchObject({ param: 'seconds' });
    expect((err as Error).message).toContain('from 4 to 15');
  });

  it("OpenAI's models are not served: a 400 naming the models this server offers", async () => {
    const err = await client.videos.create({ model: 'sora-2', prompt: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadRequestError);
    expect(err).toMatchObject({ param: 'model' });
    expect((err as Error).message).toContain('doubao-seedance-2.0-fast');
  });

  it('an unknown id: NotFoundError, for retrieve, content and delete', async () => {
    for (const id of ['task_01KMCGF6BQGN3X28H3KSR50X5T', 'video_68d7512d07848190b3e45da0ecbebcde004da08e1e0678d5']) {
      await expect(client.videos.retrieve(id)).rejects.toBeInstanceOf(NotFoundError);
      await expect(client.videos.downloadContent(id)).rejects.toBeInstanceOf(NotFoundError);
      await expect(client.videos.delete(id)).rejects.toBeInstanceOf(NotFoundError);
    }
  });

  it('a price over what the key may spend: 402 insufficient_quota, and no task', async () => {
    const capped = (await admin('POST', `/accounts/${accountId}/keys`, { name: 'capped', spend_cap: 0.1 })).api_key;
    const poor = new OpenAI({ baseURL: `${base}/v1`, apiKey: capped });
    const before = (await t.app.store.listTasks({ accountId, limit: 100 })).length;
    const err = await poor.videos.create({ prompt: 'x', size: SMALL }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(APIError);
    expect(err).toMatchObject({ status: 402, type: 'insufficient_quota', code: 'insufficient_quota', param: null });
    expect((await t.app.store.listTasks({ accountId, limit: 100 })).length).toBe(before);
  });

  it('a bad key: AuthenticationError', async () => {
    const stranger = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'sk-not-a-key' });
    const err = await stranger.videos.list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthenticationError);
    expect(err).toMatchObject({ status: 401, code: 'invalid_api_key' });
    await expect(stranger.videos.create({ prompt: 'x' })).rejects.toBeInstanceOf(AuthenticationError);
  });

  it('the body is exactly {"error":{message,type,param,code}}; elsewhere the APIMart envelope stays', async () => {
    const res = await raw('/v1/videos/task_01KMCGF6BQGN3X28H3KSR50X5T');
    expect(res.status).toBe(404);
    const body = await res.json();
    expect(Object.keys(body)).toEqual(['error']);
    expect(Object.keys(body.error).sort()).toEqual(OPENAI_ERROR_KEYS);
    expect(body.error).toMatchObject({ type: 'invalid_request_error', param: null, code: 'not_found' });

    const limit = await (await raw('/v1/videos?limit=0')).json();
    expect(limit.error).toMatchObject({ param: 'limit', code: 'invalid_value' });
    // The APIMart routes keep theirs, and /v1/videos/generations is not a video id.
    expect((await (await raw('/v1/tasks/task_01KMCGF6BQGN3X28H3KSR50X5T')).json()).error).toMatchObject({ code: 404, type: 'not_found_error' });
    const generations = await raw('/v1/videos/generations');
    expect(generations.status).toBe(404);
    expect((await generations.json()).error).toMatchObject({ code: 404, message: 'no route GET /v1/videos/generations' });
  });

  it('spritesheet is not made here: BadRequestError with param variant', async () => {
    const id = (await t.app.store.listTasks({ accountId, limit: 1 }))[0]!.id;
    await expect(client.videos.downloadContent(id, { variant: 'spritesheet' })).rejects.toMatchObject({ status: 400, param: 'variant' });
  });
});

describe('unfinished videos, inline images, limits (no dispatcher)', () => {
  let idle: TestApp;
  let idleBase: string;
  let idleClient: OpenAI;
  const idleRaw = (path: string, init: RequestInit = {}) =>
    fetch(`${idleBase}${path}`, { ...init, headers: { ...idle.auth, ...(init.headers as Record<string, string>) } });

  beforeAll(async () => {
    idle = await startTestApp({ VIDGATE_DEFAULT_IN_FLIGHT: '2' }, { runDispatcher: false });
    idleBase = await idle.app.server.listen({ host: '127.0.0.1', port: 0 });
    idleClient = new OpenAI({ baseURL: `${idleBase}/v1`, apiKey: idle.auth.authorization.slice('Bearer '.length) });
  });
  afterAll(() => idle?.close());

  it('content of a queued video is a 409 (not retried), delete is a 409 pointing at cancel, and the defaults apply', async () => {
    const video = await idleClient.videos.create({ prompt: 'Waves on a pebble beach' });
    expect(video).toMatchObject({ status: 'queued', model: 'doubao-seedance-2.0', seconds: '4', size: '1248x704' });
    const content = await idleClient.videos.downloadContent(video.id).catch((e: unknown) => e);
    expect(content).toBeInstanceOf(ConflictError);
    const deleted = await idleClient.videos.delete(video.id).catch((e: unknown) => e);
    expect(deleted).toBeInstanceOf(ConflictError);
    expect((deleted as Error).message).toContain(`POST /v1/tasks/${video.id}/cancel`);
    // The SDK retries a 409 unless told not to: it would only wait to hear the same.
    expect((deleted as ConflictError).headers?.get('x-should-retry')).toBe('false');
    const cancelled = await idleRaw(`/v1/tasks/${video.id}/cancel`, { method: 'POST' });
    expect(cancelled.status).toBe(200);
    expect(await idleClient.videos.retrieve(video.id)).toMatchObject({ status: 'failed', error: { code: 'cancelled' } });
  });

  it('input_reference as {image_url}: a data: URL is stored like an upload, an http URL is kept for the run', async () => {
    const png = await readFile(await files.image('inline.png', 640, 640));
    const inline = await idleClient.videos.create({
      prompt: 'A square test card',
      size: '640x640' as VideoSize,
      input_reference: { image_url: `data:image/png;base64,${png.toString('base64')}` },
    });
    const request = (await (await idleRaw(`/v1/tasks/${inline.id}?include=request`)).json()).data.request;
    expect(request).toMatchObject({ resolution: '480p', size: '1:1' });
    expect(request.image_with_roles[0].url).toMatch(/\/uploads\/[0-9A-HJKMNP-TV-Z]{26}\.png\?/);

    // JSON, as curl users send it.
    const json = await idleRaw('/v1/videos', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'By URL', seconds: 6, input_reference: { image_url: 'https://example.com/cat.png' } }),
    });
    expect(json.status).toBe(200);
    const byUrl = await json.json();
    expect(byUrl).toMatchObject({ object: 'video', seconds: '6' });
    const stored = (await (await idleRaw(`/v1/tasks/${byUrl.id}?include=request`)).json()).data.request;
    expect(stored.image_with_roles).toEqual([{ url: 'https://example.com/cat.png', role: 'first_frame' }]);

    const fileId = await idleClient.videos.create({ prompt: 'x', input_reference: { file_id: 'file-abc' } }).catch((e: unknown) => e);
    expect(fileId).toMatchObject({ status: 400, param: 'input_reference' });
    const notImage = await idleClient.videos
      .create({ prompt: 'x', input_reference: await toFile(Buffer.from('hello'), 'notes.txt', { type: 'text/plain' }) })
      .catch((e: unknown) => e);
    expect(notImage).toMatchObject({ status: 400, param: 'input_reference' });
  });

  it("the key's in-flight limit holds: a 429 in OpenAI's shape with Retry-After", async () => {
    const res = await idleRaw('/v1/videos', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'one too many' }),
    });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('5');
    expect((await res.json()).error).toMatchObject({ type: 'requests', code: 'rate_limit_exceeded', param: null });
  });
});

describe('OpenAPI', () => {
  it('documents the routes', async () => {
    const doc = await (await fetch(`${base}/openapi.json`)).json();
    expect(doc.paths['/v1/videos']?.post?.requestBody?.content).toHaveProperty(['multipart/form-data']);
    expect(doc.paths['/v1/videos']?.get).toBeDefined();
    expect(doc.paths['/v1/videos/{video_id}']?.get).toBeDefined();
    expect(doc.paths['/v1/videos/{video_id}']?.delete).toBeDefined();
    expect(doc.paths['/v1/videos/{video_id}/content']?.get).toBeDefined();
    await writeFile(join(dir, 'openapi.json'), JSON.stringify(doc));
  });
});
