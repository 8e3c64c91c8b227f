import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRawHttpServer, type Framing } from '../helpers/foreign/raw-http.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { failureOf, input, MediaFiles, TestServer } from './helpers.js';

/** The media intake as the app builds it from VIDGATE_* settings. */
describe('media configuration', () => {
  let files: MediaFiles;
  let server: TestServer;
  const apps: TestApp[] = [];
  const signal = () => new AbortController().signal;

  beforeAll(async () => {
    files = await MediaFiles.create();
    server = await TestServer.start();
    server.file('/cat.jpg', await readFile(await files.image('cat.jpg', 1024, 576)), 'image/jpeg');
    server.route('/trickle.jpg', (_req, res) => {
      res.writeHead(200, { 'content-type': 'image/jpeg' });
      const timer = setInterval(() => res.write(Buffer.from([0xff])), 20);
      res.on('close', () => clearInterval(timer));
    });
  });

  afterAll(async () => {
    await Promise.all(apps.map((a) => a.close()));
    await server?.close();
    await files?.remove();
  });

  const start = async (env: Record<string, string>) => {
    const t = await startTestApp(env, { runDispatcher: false });
    apps.push(t);
    return t;
  };

  it('refuses the loopback fixture by default, without connecting', async () => {
    const t = await start({});
    const before = server.connections;
    const failure = await failureOf(t.app.media.prepare([input('image', server.url('/cat.jpg'), 'image_urls[0]')], { signal: signal() }));
    expect(failure).toEqual({
      code: 'media_fetch_failed',
      params: { field: 'image_urls[0]', detail: 'resolves to a private or reserved address (127.0.0.1), which is not allowed' },
    });
    expect(server.connections).toBe(before);
  });

  it('fetches it once VIDGATE_MEDIA_ALLOW_HOSTS opens 127.0.0.1, and gives up on a trickle after VIDGATE_MEDIA_TIMEOUT_MS', async () => {
    const t = await start({ VIDGATE_MEDIA_ALLOW_HOSTS: '127.0.0.1', VIDGATE_MEDIA_TIMEOUT_MS: '300' });
    const [cat] = await t.app.media.prepare([input('image', server.url('/cat.jpg'), 'image_urls[0]')], { signal: signal() });
    expect(cat!.probe).toMatchObject({ format: 'jpeg', width: 1024, height: 576 });
    expect(cat!.path.startsWith(`${t.dataDir}/media/`)).toBe(true);

    const failure = await failureOf(t.app.media.prepare([input('image', server.url('/trickle.jpg'), 'image_urls[0]')], { signal: signal() }));
    expect(failure).toEqual({ code: 'media_fetch_failed', params: { field: 'image_urls[0]', detail: 'the download did not finish within 300 ms' } });
    // The service is still answering.
    expect((await t.app.server.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });
});

describe('tasks whose image comes from a raw socket server that writes the body and FIN at once', () => {
  let files: MediaFiles;
  let image: Buffer;
  let t: TestApp;

  beforeAll(async () => {
    files = await MediaFiles.create();
    // An uncompressed BMP (1.7 MB): more than undici buffers, so the body is under backpressure at FIN.
    image = await readFile(await files.image('frame.bmp', 1024, 576));
    t = await startTestApp({ VIDGATE_MEDIA_ALLOW_HOSTS: '127.0.0.1' });
  });
  afterAll(async () => {
    await t?.close();
    await files?.remove();
  });

  const run = async (framing: Framing) => {
    const raw = await startRawHttpServer({ framing, body: image, contentType: 'image/bmp' });
    try {
      const id = await t.submit({
        model: 'doubao-seedance-2.0',
        prompt: 'a framed picture',
        image_urls: [`${raw.url}/frame.bmp`],
        resolution: '480p',
        duration: 4,
      });
      const task = await t.settled(id);
      const ledger = (await t.app.store.listLedger(task.accountId, 1000)).filter((e) => e.taskId === id).map((e) => e.kind);
      return { task, ledger: ledger.sort(), requests: raw.requests };
    } finally {
      await raw.close();
    }
  };

  it.each(['content-length', 'chunked', 'eof'] as Framing[])('%s: the image is accepted and the task completes', async (framing) => {
    const { task, requests } = await run(framing);
    expect(task.status, JSON.stringify(task.error)).toBe('completed');
    expect(requests).toBe(1);
  });

  it.each([
    ['short-content-length', 'the body did not match its Content-Length'],
    ['truncated-chunked', 'the connection was closed before the file was complete'],
    ['reset', 'the connection was closed before the file was complete'],
  ] as Array<[Framing, string]>)('%s: the task fails with media_fetch_failed naming the field, refunded, the service alive', async (framing, detail) => {
    const { task, ledger } = await run(framing);
    expect(task).toMatchObject({ status: 'failed', error: { code: 'media_fetch_failed', params: { field: 'image_urls[0]', detail } } });
    expect(ledger).toEqual(['refund', 'reserve']);
    const view = (await t.app.server.inject({ method: 'GET', url: `/v1/tasks/${task.id}`, headers: t.auth })).json().data;
    expect(view).toMatchObject({ status: 'failed', cost: 0, error: { code: 'media_fetch_failed' } });
    expect(view.error.message).toContain(detail);
    expect((await t.app.server.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });
});
