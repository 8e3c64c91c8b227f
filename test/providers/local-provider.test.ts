import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkSubmitRules, SubmitBody } from '../../src/contract/submit.js';
import { LocalProvider } from '../../src/providers/local/local-provider.js';
import type { FfmpegBinary } from '../../src/render/ffmpeg.js';
import type { MediaIntake } from '../../src/media/media-intake.js';
import { probe, type ProbeResult } from '../helpers/ffprobe.js';
import { startFixtureServer, type FixtureServer } from '../helpers/fixture-server.js';
import { ffmpegBinary } from '../helpers/media-tools.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { TestServer } from '../media/helpers.js';
import { cover, ssimOfFrame } from '../render/modes-helpers.js';
import { seedCase as seedCaseAt } from '../helpers/seed-cases.js';

/**
 * The local provider end to end through the HTTP API: the seed's use cases that carry media (bodies as
 * the seed writes them, media on the fixture server) complete with their inputs visibly used and every
 * output rule of README: Output; media that break a rule fail the task with invalid_media.
 */

const run = promisify(execFile);

/** README: Money, 720p, USD per second; reference-video tasks pay for input + output seconds. */
const PRICE_720 = 0.142;
const PRICE_720_WITH_VIDEO = 0.08584;
/** Every fixture video lasts 3 s. */
const FIXTURE_VIDEO_SECONDS = 3;

let t: TestApp;
let fx: FixtureServer;
let bad: TestServer;
let downloads: string;

beforeAll(async () => {
  [fx, bad, downloads] = await Promise.all([startFixtureServer(), TestServer.start(), mkdtemp(path.join(os.tmpdir(), 'vidgate-local-e2e-'))]);
  const make = async (name: string, args: string[]) => {
    const out = path.join(downloads, name);
    await run((await ffmpegBinary()).path, ['-hide_banner', '-loglevel', 'error', '-y', ...args, out]);
    return out;
  };
  bad.file('/small.png', await readFile(await make('small.png', ['-f', 'lavfi', '-i', 'color=c=red:s=200x200', '-frames:v', '1'])), 'image/png');
  bad.file('/not-a-video.mp4', await readFile(path.join(fx.dir, 'cat.jpg')), 'video/mp4');
  t = await startTestApp({ VIDGATE_MEDIA_ALLOW_HOSTS: '127.0.0.1' });
}, 120_000);

afterAll(async () => {
  await t?.close();
  await Promise.all([fx?.close(), bad?.close(), downloads && rm(downloads, { recursive: true, force: true })]);
});

/** The seed's body with its example.com media pointed at the fixture server. */
function seedCase(n: number): Record<string, unknown> {
  return seedCaseAt(n, fx.baseUrl);
}

interface Finished {
  task: { status: string; cost: number; error?: { code: string; message: string }; result?: { last_frame_url?: string } };
  video: string | null;
  lastFrame: string | null;
}

const finished = new Map<string, Promise<Finished>>();

/** Submits once per name, waits for the task to settle, downloads its files. */
function outcome(name: string, body: Record<string, unknown>): Promise<Finished> {
  let promise = finished.get(name);
  if (!promise) {
    promise = (async () => {
      const id = await t.submit(body);
      await t.settled(id);
      const view = await t.app.server.inject({ method: 'GET', url: `/v1/tasks/${id}`, headers: t.auth });
      const task = view.json().data as Finished['task'];
      const download = async (variant: string, ext: string) => {
        const res = await t.app.server.inject({ method: 'GET', url: `/v1/tasks/${id}/content?variant=${variant}`, headers: t.auth });
        if (res.statusCode !== 200) return null;
        const file = path.join(downloads, `${name}-${variant}.${ext}`);
        await writeFile(file, res.rawPayload);
        return file;
      };
      if (task.status !== 'completed') return { task, video: null, lastFrame: null };
      return { task, video: await download('video', 'mp4'), lastFrame: task.result?.last_frame_url ? await download('last_frame', 'png') : null };
    })();
    finished.set(name, promise);
  }
  return promise;
}

const fixture = (name: string) => path.join(fx.dir, name);
const usd = (n: number) => Math.round(n * 1e6) / 1e6;
const RENDER_TIMEOUT = { timeout: 120_000 };

async function completed(name: string, body: Record<string, unknown>): Promise<{ info: ProbeResult; video: string; done: Finished }> {
  const done = await outcome(name, body);
  expect(done.task.status, JSON.stringify(done.task.error)).toBe('completed');
  return { info: await probe(done.video!), video: done.video!, done };
}

describe('seed use cases with media on the local provider', () => {
  beforeAll(() => {
    // Submit everything at once; each test then waits for its own task.
    for (const n of [2, 3, 4, 5, 7, 9]) void outcome(`case${n}`, seedCase(n)).catch(() => undefined);
  });

  it('case 2, image-to-video: frame 0 is the image', RENDER_TIMEOUT, async () => {
    const { info, video, done } = await completed('case2', seedCase(2));
    expect(info).toMatchObject({ width: 1248, height: 704, fps: 24, frames: 120, videoCodec: 'h264', pixFmt: 'yuv420p', hasAudio: false });
    expect(await ssimOfFrame(video, 0, fixture('cat.jpg'), cover(1248, 704))).toBeGreaterThanOrEqual(0.9);
    expect(done.task.cost).toBe(usd(PRICE_720 * 5));
  });

  it('case 3, first + last frame: starts on day, ends on night', RENDER_TIMEOUT, async () => {
    const { info, video } = await completed('case3', seedCase(3));
    expect(info).toMatchObject({ width: 1248, height: 704, fps: 24, frames: 120, hasAudio: false });
    expect(await ssimOfFrame(video, 0, fixture('day.jpg'), cover(1248, 704))).toBeGreaterThanOrEqual(0.9);
    expect(await ssimOfFrame(video, 119, fixture('night.jpg'), cover(1248, 704))).toBeGreaterThanOrEqual(0.9);
  });

  it('case 4, reference video in anime style: 5 s, billed on input + output seconds', RENDER_TIMEOUT, async () => {
    const { info, done } = await completed('case4', seedCase(4));
    expect(info).toMatchObject({ width: 1248, height: 704, fps: 24, frames: 120, pixFmt: 'yuv420p', hasAudio: false });
    expect(done.task.cost).toBeCloseTo(PRICE_720_WITH_VIDEO * (FIXTURE_VIDEO_SECONDS + 5), 3);
  });

  it('case 5, reference video and audio: 11 s with the reference audio as the soundtrack', RENDER_TIMEOUT, async () => {
    const { info, done } = await completed('case5', seedCase(5));
    expect(info).toMatchObject({ width: 1248, height: 704, fps: 24, frames: 264, hasAudio: true, audioCodec: 'aac', audioChannels: 2, audioSampleRate: 48000 });
    expect(info.audioDurationSec).toBeCloseTo(11, 2);
    expect(done.task.cost).toBeCloseTo(PRICE_720_WITH_VIDEO * (FIXTURE_VIDEO_SECONDS + 11), 3);
  });

  it('case 7, continuing from a last frame: frame 0 is the image and the last frame comes back as a PNG', RENDER_TIMEOUT, async () => {
    const { info, video, done } = await completed('case7', seedCase(7));
    expect(info).toMatchObject({ width: 1248, height: 704, fps: 24, frames: 120, hasAudio: false });
    expect(await ssimOfFrame(video, 0, fixture('last_frame_from_prev.png'), cover(1248, 704))).toBeGreaterThanOrEqual(0.9);
    expect(done.lastFrame).not.toBeNull();
    expect(await probe(done.lastFrame!)).toMatchObject({ width: 1248, height: 704, videoCodec: 'png' });
    expect(await ssimOfFrame(video, 119, done.lastFrame!, 'null')).toBeGreaterThan(0.99);
  });

  it('case 9, images + video + audio with generated audio: 11 s, audio track', RENDER_TIMEOUT, async () => {
    const { info, done } = await completed('case9', seedCase(9));
    expect(info).toMatchObject({ width: 1248, height: 704, fps: 24, frames: 264, hasAudio: true, audioCodec: 'aac', audioChannels: 2 });
    expect(info.audioDurationSec).toBeCloseTo(11, 2);
    expect(done.task.cost).toBeCloseTo(PRICE_720_WITH_VIDEO * (FIXTURE_VIDEO_SECONDS + 11), 3);
  });
});

describe('adaptive size and broken media', () => {
  it('size adaptive follows a portrait image to 9:16', RENDER_TIMEOUT, async () => {
    const { info } = await completed('adaptive', {
      model: 'doubao-seedance-2.0',
      prompt: 'The dancer spins',
      image_urls: [`${fx.baseUrl}/dance_reference.jpg`],
      size: 'adaptive',
      duration: 4,
    });
    expect(info).toMatchObject({ width: 704, height: 1248, frames: 96 });
  });

  it.each([
    { name: 'small', body: { image_urls: ['/small.png'] }, field: 'image_urls[0]', rule: /200×200 px/ },
    { name: 'lying', body: { image_urls: [`FIXTURE/cat.jpg`], video_urls: ['/not-a-video.mp4'] }, field: 'video_urls[0]', rule: /jpeg/ },
  ])('a task whose media break a rule ($name) fails with invalid_media and costs nothing', RENDER_TIMEOUT, async ({ name, body, field, rule }) => {
    const urls = (list: string[] | undefined) => list?.map((u) => (u.startsWith('FIXTURE/') ? `${fx.baseUrl}/${u.slice(8)}` : bad.url(u)));
    const done = await outcome(`bad-${name}`, {
      model: 'doubao-seedance-2.0',
      prompt: 'anything',
      image_urls: urls(body.image_urls),
      ...(body.video_urls ? { video_urls: urls(body.video_urls) } : {}),
    });
    expect(done.task.status).toBe('failed');
    expect(done.task.error?.code).toBe('invalid_media');
    expect(done.task.error?.message).toContain(field);
    expect(done.task.error?.message).toMatch(rule);
    expect(done.task.cost).toBe(0);
  });
});

describe('LocalProvider.estimateSeconds', () => {
  const provider = new LocalProvider('local', 1, {} as FfmpegBinary, null, {} as MediaIntake);
  const request = (body: Record<string, unknown>) => checkSubmitRules(SubmitBody.parse({ model: 'doubao-seedance-2.0', prompt: 'p', ...body }));

  it('grows with pixels and duration, and allows for media and reference video', () => {
    const text = provider.estimateSeconds(request({}));
    expect(text).toBeGreaterThanOrEqual(1);
    expect(provider.estimateSeconds(request({ resolution: '4k', duration: 15 }))).toBeGreaterThan(20 * text);
    const image = provider.estimateSeconds(request({ image_urls: ['https://example.com/a.jpg'] }));
    const withVideo = provider.estimateSeconds(request({ video_urls: ['https://example.com/a.mp4'] }));
    expect(image).toBeGreaterThan(text);
    expect(withVideo).toBeGreaterThan(image);
    // adaptive assumes the largest frame of the resolution.
    expect(provider.estimateSeconds(request({ size: 'adaptive', resolution: '4k', duration: 15 }))).toBeGreaterThanOrEqual(
      provider.estimateSeconds(request({ size: '16:9', resolution: '4k', duration: 15 })),
    );
  });
});
