import { request as httpRequest } from 'node:http';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TEST_KEY } from '../helpers/test-app.js';
import { createClient, VidgateConnectionError, VidgateError } from '../../src/sdk/index.js';
import { closedPort, json, startVidgate, tinyServer, type RunningVidgate, type TinyServer } from './helpers.js';

const TASK = { id: 'task_01HZZZZZZZZZZZZZZZZZZZZZZZ', status: 'pending', progress: 0, created: 1, estimated_time: 5, cost: 0 };

describe('SDK retries', () => {
  let server: TinyServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });
  const client = (maxRetries = 3) => createClient({ baseURL: server!.url, apiKey: 'k', maxRetries });

  it('429 with Retry-After: waits that long, then succeeds', async () => {
    server = await tinyServer((_req, res) =>
      server!.requests.length === 1
        ? json(res, 429, { error: { code: 429, message: 'Too many requests', type: 'rate_limit_error' } }, { 'retry-after': '1' })
        : json(res, 200, { code: 200, data: TASK }),
    );
    const started = Date.now();
    const task = await client().tasks.get(TASK.id);
    expect(task.id).toBe(TASK.id);
    expect(server.requests).toHaveLength(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  it('503 then 200 on a GET', async () => {
    server = await tinyServer((_req, res) =>
      server!.requests.length === 1
        ? json(res, 503, { error: { code: 503, message: 'busy', type: 'server_error' } })
        : json(res, 200, { success: true, remain_balance: 1, used_balance: 0, unlimited_quota: false }),
    );
    expect((await client().balance()).remain_balance).toBe(1);
    expect(server.requests).toHaveLength(2);
  });

  it('a reset connection on a GET is retried', async () => {
    server = await tinyServer((_req, res, raw) => (server!.requests.length === 1 ? void raw.socket.destroy() : json(res, 200, { code: 200, data: TASK })));
    expect((await client().tasks.get(TASK.id)).id).toBe(TASK.id);
    expect(server.requests).toHaveLength(2);
  });

  it('gives up after maxRetries and throws the last error', async () => {
    server = await tinyServer((_req, res) =>
      json(res, 502, { error: { code: 502, message: 'bad gateway', type: 'server_error' } }, { 'x-request-id': 'req-1' }),
    );
    const err = await client(1)
      .tasks.get(TASK.id)
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 502, type: 'server_error', message: 'bad gateway', requestId: 'req-1' });
    expect(server.requests).toHaveLength(2);
  });

  it('cancel is not repeated after a 5xx (it is not idempotent), but is after a 429', async () => {
    server = await tinyServer((_req, res) => json(res, 500, { error: { code: 500, message: 'oops', type: 'server_error' } }));
    await expect(client().tasks.cancel(TASK.id)).rejects.toMatchObject({ status: 500 });
    expect(server.requests).toHaveLength(1);
    await server.close();

    server = await tinyServer((_req, res) =>
      server!.requests.length === 1
        ? json(res, 429, { error: { code: 429, message: 'slow down', type: 'rate_limit_error' } }, { 'retry-after': '0' })
        : json(res, 200, { code: 200, data: { ...TASK, status: 'cancelled' } }),
    );
    expect((await client().tasks.cancel(TASK.id)).status).toBe('cancelled');
    expect(server.requests).toHaveLength(2);
  });

  it('a Retry-After beyond a minute is answered with the error at once', async () => {
    server = await tinyServer((_req, res) => json(res, 429, { error: { code: 429, message: 'quota', type: 'rate_limit_error' } }, { 'retry-after': '3600' }));
    await expect(client().balance()).rejects.toMatchObject({ status: 429, type: 'rate_limit_error', retryAfter: 3600 });
    expect(server.requests).toHaveLength(1);
  });

  it('errors without the envelope still say what happened', async () => {
    server = await tinyServer((_req, res) => void res.writeHead(404, { 'content-type': 'text/html' }).end('<html><body>Not Found</body></html>'));
    await expect(client().balance()).rejects.toMatchObject({ status: 404, type: 'not_found_error', message: expect.stringContaining('Not Found') });
    await server.close();
    server = await tinyServer((_req, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":{"id":"tas'));
    await expect(client().tasks.get(TASK.id)).rejects.toMatchObject({ status: 200, type: 'invalid_response' });
  });

  it('an unreachable server is a VidgateConnectionError naming the cause', async () => {
    const port = await closedPort();
    const err = await createClient({ baseURL: `http://127.0.0.1:${port}`, apiKey: 'k', maxRetries: 1 })
      .balance()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VidgateConnectionError);
    expect(err).toMatchObject({ status: 0, type: 'connection_error', message: expect.stringContaining('ECONNREFUSED') });
  });

  it('a request that takes longer than timeout fails as a connection error', async () => {
    server = await tinyServer(() => undefined); // never answers
    const err = await createClient({ baseURL: server.url, apiKey: 'k', maxRetries: 0, timeout: 300 })
      .balance()
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ type: 'connection_error', message: expect.stringContaining('timed out') });
  });

  it('an interrupted download resumes with a Range request', async () => {
    const video = randomBytes(256 * 1024);
    const half = 100_000;
    let cut: (() => void) | undefined;
    server = await tinyServer((req, res, raw) => {
      if (req.url.startsWith('/v1/tasks/')) {
        return json(res, 200, {
          code: 200,
          data: { ...TASK, status: 'completed', result: { videos: [{ url: `${server!.url}/files/v.mp4`, expires_at: 2e9 }] } },
        });
      }
      const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      if (!range) {
        // Announce the whole file, send part of it; the connection is cut once the client has it.
        res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': String(video.length) });
        res.write(video.subarray(0, half));
        cut = () => raw.socket.destroy();
        return;
      }
      const start = Number(range[1]);
      res.writeHead(206, {
        'content-type': 'video/mp4',
        'content-range': `bytes ${start}-${video.length - 1}/${video.length}`,
        'content-length': String(video.length - start),
      });
      res.end(video.subarray(start));
    });
    const dir = await mkdtemp(join(tmpdir(), 'vidgate-sdk-'));
    try {
      const onProgress = (received: number) => {
        if (received >= half && cut) {
          cut();
          cut = undefined;
        }
      };
      const file = await client().tasks.download(TASK.id, join(dir, 'v.mp4'), { onProgress });
      expect(file).toMatchObject({ bytes: video.length, source: 'result_url', content_type: 'video/mp4' });
      expect((await readFile(file.path)).equals(video)).toBe(true);
      const files = server.requests.filter((r) => r.url === '/files/v.mp4');
      expect(files).toHaveLength(2);
      expect(files[1]!.headers.range).toBe(`bytes=${half}-`);
      // The signed result URL is fetched without the API key.
      expect(files.every((r) => r.headers.authorization === undefined)).toBe(true);
      expect(await readdir(dir)).toEqual(['v.mp4']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/**
 * A submit whose answer is lost is sent again with the same Idempotency-Key, and vidgate answers
 * with the task it already created: one task, whatever the retries.
 */
describe('SDK submit retried through a lossy proxy to vidgate', () => {
  let v: RunningVidgate;
  let proxy: TinyServer;
  let mode: 'drop-answer' | '503-after' = 'drop-answer';

  beforeAll(async () => {
    v = await startVidgate({}, { runDispatcher: false });
    const upstream = new URL(v.baseURL);
    proxy = await tinyServer(
      (req, res, raw) =>
        new Promise<void>((resolve, reject) => {
          const forwarded = httpRequest(
            { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } },
            (answer) => {
              const chunks: Buffer[] = [];
              answer.on('data', (c: Buffer) => chunks.push(c));
              answer.on('end', () => {
                const submits = proxy.requests.filter((r) => r.url === '/v1/videos/generations').length;
                const first = req.url === '/v1/videos/generations' && submits === 1;
                // The first submit reaches vidgate (the task exists), but its answer never arrives.
                if (first && mode === 'drop-answer') raw.socket.destroy();
                else if (first) json(res, 503, { error: { code: 503, message: 'proxy hiccup', type: 'server_error' } });
                else res.writeHead(answer.statusCode ?? 502, answer.headers).end(Buffer.concat(chunks));
                resolve();
              });
            },
          );
          forwarded.on('error', reject);
          forwarded.end(req.body);
        }),
    );
  });
  afterAll(async () => {
    await proxy?.close();
    await v?.close();
  });

  for (const m of ['drop-answer', '503-after'] as const) {
    it(`${m}: the retry carries the same Idempotency-Key and yields the one task`, async () => {
      mode = m;
      proxy.requests.length = 0;
      const before = (await v.client().tasks.list({ limit: 100 })).data.length;
      const client = createClient({ baseURL: proxy.url, apiKey: TEST_KEY });
      const { task_id } = await client.videos.generate({ model: 'doubao-seedance-2.0', prompt: `retried submit ${m}` });

      const submits = proxy.requests.filter((r) => r.url === '/v1/videos/generations');
      expect(submits).toHaveLength(2);
      const keys = submits.map((r) => r.headers['idempotency-key']);
      expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
      expect(keys[1]).toBe(keys[0]);

      const after = (await v.client().tasks.list({ limit: 100 })).data;
      expect(after).toHaveLength(before + 1);
      expect(after[0]!.id).toBe(task_id);
    });
  }

  it('each generate() call has its own key, so two calls are two tasks', async () => {
    mode = '503-after';
    proxy.requests.length = 0;
    const client = createClient({ baseURL: proxy.url, apiKey: TEST_KEY });
    const a = await client.videos.generate({ model: 'doubao-seedance-2.0', prompt: 'same body' });
    const b = await client.videos.generate({ model: 'doubao-seedance-2.0', prompt: 'same body' });
    expect(a.task_id).not.toBe(b.task_id);
    const keys = new Set(proxy.requests.map((r) => r.headers['idempotency-key']));
    expect(keys.size).toBe(2);
  });

  it('an explicit idempotencyKey reused with another body is a 409', async () => {
    const client = v.client();
    await client.videos.generate({ model: 'doubao-seedance-2.0', prompt: 'one' }, { idempotencyKey: 'fixed-key' });
    const err = await client.videos.generate({ model: 'doubao-seedance-2.0', prompt: 'two' }, { idempotencyKey: 'fixed-key' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VidgateError);
    expect(err).toMatchObject({ status: 409, type: 'conflict_error' });
  });
});

describe('SDK wait: polling schedule', () => {
  let server: TinyServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('polls start at pollInterval and grow ×1.5 up to maxPollInterval', async () => {
    const times: number[] = [];
    server = await tinyServer((_req, res) => {
      times.push(Date.now());
      const done = times.length === 10;
      json(res, 200, {
        code: 200,
        data: { ...TASK, status: done ? 'completed' : 'processing', progress: times.length * 10, estimated_time: 3600, created: Math.floor(Date.now() / 1000) },
      });
    });
    const client = createClient({ baseURL: server.url, apiKey: 'k' });
    const task = await client.tasks.wait(TASK.id, { pollInterval: 50, maxPollInterval: 100, stream: false });
    expect(task.status).toBe('completed');
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    // Growing: 50, 75, then capped at 100 …
    const expected = [50, 75, 100, 100, 100, 100, 100, 100, 100];
    gaps.forEach((gap, i) => expect(gap).toBeGreaterThanOrEqual(expected[i]! - 5));
    // … and really capped: uncapped growth would take 50 · (1.5⁹ − 1) / 0.5 ≈ 3.7 s in all.
    expect(times.at(-1)! - times[0]!).toBeLessThan(3200);
  });

  it('polls when estimated_time says the task ends, rather than after a longer interval', async () => {
    const times: number[] = [];
    let created = 0;
    let estimate = 3;
    server = await tinyServer((_req, res) => {
      times.push(Date.now());
      created ||= Date.now() / 1000;
      json(res, 200, { code: 200, data: { ...TASK, status: times.length === 2 ? 'completed' : 'processing', estimated_time: estimate, created } });
    });
    const client = createClient({ baseURL: server.url, apiKey: 'k' });
    await client.tasks.wait(TASK.id, { pollInterval: 100, maxPollInterval: 10_000, stream: false });
    // A 100 ms interval is shorter than the 3 s estimate: the hint does not delay polls …
    expect(times[1]! - times[0]!).toBeLessThan(1500);

    times.length = 0;
    created = 0;
    estimate = 1;
    await client.tasks.wait(TASK.id, { pollInterval: 5000, stream: false });
    // … and a 5 s interval is cut short to the estimated end, about 1 s after creation.
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(900);
    expect(times[1]! - times[0]!).toBeLessThan(4000);
  });
});
