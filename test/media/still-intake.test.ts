import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failureMessage } from '../../src/contract/failures.js';
import { AddressPolicy } from '../../src/net/address-policy.js';
import { MediaCache } from '../../src/media/media-cache.js';
import { MediaIntake } from '../../src/media/media-intake.js';
import { FfprobeProber, locateFfprobe, type MediaProber } from '../../src/media/probe.js';
import { SafeFetcher } from '../../src/media/safe-fetch.js';
import { locateFfmpeg } from '../../src/render/ffmpeg.js';
import { blackRows, craftedPng, writeLargestDeepPng } from './crafted-png.js';
import { ffprobeBinary } from '../helpers/media-tools.js';
import { failureOf, input, MediaFiles, TestServer } from './helpers.js';

/**
 * Images a task names are checked header first: a picture too large by its header is refused
 * before ffprobe or ffmpeg decode anything, a picture that does not decode is refused as damaged,
 * and a legal but costly one (6000×6000 at 16 bits) gets, for callers that render it (the local
 * provider), an 8-bit copy no larger than 4K, made once and read by renders instead. Videos must
 * decode their first frame.
 */

const run = promisify(execFile);
const signal = () => new AbortController().signal;

/** ffprobe, counting what it is asked to look at. */
class CountingProber implements MediaProber {
  readonly seen: string[] = [];
  constructor(private readonly real: FfprobeProber) {}
  probe(file: string, opts?: { signal?: AbortSignal }) {
    this.seen.push(`probe ${file}`);
    return this.real.probe(file, opts);
  }
  firstPicture(file: string, opts?: { signal?: AbortSignal }) {
    this.seen.push(`firstPicture ${file}`);
    return this.real.firstPicture(file, opts);
  }
}

async function ffprobeStream(file: string): Promise<{ width: number; height: number; pix_fmt: string }> {
  const { stdout } = await run((await ffprobeBinary()).path, ['-v', 'error', '-show_entries', 'stream=width,height,pix_fmt', '-of', 'json', file]);
  return (JSON.parse(stdout) as { streams: Array<{ width: number; height: number; pix_fmt: string }> }).streams[0]!;
}

describe('MediaIntake: images header first, decoded, normalised', () => {
  let files: MediaFiles;
  let server: TestServer;
  let cacheDir: string;
  let fetcher: SafeFetcher;
  let prober: CountingProber;
  let intake: MediaIntake;

  beforeAll(async () => {
    files = await MediaFiles.create();
    server = await TestServer.start();
    prober = new CountingProber(new FfprobeProber((await locateFfprobe()).path));
    const photo = await readFile(await files.image('photo.png', 800, 600));
    const deep = join(files.dir, 'deep.png');
    await writeLargestDeepPng(deep);
    server.file('/photo.png', photo);
    server.file('/photo.jpg', await readFile(await files.image('photo.jpg', 1024, 576)));
    server.file('/cut.png', photo.subarray(0, Math.floor(photo.length / 2)));
    server.file('/bomb.png', craftedPng({ width: 16000, height: 16000, bitDepth: 16, idat: blackRows(16000, 2, 16) }));
    server.file('/deep.png', await readFile(deep));
    server.file('/video.mp4', await readFile(await files.video('video.mp4', 864, 480, 3)));
    server.file('/garbage.mp4', await garbageFrames(await readFile(join(files.dir, 'video.mp4'))));
    cacheDir = await mkdtemp(join(tmpdir(), 'vidgate-still-cache-'));
    const cache = new MediaCache({ dir: cacheDir, maxBytes: 1024 * 1024 * 1024 });
    await cache.init();
    fetcher = new SafeFetcher({ policy: new AddressPolicy(['127.0.0.1']), connectTimeoutMs: 5_000, timeoutMs: 30_000 });
    intake = new MediaIntake({ cache, fetcher, prober, ffmpeg: await locateFfmpeg() });
  }, 120_000);

  afterAll(async () => {
    await fetcher?.close();
    await server?.close();
    await files?.remove();
    if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
  });

  it('refuses a picture too large by its header before any decoder sees it', async () => {
    const before = prober.seen.length;
    const failure = await failureOf(intake.prepare([input('image', server.url('/bomb.png'), 'image_urls[0]')], { signal: signal() }));
    expect(failure).toEqual({
      code: 'invalid_media',
      params: { field: 'image_urls[0]', detail: 'is 16000×16000 px; each side of an image must be 300–6000 px' },
    });
    expect(prober.seen.slice(before)).toEqual([]);
  });

  it('refuses a picture that does not decode, in words without paths or tool output', async () => {
    const failure = await failureOf(intake.prepare([input('image', server.url('/cut.png'), 'image_urls[0]')], { signal: signal() }));
    expect(failure.code).toBe('invalid_media');
    expect(failureMessage(failure)).toBe('image_urls[0] does not meet the media rules: the file is damaged or truncated: its picture could not be decoded');
  });

  it('refuses a video whose container probes fine but whose frames do not decode', async () => {
    const failure = await failureOf(intake.prepare([input('video', server.url('/garbage.mp4'), 'video_urls[0]')], { signal: signal() }));
    expect(failureMessage(failure)).toBe('video_urls[0] does not meet the media rules: the file is damaged: its first video frame could not be decoded');
    const [video] = await intake.prepare([input('video', server.url('/video.mp4'), 'video_urls[0]')], { signal: signal() });
    expect(video!.probe).toMatchObject({ width: 864, height: 480, hasVideo: true });
  });

  it('gives renders an 8-bit copy no larger than 4K of a 6000×6000 16-bit image, made once', async () => {
    const deepInput = input('image', server.url('/deep.png'), 'image_urls[0]', 'first_frame');
    const [forUpstream] = await intake.prepare([deepInput], { signal: signal() });
    expect(forUpstream!.stillPath).toBeUndefined();

    const [deep] = await intake.prepare([deepInput], { signal: signal(), renderCopies: true });
    expect(deep!.probe).toMatchObject({ format: 'png', width: 6000, height: 6000 });
    expect(deep!.stillPath).toMatch(new RegExp(`^${cacheDir}/[0-9a-f]{64}\\.png$`));
    expect(await ffprobeStream(deep!.stillPath!)).toEqual({ width: 3840, height: 3840, pix_fmt: 'rgb24' });
    const madeAt = (await stat(deep!.stillPath!)).mtimeMs;

    const seen = prober.seen.length;
    const [again] = await intake.prepare([deepInput], { signal: signal(), renderCopies: true });
    expect(again!.stillPath).toBe(deep!.stillPath);
    expect((await stat(again!.stillPath!)).mtimeMs).toBe(madeAt);
    expect(prober.seen.slice(seen)).toEqual([]);
  }, 30_000);

  it('leaves ordinary 8-bit images as they are', async () => {
    const prepared = await intake.prepare(
      [input('image', server.url('/photo.png'), 'image_urls[0]'), input('image', server.url('/photo.jpg'), 'image_urls[1]')],
      { signal: signal(), renderCopies: true },
    );
    expect(prepared.map((p) => p.stillPath)).toEqual([undefined, undefined]);
    expect(prepared.map((p) => [p.probe.width, p.probe.height])).toEqual([
      [800, 600],
      [1024, 576],
    ]);
  });
});

/** The MP4 with every byte of its media data replaced by noise: the moov box (and so ffprobe's answer) is unchanged. */
async function garbageFrames(mp4: Buffer): Promise<Buffer> {
  const out = Buffer.from(mp4);
  let at = 0;
  while (at + 8 <= out.length) {
    const size = out.readUInt32BE(at);
    if (out.toString('latin1', at + 4, at + 8) === 'mdat') {
      let noise = 12345;
      for (let i = at + 8; i < Math.min(out.length, at + size); i++) {
        noise = (noise * 1103515245 + 12345) >>> 0;
        out[i] = noise >>> 24;
      }
      return out;
    }
    if (size < 8) break;
    at += size;
  }
  throw new Error('no mdat box in the test video');
}
