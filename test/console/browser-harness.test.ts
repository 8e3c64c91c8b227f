import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probe, type ProbeResult } from '../helpers/ffprobe.js';
import { launchBrowser, openPage, screenshot, SCREENSHOT_DIR, waitForVideoPlaying } from '../helpers/browser.js';
import { buildConsole, CONSOLE_VITE_CONFIG, startConsoleServer, type ConsoleServer } from '../helpers/console-server.js';

/**
 * The harness the console's end-to-end tests stand on: Debian's Chromium plays what vidgate renders
 * (H.264 + AAC MP4), problems() reports what a broken page does and nothing a working one does, and
 * startConsoleServer() gives a real vidgate on a port.
 */

const PLAYER = '#player';

let browser: Browser;
let launchMs: number;
/** A vidgate serving a stand-in console (a plain index.html), with a real rendered result. */
let server: ConsoleServer;
let stubConsoleDir: string;
let resultUrl: string;
let mp4: Buffer;
let mp4Info: ProbeResult;
let media: MediaServer;

beforeAll(async () => {
  const started = performance.now();
  browser = await launchBrowser();
  launchMs = performance.now() - started;
  console.log(`Chromium ${browser.version()} launched in ${launchMs.toFixed(0)} ms`);

  stubConsoleDir = await mkdtemp(join(tmpdir(), 'vidgate-console-stub-'));
  await writeFile(join(stubConsoleDir, 'index.html'), STUB_CONSOLE);
  server = await startConsoleServer({ consoleDir: stubConsoleDir });

  // A real result: submitted over HTTP with the bootstrap key, rendered by the local renderer.
  const auth = { authorization: `Bearer ${server.apiKey}`, 'content-type': 'application/json' };
  const submitted = await fetch(`${server.url}/v1/videos/generations`, {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({
      model: 'doubao-seedance-2.0-fast',
      prompt: 'Paper boats drifting on a pond',
      resolution: '480p',
      duration: 4,
      generate_audio: true,
    }),
  });
  expect(submitted.status).toBe(200);
  const taskId: string = (await submitted.json()).data[0].task_id;
  expect((await server.testApp.settled(taskId)).status).toBe('completed');
  const task = await (await fetch(`${server.url}/v1/tasks/${taskId}`, { headers: auth })).json();
  resultUrl = task.data.result.videos[0].url[0];
  const download = await fetch(resultUrl);
  expect(download.status).toBe(200);
  mp4 = Buffer.from(await download.arrayBuffer());
  const file = join(stubConsoleDir, 'result.mp4');
  await writeFile(file, mp4);
  mp4Info = await probe(file);
  expect(mp4Info).toMatchObject({ videoCodec: 'h264', pixFmt: 'yuv420p', audioCodec: 'aac' });

  media = await startMediaServer(mp4);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await media?.close();
  if (stubConsoleDir) await rm(stubConsoleDir, { recursive: true, force: true });
});

describe("Debian's Chromium", () => {
  it('starts headless from PATH', () => {
    expect(browser.version()).toMatch(/^\d+\./);
    expect(launchMs).toBeLessThan(20_000);
  });

  it("has a CJK font for the console's Chinese UI (fonts-wqy-microhei), so it is not drawn as boxes", async () => {
    const { page, close } = await openPage(browser, { locale: 'zh-CN' });
    await page.goto(`${media.url}/blank.html`);
    // CJK glyphs are 1 em wide; the missing-glyph box of a Latin-only machine is about 0.6 em.
    const width = await page.evaluate(() => {
      const context = document.createElement('canvas').getContext('2d')!;
      context.font = '20px sans-serif';
      return context.measureText('视频生成').width;
    });
    expect(width, 'no CJK font: apt-get install fonts-wqy-microhei').toBeCloseTo(80, 0);
    await close();
  });

  it("plays vidgate's H.264 MP4 in a muted autoplay <video> from a server that answers ranges", async () => {
    const { page, problems, close } = await openPage(browser);
    await page.goto(`${media.url}/player.html`);
    const support = await page.evaluate(() => ({
      mp4: document.createElement('video').canPlayType('video/mp4; codecs="avc1.64001e, mp4a.40.2"'),
      mse: MediaSource.isTypeSupported('video/mp4; codecs="avc1.64001e, mp4a.40.2"'),
    }));
    expect(support).toEqual({ mp4: 'probably', mse: true });

    const state = await waitForVideoPlaying(page, PLAYER);
    expect(state).toMatchObject({ videoWidth: mp4Info.width, videoHeight: mp4Info.height, error: null, paused: false });
    expect(state.readyState).toBeGreaterThanOrEqual(3);
    expect(state.currentTime).toBeGreaterThan(0);
    expect(state.decodedFrames).toBeGreaterThan(0);
    expect(state.duration).toBeCloseTo(mp4Info.durationSec, 0);
    // The element asked for ranges, and got them.
    expect(media.requests.filter((r) => r.path === '/video.mp4').map((r) => [r.range?.startsWith('bytes=') ?? false, r.status])).toContainEqual([true, 206]);

    const png = await screenshot(page, 'harness-player');
    expect((await readFile(png)).subarray(1, 4).toString()).toBe('PNG');
    expect(png).toBe(join(SCREENSHOT_DIR, 'harness-player.png'));
    expect(problems()).toEqual([]);
    await close();
  });

  it("plays the result from vidgate's own signed URL, on the page vidgate serves at /", async () => {
    const { page, problems, close } = await openPage(browser, { colorScheme: 'dark', locale: 'de-DE', viewport: { width: 800, height: 600 } });
    const response = await page.goto(`${server.url}/`);
    expect(response?.status()).toBe(200);
    expect(await page.textContent('h1')).toBe('stand-in console');
    expect(await page.evaluate(() => [navigator.language, matchMedia('(prefers-color-scheme: dark)').matches, innerWidth])).toEqual(['de-DE', true, 800]);
    await page.evaluate(
      ([src, id]) => {
        const video = Object.assign(document.createElement('video'), { id, src, muted: true, autoplay: true, playsInline: true });
        document.body.append(video);
      },
      [resultUrl, PLAYER.slice(1)] as const,
    );
    const state = await waitForVideoPlaying(page, PLAYER);
    expect(state.src).toBe(resultUrl);
    expect(state.decodedFrames).toBeGreaterThan(0);
    expect(problems()).toEqual([]);
    await close();
  });

  it('does not count the requests a <video> cancels itself (net::ERR_ABORTED) as problems', async () => {
    const { page, problems, close } = await openPage(browser);
    const cancelled: string[] = [];
    page.on('requestfailed', (request) => cancelled.push(`${request.resourceType()} ${request.failure()?.errorText}`));
    // The file trickles in; switching the element to another source (as a page showing one result
    // after another does) makes Chromium drop the running request.
    await page.goto(`${media.url}/player.html?slow`);
    await page.waitForFunction((sel) => (document.querySelector(sel) as HTMLVideoElement).readyState >= HTMLMediaElement.HAVE_METADATA, PLAYER);
    await page.evaluate((sel) => {
      (document.querySelector(sel) as HTMLVideoElement).src = '/video.mp4?again';
    }, PLAYER);
    const state = await waitForVideoPlaying(page, PLAYER);
    expect(state.src).toBe(`${media.url}/video.mp4?again`);
    await expect.poll(() => cancelled).toContain('media net::ERR_ABORTED');
    expect(media.requests.find((r) => r.url === '/video.mp4?slow')).toMatchObject({ completed: false });
    expect(problems()).toEqual([]);
    await close();
  });
  it('waitForVideoPlaying() fails at once, with the media error, on a file Chromium cannot play', async () => {
    const { page, close } = await openPage(browser);
    await page.goto(`${media.url}/player.html?src=/not-a-video.mp4`);
    const started = performance.now();
    await expect(waitForVideoPlaying(page, PLAYER)).rejects.toThrow(/media error 4: .*"readyState":0/);
    expect(performance.now() - started).toBeLessThan(5_000);
    await close();
  });
});

describe('problems()', () => {
  it('reports console errors, uncaught exceptions, failed requests, 5xx and unexpected 4xx; not what is allowed or cancelled', async () => {
    const { page, problems, close } = await openPage(browser, {
      allow: [
        { url: '/status/400', status: 400 },
        { url: /\/status\/503$/, status: 503 },
      ],
    });
    await page.goto(`${media.url}/blank.html`);
    const base = media.url;
    const closedPort = await unusedPort();
    await page.evaluate(
      async ([closed]) => {
        await fetch('/status/400');
        await fetch('/status/503');
        // Allowed for its URL, but not for this status.
        await fetch('/status/400?then=500').catch(() => {});
        await fetch('/status/404');
        await fetch('/status/500');
        await fetch(`http://127.0.0.1:${closed}/`).catch(() => {});
        const controller = new AbortController();
        const aborted = fetch('/video.mp4?slow', { signal: controller.signal }).catch(() => {});
        controller.abort();
        await aborted;
        console.error('deliberate console error');
        setTimeout(() => {
          throw new Error('deliberate uncaught error');
        });
      },
      [closedPort] as const,
    );
    const expected = [
      expect.stringMatching(
        new RegExp(`^console\\.error: Failed to load resource: the server responded with a status of 500 .*\\(${base}/status/400\\?then=500\\)$`),
      ),
      `response 500: GET ${base}/status/400?then=500`,
      `console.error: Failed to load resource: the server responded with a status of 404 (Not Found) (${base}/status/404)`,
      `console.error: Failed to load resource: the server responded with a status of 500 (Internal Server Error) (${base}/status/500)`,
      `response 500: GET ${base}/status/500`,
      `requestfailed: GET http://127.0.0.1:${closedPort}/ (fetch): net::ERR_CONNECTION_REFUSED`,
      expect.stringMatching(/^console\.error: Failed to load resource: net::ERR_CONNECTION_REFUSED/),
      expect.stringMatching(/^console\.error: deliberate console error/),
      expect.stringMatching(/^pageerror: Error: deliberate uncaught error/),
    ];
    // Events arrive asynchronously; the uncaught error comes last.
    await expect.poll(() => problems().some((p) => p.startsWith('pageerror:'))).toBe(true);
    expect(problems()).toEqual(expect.arrayContaining(expected));
    expect(problems()).toHaveLength(expected.length);
    await close();
  });

  it("reports a 5xx document, e.g. vidgate's 503 when the console is not built", async () => {
    const empty = await mkdtemp(join(tmpdir(), 'vidgate-console-empty-'));
    const unbuilt = await startConsoleServer({ consoleDir: empty, runDispatcher: false });
    try {
      const { page, problems, close } = await openPage(browser);
      await page.goto(`${unbuilt.url}/`);
      expect(problems()).toContain(`response 503: GET ${unbuilt.url}/`);
      await close();
    } finally {
      await unbuilt.close();
      await rm(empty, { recursive: true, force: true });
    }
  });
});

describe('startConsoleServer()', () => {
  it('listens on 127.0.0.1 with the known API key and admin token', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await fetch(`${server.url}/v1/balance`, { headers: { authorization: `Bearer ${server.apiKey}` } })).status).toBe(200);
    expect((await fetch(`${server.url}/admin/v1/accounts`, { headers: { authorization: `Bearer ${server.adminToken}` } })).status).toBe(200);
    expect((await fetch(`${server.url}/admin/v1/accounts`, { headers: { authorization: `Bearer ${server.apiKey}` } })).status).toBe(401);
    const page = await fetch(`${server.url}/`);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toBe(STUB_CONSOLE);
  });

  it.skipIf(!existsSync(CONSOLE_VITE_CONFIG))('serves the Vite build of console/, built once per process', { timeout: 120_000 }, async () => {
    const started = performance.now();
    const dir = await buildConsole();
    console.log(`console built in ${(performance.now() - started).toFixed(0)} ms into ${dir}`);
    expect(existsSync(join(dir, 'index.html'))).toBe(true);
    const again = performance.now();
    expect(await buildConsole()).toBe(dir);
    expect(performance.now() - again).toBeLessThan(50);
    const built = await startConsoleServer({ runDispatcher: false });
    try {
      const res = await fetch(`${built.url}/`);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe(await readFile(join(dir, 'index.html'), 'utf8'));
    } finally {
      await built.close();
    }
  });
});

const STUB_CONSOLE = '<!doctype html><html lang="en"><meta charset="utf-8"><link rel="icon" href="data:,"><title>stub</title><h1>stand-in console</h1></html>';

interface MediaServer {
  url: string;
  /** Every request as it came in, with the status it was answered and whether all of the body went out. */
  requests: Array<{ url: string; path: string; range: string | undefined; readonly status: number; completed: boolean }>;
  close(): Promise<void>;
}

/**
 * node:http serving the MP4 with single-range support (`?slow` trickles it at 128 KB/s), a player
 * page (`?src=` another source), a blank page, a file that is no video and /status/<code>.
 */
async function startMediaServer(video: Buffer): Promise<MediaServer> {
  const requests: MediaServer['requests'] = [];
  const html = (body: string) => `<!doctype html><html lang="en"><meta charset="utf-8"><link rel="icon" href="data:,"><title>t</title>${body}</html>`;
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const slow = url.searchParams.has('slow');
    const done = (status: number, type: string, body: string | Buffer = '') => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) }).end(body);
    };
    if (url.pathname === '/player.html') {
      const src = url.searchParams.get('src') ?? `/video.mp4${slow ? '?slow' : ''}`;
      return done(200, 'text/html', html(`<video id="player" src="${src}" muted autoplay playsinline></video>`));
    }
    if (url.pathname === '/not-a-video.mp4') return done(200, 'video/mp4', Buffer.alloc(64 * 1024, 'not a video '));
    if (url.pathname === '/blank.html') return done(200, 'text/html', html('<p>blank</p>'));
    const status = /^\/status\/(\d{3})$/.exec(url.pathname);
    if (status) return done(Number(url.searchParams.get('then') ?? status[1]), 'text/plain', 'deliberate');
    if (url.pathname !== '/video.mp4') return done(404, 'text/plain', 'not found');

    const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
    let start = 0;
    let end = video.length - 1;
    if (range && (range[1] || range[2])) {
      if (range[1]) {
        start = Number(range[1]);
        if (range[2]) end = Math.min(Number(range[2]), end);
      } else {
        start = Math.max(0, video.length - Number(range[2]));
      }
      if (start > end) {
        res.writeHead(416, { 'content-range': `bytes */${video.length}` }).end();
        return;
      }
    }
    res.writeHead(range ? 206 : 200, {
      'content-type': 'video/mp4',
      'accept-ranges': 'bytes',
      'content-length': end - start + 1,
      ...(range ? { 'content-range': `bytes ${start}-${end}/${video.length}` } : {}),
    });
    const body = video.subarray(start, end + 1);
    if (!slow) return res.end(body);
    let sent = 0;
    const timer = setInterval(() => {
      const chunk = body.subarray(sent, sent + 8 * 1024);
      sent += chunk.length;
      if (sent >= body.length) {
        clearInterval(timer);
        res.end(chunk);
      } else {
        res.write(chunk);
      }
    }, 62);
    res.on('close', () => clearInterval(timer));
  };
  const http: Server = createServer((req, res) => {
    const entry = {
      url: req.url ?? '/',
      path: new URL(req.url ?? '/', 'http://localhost').pathname,
      range: req.headers.range,
      get status() {
        return res.statusCode;
      },
      completed: false,
    };
    requests.push(entry);
    res.on('finish', () => (entry.completed = true));
    handle(req, res);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}

/** A port nothing listens on (just released by a server of ours). */
async function unusedPort(): Promise<number> {
  const probeServer = createServer();
  await new Promise<void>((resolve) => probeServer.listen(0, '127.0.0.1', resolve));
  const { port } = probeServer.address() as AddressInfo;
  await new Promise<void>((resolve) => probeServer.close(() => resolve()));
  return port;
}
