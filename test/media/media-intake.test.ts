import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AddressPolicy } from '../../src/net/address-policy.js';
import { MediaCache } from '../../src/media/media-cache.js';
import { MediaIntake } from '../../src/media/media-intake.js';
import { FfprobeProber, locateFfprobe } from '../../src/media/probe.js';
import { SafeFetcher } from '../../src/media/safe-fetch.js';
import { failureOf, input, MediaFiles, TestServer } from './helpers.js';
import { PYTHON_PROTOCOLS, startPythonFileServer, type PythonFileServer } from '../helpers/foreign/python-http.js';

const signal = () => new AbortController().signal;

describe('MediaIntake', () => {
  let files: MediaFiles;
  let server: TestServer;
  let cacheDir: string;
  let cache: MediaCache;
  let fetcher: SafeFetcher;
  let intake: MediaIntake;
  /** Python's http.server serving the same files (files.dir): peers we did not write, by protocol. */
  const python: PythonFileServer[] = [];

  beforeAll(async () => {
    files = await MediaFiles.create();
    server = await TestServer.start();
    const made = await Promise.all([
      files.image('ok.jpg', 1024, 576),
      files.image('square.png', 800, 800),
      files.image('tiny.png', 200, 200),
      files.image('wide.jpg', 1500, 500),
      files.video('ok.mp4', 864, 480, 3),
      files.video('hd.mp4', 1920, 1080, 2),
      files.video('long.mp4', 864, 480, 16),
      files.video('short.mp4', 864, 480, 1),
      files.video('slow.mp4', 864, 480, 3, 12),
      files.audio('ok.mp3', 4),
      files.audio('long.wav', 20),
    ]);
    for (const path of made) server.file(`/${path.split('/').pop()}`, await readFile(path), 'application/octet-stream');
    server.file('/photo.jpg', 'this is not a JPEG, just text', 'image/jpeg');
    server.file('/twice.jpg', await readFile(join(files.dir, 'ok.jpg')), 'image/jpeg');
    server.file('/together.jpg', await readFile(join(files.dir, 'ok.jpg')), 'image/jpeg');
    cacheDir = await mkdtemp(join(tmpdir(), 'vidgate-media-cache-'));
    cache = new MediaCache({ dir: cacheDir, maxBytes: 1024 * 1024 * 1024 });
    await cache.init();
    fetcher = new SafeFetcher({ policy: new AddressPolicy(['127.0.0.1']), connectTimeoutMs: 5_000, timeoutMs: 30_000 });
    intake = new MediaIntake({ cache, fetcher, prober: new FfprobeProber((await locateFfprobe()).path) });
    for (const protocol of PYTHON_PROTOCOLS) python.push(await startPythonFileServer({ dir: files.dir, protocol }));
  }, 180_000);

  afterAll(async () => {
    for (const p of python) await p.close();
    await fetcher?.close();
    await server?.close();
    await files?.remove();
    if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
  });

  const ORIGINS: Array<[string, () => string]> = [
    ['our Node test server', () => server.baseUrl],
    ...PYTHON_PROTOCOLS.map((protocol, i): [string, () => string] => [`Python's http.server in ${protocol}`, () => python[i]!.baseUrl]),
  ];

  it.each(ORIGINS)('fetches, sniffs and probes every input, answering in input order (files on %s)', async (_peer, origin) => {
    const prepared = await intake.prepare(
      [
        input('image', `${origin()}/ok.jpg`, 'image_urls[0]'),
        input('video', `${origin()}/ok.mp4`, 'video_urls[0]'),
        input('audio', `${origin()}/ok.mp3`, 'audio_urls[0]'),
      ],
      { signal: signal() },
    );
    expect(prepared.map((p) => p.input.field)).toEqual(['image_urls[0]', 'video_urls[0]', 'audio_urls[0]']);
    const [image, video, audio] = prepared;
    expect(image!.probe).toMatchObject({ format: 'jpeg', mime: 'image/jpeg', width: 1024, height: 576, hasVideo: false, hasAudio: false });
    expect(image!.probe.durationSec).toBeUndefined();
    expect(video!.probe).toMatchObject({ format: 'mp4', mime: 'video/mp4', width: 864, height: 480, fps: 24, hasVideo: true, hasAudio: false });
    expect(video!.probe.durationSec).toBeCloseTo(3, 1);
    expect(audio!.probe).toMatchObject({ format: 'mp3', mime: 'audio/mpeg', hasVideo: false, hasAudio: true });
    expect(audio!.probe.durationSec).toBeCloseTo(4, 0);
    for (const p of prepared) {
      expect(existsSync(p.path)).toBe(true);
      expect(dirname(p.path)).toBe(cacheDir);
      expect(p.path).toMatch(/\/[0-9a-f]{64}\.(jpg|mp4|mp3)$/);
    }
  });

  describe('media rules (README: Media)', () => {
    const cases = [
      {
        name: 'a 1080p reference video',
        input: () => input('video', server.url('/hd.mp4'), 'video_urls[0]'),
        field: 'video_urls[0]',
        detail: 'is 1920×1080 = 2 073 600 pixels per frame; reference videos must have 409 600–927 408 (480p–720p)',
      },
      {
        name: 'a reference video that is too long',
        input: () => input('video', server.url('/long.mp4'), 'video_urls[0]'),
        field: 'video_urls',
        detail: /^the total duration is 16(\.\d+)? s; reference videos must last more than 1\.8 s and less than 15\.2 s in total$/,
      },
      {
        name: 'a reference video that is too short',
        input: () => input('video', server.url('/short.mp4'), 'video_urls[0]'),
        field: 'video_urls',
        detail: /^the total duration is 1(\.\d+)? s; reference videos must last more than 1\.8 s and less than 15\.2 s in total$/,
      },
      {
        name: 'a reference video at 12 fps',
        input: () => input('video', server.url('/slow.mp4'), 'video_urls[0]'),
        field: 'video_urls[0]',
        detail: 'runs at 12 fps; reference videos must have 24–60 fps',
      },
      {
        name: 'an image of 200×200',
        input: () => input('image', server.url('/tiny.png'), 'image_urls[0]'),
        field: 'image_urls[0]',
        detail: 'is 200×200 px; each side of an image must be 300–6000 px',
      },
      {
        name: 'an image with an aspect of 3:1',
        input: () => input('image', server.url('/wide.jpg'), 'image_with_roles[0].url', 'first_frame'),
        field: 'image_with_roles[0].url',
        detail: 'has an aspect ratio of 3.00 (1500×500); images must have a width ÷ height of 0.4–2.5',
      },
      {
        name: 'more than 15 s of audio',
        input: () => input('audio', server.url('/long.wav'), 'audio_urls[0]'),
        field: 'audio_urls',
        detail: /^the total duration is 20(\.\d+)? s; reference audio may last at most 15 s in total$/,
      },
      {
        name: 'a .jpg that is text',
        input: () => input('image', server.url('/photo.jpg'), 'image_urls[0]'),
        field: 'image_urls[0]',
        detail: 'the file is not a recognised media format (text or unknown bytes); it must be an image (jpeg, png, webp, bmp, tiff or gif)',
      },
      {
        name: 'an image given as a video',
        input: () => input('video', server.url('/square.png'), 'video_urls[0]'),
        field: 'video_urls[0]',
        detail: 'the file is png (image/png); it must be a video (mp4 or mov)',
      },
    ];

    it.each(cases)('refuses $name', async ({ input: make, field, detail }) => {
      const failure = await failureOf(intake.prepare([make()], { signal: signal() }));
      expect(failure.code).toBe('invalid_media');
      expect(failure.params.field).toBe(field);
      if (typeof detail === 'string') expect(failure.params.detail).toBe(detail);
      else expect(failure.params.detail).toMatch(detail);
    });

    it('adds up durations over all reference videos', async () => {
      const ok = await intake.prepare([input('video', server.url('/ok.mp4'), 'video_urls[0]'), input('video', server.url('/ok.mp4'), 'video_urls[1]')], {
        signal: signal(),
      });
      expect(ok).toHaveLength(2);
      // 3 s and 16 s: 19 s in total, whichever one is "too long".
      const failure = await failureOf(
        intake.prepare([input('video', server.url('/ok.mp4'), 'video_urls[0]'), input('video', server.url('/long.mp4'), 'video_urls[1]')], {
          signal: signal(),
        }),
      );
      expect(failure).toMatchObject({ code: 'invalid_media', params: { field: 'video_urls' } });
      expect(String(failure.params.detail)).toMatch(/^the total duration is 19(\.\d+)? s/);
    });
  });

  it('refuses a private address with media_fetch_failed naming the field', async () => {
    const strict = new SafeFetcher({ policy: new AddressPolicy([]), connectTimeoutMs: 5_000, timeoutMs: 10_000 });
    try {
      const strictIntake = new MediaIntake({ cache, fetcher: strict, prober: new FfprobeProber((await locateFfprobe()).path) });
      const before = server.connections;
      const failure = await failureOf(
        strictIntake.prepare([input('image', 'http://10.0.0.1/cat.jpg', 'image_urls[2]'), input('image', server.url('/ok.jpg'), 'image_urls[3]')], {
          signal: signal(),
        }),
      );
      expect(failure).toEqual({
        code: 'media_fetch_failed',
        params: { field: 'image_urls[2]', detail: 'resolves to a private or reserved address (10.0.0.1), which is not allowed' },
      });
      expect(server.connections).toBe(before);
    } finally {
      await strict.close();
    }
  });

  it('reports an unreachable file as media_fetch_failed with the status', async () => {
    const failure = await failureOf(intake.prepare([input('audio', server.url('/gone.mp3'), 'audio_urls[1]')], { signal: signal() }));
    expect(failure).toEqual({ code: 'media_fetch_failed', params: { field: 'audio_urls[1]', detail: 'the server answered HTTP 404 Not Found' } });
  });

  it('refuses asset:// references until assets exist', async () => {
    const failure = await failureOf(
      intake.prepare([{ kind: 'image', role: 'reference_image', url: 'asset://asset_123', field: 'image_urls[0]', assetId: 'asset_123' }], {
        signal: signal(),
      }),
    );
    expect(failure).toEqual({ code: 'invalid_media', params: { field: 'image_urls[0]', detail: 'asset references are not available yet' } });
  });

  describe('cache', () => {
    it('fetches a URL named twice in one task once, and not again for the next task', async () => {
      const url = server.url('/twice.jpg');
      const first = await intake.prepare([input('image', url, 'image_urls[0]'), input('image', url, 'image_urls[1]')], { signal: signal() });
      expect(server.count('/twice.jpg')).toBe(1);
      expect(first[0]!.path).toBe(first[1]!.path);
      const second = await intake.prepare([input('image', url, 'image_urls[0]')], { signal: signal() });
      expect(server.count('/twice.jpg')).toBe(1);
      expect(second[0]!.path).toBe(first[0]!.path);
    });

    it('shares one download between tasks asking for the same URL at the same time', async () => {
      const url = server.url('/together.jpg');
      const [a, b] = await Promise.all([
        intake.prepare([input('image', url, 'image_urls[0]')], { signal: signal() }),
        intake.prepare([input('image', url, 'image_urls[0]')], { signal: signal() }),
      ]);
      expect(server.count('/together.jpg')).toBe(1);
      expect(a[0]!.path).toBe(b[0]!.path);
    });

    it('keeps a shared download going for one task when another one sharing it is cancelled', async () => {
      const jpeg = await readFile(join(files.dir, 'ok.jpg'));
      let requested!: () => void;
      const arrived = new Promise<void>((resolve) => (requested = resolve));
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      server.route('/held.jpg', (_req, res) => {
        res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': jpeg.length });
        res.write(jpeg.subarray(0, 100));
        requested();
        void released.then(() => res.end(jpeg.subarray(100)));
      });
      const cancelled = new AbortController();
      const url = server.url('/held.jpg');
      const a = intake.prepare([input('image', url, 'image_urls[0]')], { signal: cancelled.signal });
      const b = intake.prepare([input('image', url, 'image_urls[0]')], { signal: signal() });
      await arrived;
      const reason = new Error('task a cancelled');
      cancelled.abort(reason);
      await expect(a).rejects.toBe(reason);
      release();
      const [held] = await b;
      expect(held!.probe).toMatchObject({ format: 'jpeg', width: 1024, height: 576 });
      expect(server.count('/held.jpg')).toBe(1);
    });

    it('stores identical content once, whatever URL it came from', async () => {
      // /twice.jpg and /together.jpg are the bytes of /ok.jpg.
      const names = (await readdir(cacheDir)).filter((n) => n.endsWith('.jpg'));
      const [ok] = await intake.prepare([input('image', server.url('/ok.jpg'), 'image_urls[0]')], { signal: signal() });
      const [twice] = await intake.prepare([input('image', server.url('/twice.jpg'), 'image_urls[0]')], { signal: signal() });
      expect(twice!.path).toBe(ok!.path);
      expect((await readdir(cacheDir)).filter((n) => n.endsWith('.jpg'))).toEqual(names);
    });
  });

  it('stops downloading promptly when the task is cancelled', async () => {
    let started!: () => void;
    const sending = new Promise<void>((resolve) => (started = resolve));
    let closed!: () => void;
    const connectionClosed = new Promise<void>((resolve) => (closed = resolve));
    server.route('/never-ends.mp4', (_req, res) => {
      res.writeHead(200, { 'content-type': 'video/mp4' });
      res.write(Buffer.alloc(16));
      started();
      const timer = setInterval(() => res.write(Buffer.alloc(16)), 20);
      res.on('close', () => {
        clearInterval(timer);
        closed();
      });
    });
    const controller = new AbortController();
    const pending = intake.prepare([input('video', server.url('/never-ends.mp4'), 'video_urls[0]')], { signal: controller.signal });
    await sending;
    const reason = new Error('task cancelled');
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    await connectionClosed;
  });
});
