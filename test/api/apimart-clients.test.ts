import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probe } from '../helpers/ffprobe.js';
import { startTestApp, TEST_KEY, type TestApp } from '../helpers/test-app.js';

/**
 * APIMart clients of both generations, written here the way such clients are written (fetch, their
 * parsing rules), against a vidgate that listens on a real port: the seed-era client posts and reads
 * `data[0].task_id`; the current one sends X-APIMart-Response-Version, looks the model's input schema
 * up and validates its body first, reads `data.id`, treats only completed and failed as final, reads
 * `url` as a string or an array and names the download after the URL's last segment.
 */
const VERSION = '2026-07-27';
let t: TestApp;
let base: string;
let downloads: string;

beforeAll(async () => {
  t = await startTestApp();
  base = await t.app.server.listen({ host: '127.0.0.1', port: 0 });
  downloads = await mkdtemp(join(tmpdir(), 'vidgate-apimart-client-'));
});
afterAll(async () => {
  await t?.close();
  await rm(downloads, { recursive: true, force: true });
});

interface ClientTask {
  id: string;
  status: string;
  progress: number;
  cost: number;
  credits_cost?: number;
  result?: { videos: Array<{ url: string | string[] }>; last_frame_url?: string };
  error?: { message: string };
}

/** One client, as a generation of APIMart clients behaves. */
function apimartClient(opts: { baseUrl: string; apiKey: string; version: string | null }) {
  const headers = (extra: Record<string, string> = {}) => ({
    authorization: `Bearer ${opts.apiKey}`,
    ...(opts.version ? { 'x-apimart-response-version': opts.version } : {}),
    ...extra,
  });
  const json = async (res: Response) => {
    const body = (await res.json()) as Record<string, unknown>;
    if (!res.ok) throw new Error(`HTTP ${res.status}: ${JSON.stringify(body)}`);
    return body;
  };
  return {
    async schema(model: string): Promise<object> {
      const body = await json(
        await fetch(`${opts.baseUrl}/v1/model-schema?model=${encodeURIComponent(model)}&operation=video_generation`, { headers: headers() }),
      );
      return body.input_schema as object;
    },
    async submit(body: Record<string, unknown>, idempotencyKey?: string): Promise<{ id: string; replayed: boolean; headers: Headers }> {
      const res = await fetch(`${opts.baseUrl}/v1/videos/generations`, {
        method: 'POST',
        headers: headers({ 'content-type': 'application/json', ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}) }),
        body: JSON.stringify(body),
      });
      const answer = await json(res);
      const data = answer.data as Array<{ task_id: string }> | { id: string };
      const id = Array.isArray(data) ? data[0]!.task_id : data.id;
      return { id, replayed: res.headers.get('idempotency-replayed') === 'true', headers: res.headers };
    },
    async poll(id: string): Promise<ClientTask> {
      for (;;) {
        const task = (await json(await fetch(`${opts.baseUrl}/v1/tasks/${id}`, { headers: headers() }))).data as ClientTask;
        // The current client's rule: only these two are final (cancelled is vidgate's own, for its cancel route).
        if (task.status === 'completed' || task.status === 'failed' || (opts.version === null && task.status === 'cancelled')) return task;
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async download(task: ClientTask, dir: string): Promise<string> {
      const url = task.result!.videos[0]!.url;
      const href = Array.isArray(url) ? url[0]! : url;
      const file = join(dir, new URL(href).pathname.split('/').pop()!);
      const res = await fetch(href);
      if (!res.ok || !res.body) throw new Error(`download: HTTP ${res.status}`);
      await pipeline(Readable.fromWeb(res.body as never), createWriteStream(file));
      return file;
    },
  };
}

describe('an APIMart client of today: schema → submit → poll → download', () => {
  it('validates against the model schema, submits in 2026-07-27, and saves the video under its task name', async () => {
    const client = apimartClient({ baseUrl: base, apiKey: TEST_KEY, version: VERSION });
    const validate = new Ajv2020({ strict: false }).compile(await client.schema('seedance-2.0-fast'));
    const body = { prompt: 'A paper boat drifting down a rain gutter', resolution: '480p', duration: 4, size: '9:16', generate_audio: true };
    expect(validate(body), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ ...body, resolution: '1080p' })).toBe(false);

    const { id, replayed, headers } = await client.submit({ model: 'seedance-2.0-fast', ...body }, 'boat-1');
    expect(id).toMatch(/^task_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(replayed).toBe(false);
    expect(headers.get('x-apimart-response-version')).toBe(VERSION);
    const task = await client.poll(id);
    expect(task).toMatchObject({ id, status: 'completed', progress: 100 });
    expect(task.credits_cost).toBe(task.cost);
    const file = await client.download(task, downloads);
    expect(basename(file)).toBe(`${id}.mp4`);
    expect(await probe(file)).toMatchObject({ width: 480, height: 864, frames: 96, hasAudio: true });

    // The same submit again (a retry after a lost answer): the same task, and the client can tell.
    expect(await client.submit({ model: 'seedance-2.0-fast', ...body }, 'boat-1')).toMatchObject({ id, replayed: true });
  });
});

describe('an APIMart client of the seed era', () => {
  it('submits without a version, reads data[0].task_id, polls and downloads', async () => {
    const client = apimartClient({ baseUrl: base, apiKey: TEST_KEY, version: null });
    const { id, headers } = await client.submit({ model: 'doubao-seedance-2.0', prompt: 'A kitten yawning at the camera', resolution: '480p', duration: 4 });
    expect(headers.get('x-apimart-response-version')).toBeNull();
    const task = await client.poll(id);
    expect(task.status).toBe('completed');
    const file = await client.download(task, downloads);
    expect(basename(file)).toBe(`${id}.mp4`);
    expect(await probe(file)).toMatchObject({ width: 864, height: 480, frames: 96, hasAudio: false });
  });
});

describe('the response version rule', () => {
  const inject = (method: 'GET' | 'POST', url: string, headers: Record<string, string>, payload?: unknown) =>
    t.app.server.inject({
      method,
      url,
      headers: { ...(payload ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(payload ? { payload: JSON.stringify(payload) } : {}),
    });

  it('an unsupported version is a 400 naming the supported ones; without a key the 401 comes first', async () => {
    const res = await inject(
      'POST',
      '/v1/videos/generations',
      { ...t.auth, 'x-apimart-response-version': '2020-01-01' },
      { model: 'doubao-seedance-2.0', prompt: 'x' },
    );
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({
      error: {
        code: 400,
        type: 'invalid_request_error',
        param: 'X-APIMart-Response-Version',
        message: expect.stringMatching(/supported versions are 2026-07-27/),
      },
    });
    expect((await inject('GET', '/v1/tasks', { 'x-apimart-response-version': '2020-01-01' })).statusCode).toBe(401);
  });

  it('every answer to a versioned request echoes the version, errors included, in the one shape both versions share', async () => {
    const v = { ...t.auth, 'x-apimart-response-version': VERSION };
    const submitted = await inject('POST', '/v1/videos/generations', v, {
      model: 'doubao-seedance-2.0',
      prompt: 'A lighthouse',
      resolution: '480p',
      duration: 15,
    });
    const id = submitted.json().data.id as string;
    const answers = [
      await inject('GET', `/v1/tasks/${id}`, v),
      await inject('GET', '/v1/tasks?limit=1', v),
      await inject('POST', `/v1/tasks/${id}/cancel`, v),
      await inject('GET', '/v1/tasks/task_01KMCGF6BQGN3X28H3KSR50X5T', v),
      await inject('GET', '/v1/balance', v),
      await inject('GET', '/v1/models', { 'x-apimart-response-version': VERSION }),
    ];
    expect(answers.map((a) => a.statusCode)).toEqual([200, 200, 200, 404, 200, 401]);
    for (const a of answers) expect(a.headers['x-apimart-response-version']).toBe(VERSION);
    // Task, list and cancel read the same with or without the version.
    const plain = await inject('GET', `/v1/tasks/${id}`, t.auth);
    expect(plain.headers['x-apimart-response-version']).toBeUndefined();
    const again = await inject('GET', `/v1/tasks/${id}`, v);
    expect(again.json()).toEqual(plain.json());
    expect(answers[3]!.json().error).toMatchObject({ code: 404, type: 'not_found_error' });
  });

  it('Idempotency-Replayed is false on a first answer, true on a replay, absent without a key', async () => {
    const body = { model: 'doubao-seedance-2.0', prompt: 'A lantern', resolution: '480p', duration: 4 };
    const first = await inject('POST', '/v1/videos/generations', { ...t.auth, 'idempotency-key': 'lantern' }, body);
    const replay = await inject('POST', '/v1/videos/generations', { ...t.auth, 'idempotency-key': 'lantern', 'x-apimart-response-version': VERSION }, body);
    const none = await inject('POST', '/v1/videos/generations', t.auth, body);
    expect([first.headers['idempotency-replayed'], replay.headers['idempotency-replayed'], none.headers['idempotency-replayed']]).toEqual([
      'false',
      'true',
      undefined,
    ]);
    expect(replay.json().data.id).toBe(first.json().data[0].task_id);
  });
});

describe('credits_cost', () => {
  it('is the charge in the operator’s credit unit in the task, the list and the live events', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vidgate-credits-'));
    const config = join(dir, 'vidgate.yaml');
    await writeFile(config, 'credits_per_usd: 250\n');
    const c = await startTestApp({ VIDGATE_CONFIG: config }, { runDispatcher: false });
    try {
      const id = await c.submit({ model: 'doubao-seedance-2.0', prompt: 'A lantern', resolution: '720p', duration: 5 });
      const task = (await c.app.server.inject({ method: 'GET', url: `/v1/tasks/${id}`, headers: c.auth })).json().data;
      expect(task).toMatchObject({ cost: 0.71, credits_cost: 177.5 });
      const [listed] = (await c.app.server.inject({ method: 'GET', url: '/v1/tasks?limit=1', headers: c.auth })).json().data;
      expect(listed).toMatchObject({ id, credits_cost: 177.5 });
      await c.app.server.listen({ host: '127.0.0.1', port: 0 });
      const port = (c.app.server.server.address() as AddressInfo).port;
      const controller = new AbortController();
      const events = await fetch(`http://127.0.0.1:${port}/v1/tasks/${id}/events`, { headers: c.auth, signal: controller.signal });
      const reader = events.body!.getReader();
      let text = '';
      while (!text.includes('\n\n')) text += new TextDecoder().decode((await reader.read()).value);
      controller.abort();
      const data = JSON.parse(
        text
          .split('\n')
          .find((l) => l.startsWith('data: '))!
          .slice(6),
      ).data;
      expect(data).toMatchObject({ id, credits_cost: 177.5 });
    } finally {
      await c.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
