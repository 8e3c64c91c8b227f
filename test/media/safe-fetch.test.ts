import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AddressPolicy } from '../../src/net/address-policy.js';
import { MediaProblem } from '../../src/media/errors.js';
import { SafeFetcher, type DownloadOptions } from '../../src/media/safe-fetch.js';
import { TestServer } from './helpers.js';
import { PYTHON_PROTOCOLS, startPythonFileServer } from '../helpers/foreign/python-http.js';
import { startRawHttpServer, type Framing } from '../helpers/foreign/raw-http.js';

const MB = 1024 * 1024;

async function problemOf(promise: Promise<unknown>): Promise<MediaProblem> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof MediaProblem) return err;
    throw err;
  }
  throw new Error('expected the download to fail');
}

describe('SafeFetcher', () => {
  let server: TestServer;
  let dir: string;
  let counter = 0;
  const fetchers: SafeFetcher[] = [];
  const dest = () => join(dir, `download-${counter++}`);
  const opts = (extra: Partial<DownloadOptions> = {}): DownloadOptions => ({
    maxBytes: 30 * MB - 1,
    sizeRule: 'images must be smaller than 30 MB',
    signal: new AbortController().signal,
    ...extra,
  });
  const fetcher = (allow: string[] = [], timeouts: { connectTimeoutMs?: number; timeoutMs?: number } = {}) => {
    const f = new SafeFetcher({ policy: new AddressPolicy(allow), connectTimeoutMs: 5_000, timeoutMs: 20_000, ...timeouts });
    fetchers.push(f);
    return f;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vidgate-safe-fetch-'));
    server = await TestServer.start();
    server.file('/hello.txt', 'hello');
  });
  afterEach(async () => {
    await Promise.all(fetchers.splice(0).map((f) => f.close()));
  });
  afterAll(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  describe('refuses private and reserved addresses without connecting', () => {
    // Each names the port of the live test server, so a connection that slipped through would be counted there.
    const forms = [
      ['127.0.0.1', '127.0.0.1'],
      ['[::ffff:127.0.0.1]', '::ffff:7f00:1'],
      ['0.0.0.0', '0.0.0.0'],
      ['10.0.0.1', '10.0.0.1'],
      ['169.254.169.254', '169.254.169.254'],
      ['100.64.0.1', '100.64.0.1'],
      ['224.0.0.1', '224.0.0.1'],
      ['[::1]', '::1'],
      ['[fd00::1]', 'fd00::1'],
      ['2130706433', '127.0.0.1'], // the decimal form, which URL parsing turns into 127.0.0.1
    ] as const;

    it.each(forms)('http://%s', async (host, shown) => {
      const before = server.connections;
      const started = Date.now();
      const problem = await problemOf(fetcher().download(`http://${host}:${server.port}/hello.txt`, dest(), opts()));
      expect(problem.code).toBe('media_fetch_failed');
      expect(problem.detail).toBe(`resolves to a private or reserved address (${shown}), which is not allowed`);
      expect(server.connections).toBe(before);
      // Refused by the check, not by a connect timeout (10.0.0.1 and friends would hang for 5 s).
      expect(Date.now() - started).toBeLessThan(2_000);
    });

    it('a host name that resolves to loopback (localhost), checked at DNS time', async () => {
      const before = server.connections;
      const problem = await problemOf(fetcher().download(`http://localhost:${server.port}/hello.txt`, dest(), opts()));
      expect(problem.code).toBe('media_fetch_failed');
      expect(problem.detail).toMatch(/^resolves to a private or reserved address \((127\.0\.0\.1|::1)\), which is not allowed$/);
      expect(server.connections).toBe(before);
      expect(server.count('/hello.txt')).toBe(0);
    });
  });

  it('fetches from an allowed address and host name, hashing what it saved', async () => {
    const path = dest();
    const result = await fetcher(['127.0.0.1']).download(server.url('/hello.txt'), path, opts());
    expect(result).toMatchObject({ bytes: 5, finalUrl: server.url('/hello.txt') });
    expect(result.sha256).toBe('2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');
    expect(await readFile(path, 'utf8')).toBe('hello');
    const byName = await fetcher(['localhost']).download(`http://localhost:${server.port}/hello.txt`, dest(), opts());
    expect(byName.bytes).toBe(5);
  });

  it('refuses a redirect from an allowed host to a blocked address', async () => {
    // The fixture host is 127.0.0.2, allowed on its own; the servers on 127.0.0.1 are not.
    const fixture = await TestServer.start('127.0.0.2');
    try {
      fixture.redirect('/to-metadata', 'http://169.254.169.254/latest/meta-data/');
      fixture.redirect('/to-private', 'http://10.0.0.1/x.jpg');
      fixture.redirect('/to-loopback', `http://127.0.0.1:${server.port}/hello.txt`);
      fixture.redirect('/to-localhost', `http://localhost:${server.port}/hello.txt`);
      const f = fetcher(['127.0.0.2']);
      const from = (path: string) => `http://127.0.0.2:${fixture.port}${path}`;
      expect((await problemOf(f.download(from('/to-metadata'), dest(), opts()))).detail).toContain('(169.254.169.254)');
      expect((await problemOf(f.download(from('/to-private'), dest(), opts()))).detail).toBe(
        'resolves to a private or reserved address (10.0.0.1), which is not allowed',
      );
      const before = server.connections;
      expect((await problemOf(f.download(from('/to-loopback'), dest(), opts()))).detail).toContain('(127.0.0.1)');
      // A host name on a later hop is checked at DNS time like the first.
      expect((await problemOf(f.download(from('/to-localhost'), dest(), opts()))).detail).toContain('(127.0.0.1)');
      expect(server.connections).toBe(before);
      expect(fixture.requests).toEqual(['/to-metadata', '/to-private', '/to-loopback', '/to-localhost']);
    } finally {
      await fixture.close();
    }
  });

  it('follows up to 3 redirects (relative ones too) and refuses a 4th', async () => {
    server.file('/chain/end.txt', 'end');
    server.redirect('/chain/1', 'end.txt', 301);
    server.redirect('/chain/2', '/chain/1', 307);
    server.redirect('/chain/3', `${server.baseUrl}/chain/2`, 308);
    server.redirect('/chain/4', './3', 303);
    const f = fetcher(['127.0.0.1']);
    const ok = await f.download(server.url('/chain/3'), dest(), opts());
    expect(ok).toMatchObject({ bytes: 3, finalUrl: server.url('/chain/end.txt') });
    const before = server.count('/chain/end.txt');
    const problem = await problemOf(f.download(server.url('/chain/4'), dest(), opts()));
    expect(problem).toMatchObject({ code: 'media_fetch_failed', detail: 'more than 3 redirects' });
    expect(server.count('/chain/end.txt')).toBe(before);
  });

  it('refuses redirects to other schemes', async () => {
    server.redirect('/to-file', 'file:///etc/passwd');
    const problem = await problemOf(fetcher(['127.0.0.1']).download(server.url('/to-file'), dest(), opts()));
    expect(problem.detail).toBe('a redirect pointed to file: only http and https can be fetched');
  });

  it('reports a non-2xx answer with its status', async () => {
    const problem = await problemOf(fetcher(['127.0.0.1']).download(server.url('/missing.jpg'), dest(), opts()));
    expect(problem).toMatchObject({ code: 'media_fetch_failed', detail: 'the server answered HTTP 404 Not Found' });
  });

  it('stops an oversized body at the cap, whatever Content-Length claimed', async () => {
    let written = 0;
    let closed!: () => void;
    const connectionClosed = new Promise<void>((resolve) => (closed = resolve));
    // No Content-Length at all (chunked): only counting the bytes can stop it.
    server.route('/endless.jpg', (_req, res) => {
      res.writeHead(200, { 'content-type': 'image/jpeg' });
      const chunk = Buffer.alloc(256 * 1024, 0xff);
      const pump = () => {
        while (written < 200 * MB) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('close', closed);
      pump();
    });
    const path = dest();
    const problem = await problemOf(fetcher(['127.0.0.1']).download(server.url('/endless.jpg'), path, opts({ maxBytes: 2 * MB })));
    expect(problem).toMatchObject({ code: 'invalid_media', detail: `the file has more than ${2 * MB} bytes; images must be smaller than 30 MB` });
    await connectionClosed;
    expect(written).toBeLessThan(200 * MB);
    expect(existsSync(path)).toBe(false);
  });

  it('refuses a body longer than its small Content-Length says', async () => {
    const raw = await rawHttpServer((socket) => {
      socket.write('HTTP/1.1 200 OK\r\ncontent-type: image/jpeg\r\ncontent-length: 100\r\ntransfer-encoding: chunked\r\n\r\n');
      const chunk = Buffer.alloc(64 * 1024, 1);
      for (let i = 0; i < 64; i++) socket.write(`${chunk.length.toString(16)}\r\n`), socket.write(chunk), socket.write('\r\n');
      socket.end('0\r\n\r\n');
    });
    try {
      const path = dest();
      const problem = await problemOf(fetcher(['127.0.0.1']).download(`http://127.0.0.1:${raw.port}/lie.jpg`, path, opts({ maxBytes: 1 * MB })));
      // undici itself refuses a body that disagrees with its Content-Length; either way nothing is kept.
      expect(problem).toMatchObject({ code: 'media_fetch_failed', detail: 'the body did not match its Content-Length' });
      expect(existsSync(path)).toBe(false);
    } finally {
      await raw.close();
    }
  });

  it('refuses early when an honest Content-Length is over the cap', async () => {
    server.file('/big.bin', Buffer.alloc(3 * MB));
    const problem = await problemOf(fetcher(['127.0.0.1']).download(server.url('/big.bin'), dest(), opts({ maxBytes: 2 * MB })));
    expect(problem.detail).toBe(`the file has ${3 * MB} bytes; images must be smaller than 30 MB`);
  });

  it('gives up on a server that trickles bytes when the total timeout passes', async () => {
    const timers: NodeJS.Timeout[] = [];
    server.route('/trickle.jpg', (_req, res) => {
      res.writeHead(200, { 'content-type': 'image/jpeg' });
      const timer = setInterval(() => res.write(Buffer.from([0xff])), 20);
      timers.push(timer);
      res.on('close', () => clearInterval(timer));
    });
    const started = Date.now();
    const problem = await problemOf(fetcher(['127.0.0.1'], { timeoutMs: 400 }).download(server.url('/trickle.jpg'), dest(), opts()));
    timers.forEach(clearInterval);
    expect(problem).toMatchObject({ code: 'media_fetch_failed', detail: 'the download did not finish within 400 ms' });
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('stops promptly when the caller aborts, with the caller’s reason', async () => {
    let firstByte!: () => void;
    const sending = new Promise<void>((resolve) => (firstByte = resolve));
    let closed!: () => void;
    const connectionClosed = new Promise<void>((resolve) => (closed = resolve));
    server.route('/slow.jpg', (_req, res) => {
      res.writeHead(200, { 'content-type': 'image/jpeg' });
      res.write(Buffer.from([0xff]));
      firstByte();
      const timer = setInterval(() => res.write(Buffer.from([0xd8])), 20);
      res.on('close', () => {
        clearInterval(timer);
        closed();
      });
    });
    const controller = new AbortController();
    const download = fetcher(['127.0.0.1']).download(server.url('/slow.jpg'), dest(), opts({ signal: controller.signal }));
    await sending;
    const reason = new Error('task cancelled');
    controller.abort(reason);
    await expect(download).rejects.toBe(reason);
    await connectionClosed;
  });

  it('says so when the host name does not resolve', async () => {
    const problem = await problemOf(fetcher().download('http://no-such-host.invalid/x.jpg', dest(), opts()));
    expect(problem).toMatchObject({ code: 'media_fetch_failed', detail: 'the host name could not be resolved' });
  });
});

describe('SafeFetcher against peers we did not write', () => {
  // Far more than undici buffers, so the body is held back by backpressure while the peer has
  // already sent everything and closed (nodejs/undici#5360).
  const body = randomBytes(8 * MB);
  const sha256 = createHash('sha256').update(body).digest('hex');
  let served: string;
  let downloads: string;
  let fetcher: SafeFetcher;
  let counter = 0;
  const dest = () => join(downloads, `download-${counter++}`);
  const opts = (): DownloadOptions => ({ maxBytes: 30 * MB - 1, sizeRule: 'images must be smaller than 30 MB', signal: new AbortController().signal });

  beforeAll(async () => {
    [served, downloads] = await Promise.all([mkdtemp(join(tmpdir(), 'vidgate-served-')), mkdtemp(join(tmpdir(), 'vidgate-safe-fetch-foreign-'))]);
    await writeFile(join(served, 'big.bin'), body);
    fetcher = new SafeFetcher({ policy: new AddressPolicy(['127.0.0.1']), connectTimeoutMs: 5_000, timeoutMs: 20_000 });
  });
  afterAll(async () => {
    await fetcher?.close();
    await Promise.all([served, downloads].map((d) => d && rm(d, { recursive: true, force: true })));
  });

  it.each(PYTHON_PROTOCOLS)("Python's http.server in %s: a file arrives whole, a missing one is a 404", async (protocol) => {
    const python = await startPythonFileServer({ dir: served, protocol });
    try {
      const path = dest();
      expect(await fetcher.download(python.url('big.bin'), path, opts())).toEqual({ bytes: body.length, sha256, finalUrl: python.url('big.bin') });
      expect((await readFile(path)).equals(body)).toBe(true);
      // Once more on a connection HTTP/1.1 may have kept open, and once for a file that is not there.
      expect((await fetcher.download(python.url('big.bin'), dest(), opts())).sha256).toBe(sha256);
      const problem = await problemOf(fetcher.download(python.url('missing.jpg'), dest(), opts()));
      expect(problem).toMatchObject({ code: 'media_fetch_failed', detail: 'the server answered HTTP 404 Not Found' });
      // Python logs a request on stderr before answering it, but that pipe may be read after the socket.
      await python.waitForRequests('/missing.jpg');
      expect(python.requests.map((r) => `${r.path} ${r.status}`)).toEqual(['/big.bin 200', '/big.bin 200', '/missing.jpg 404']);
      expect(python.errors).toEqual([]);
    } finally {
      await python.close();
    }
  });

  it.each(['content-length', 'chunked', 'eof'] as Framing[])(
    'a raw socket server answering with %s framing, then FIN: the body arrives whole',
    async (framing) => {
      const raw = await startRawHttpServer({ framing, body });
      try {
        const path = dest();
        expect(await fetcher.download(`${raw.url}/big.bin`, path, opts())).toMatchObject({ bytes: body.length, sha256 });
        expect((await readFile(path)).equals(body)).toBe(true);
      } finally {
        await raw.close();
      }
    },
  );

  it.each([
    ['short-content-length', 'the body did not match its Content-Length'],
    ['truncated-chunked', 'the connection was closed before the file was complete'],
    ['reset', 'the connection was closed before the file was complete'],
  ] as Array<[Framing, string]>)('a raw socket server answering with %s framing: media_fetch_failed, "%s", nothing kept', async (framing, detail) => {
    const raw = await startRawHttpServer({ framing, body });
    try {
      const path = dest();
      expect(await problemOf(fetcher.download(`${raw.url}/big.bin`, path, opts()))).toMatchObject({ code: 'media_fetch_failed', detail });
      expect(existsSync(path)).toBe(false);
    } finally {
      await raw.close();
    }
  });
});

async function rawHttpServer(answer: (socket: import('node:net').Socket) => void): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<import('node:net').Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.once('data', () => answer(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as import('node:net').AddressInfo;
  return {
    port,
    close: async () => {
      sockets.forEach((s) => s.destroy());
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
