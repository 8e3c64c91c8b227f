import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outputSize } from '../../src/providers/local/local-provider.js';
import { locateFfmpeg, type FfmpegBinary } from '../../src/render/ffmpeg.js';
import { cardTurns } from '../../src/render/modes/reference-images.js';
import { frameShares } from '../../src/render/modes/reference-video.js';
import { selectMode } from '../../src/render/modes/select.js';
import { styleFor } from '../../src/render/modes/styles.js';
import { renderVideo, type RenderMedia, type VideoJob } from '../../src/render/render-video.js';
import { frameHashes, probe } from '../helpers/ffprobe.js';
import { ffmpegBinary } from '../helpers/media-tools.js';
import { bandLevelDb, colourShares, COLOURS, contain, cover, makeModeMedia, saturationOfFrame, ssimOfFrame, ssimOfFrames, type Rgb } from './modes-helpers.js';

const RENDER_TIMEOUT = { timeout: 90_000 };

let root: string;
let mediaDir: string;
/** The server's ffmpeg: Debian's when installed, else the npm build. */
let locatedFfmpeg: FfmpegBinary;
let npmFfmpeg: FfmpegBinary;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'vidgate-modes-'));
  mediaDir = path.join(root, 'media');
  await mkdir(mediaDir);
  locatedFfmpeg = await ffmpegBinary();
  const npmPath = (createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path: string }).path;
  npmFfmpeg = await locateFfmpeg(npmPath);
  await makeModeMedia(mediaDir);
}, 120_000);

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const file = (name: string) => path.join(mediaDir, name);
const image = (name: string, width: number, height: number, role: RenderMedia['role'] = 'reference_image'): RenderMedia => ({
  kind: 'image',
  role,
  path: file(name),
  width,
  height,
});
const video = (name: string, width: number, height: number, durationSec: number): RenderMedia => ({
  kind: 'video',
  role: 'reference_video',
  path: file(name),
  width,
  height,
  durationSec,
});
const audio = (name: string, durationSec: number): RenderMedia => ({ kind: 'audio', role: 'reference_audio', path: file(name), durationSec });
const colourImage = (name: keyof typeof COLOURS): RenderMedia => {
  const sizes: Record<keyof typeof COLOURS, [number, number]> = {
    red: [800, 800],
    green: [600, 800],
    blue: [1000, 500],
    yellow: [640, 480],
    magenta: [480, 640],
    cyan: [1024, 576],
    orange: [576, 1024],
    violet: [900, 600],
    azure: [700, 700],
  };
  return image(`${name}.png`, ...sizes[name]);
};

async function jobIn(name: string, overrides: Partial<VideoJob>): Promise<VideoJob> {
  const workDir = await mkdtemp(path.join(root, `${name}-`));
  return {
    prompt: 'a lighthouse at dusk, waves rolling in',
    seed: 7,
    width: 864,
    height: 480,
    durationSeconds: 4,
    generateAudio: false,
    outVideo: path.join(workDir, 'out.mp4'),
    workDir,
    media: [],
    ...overrides,
  };
}

/** For each colour, its largest share of any frame and the frame where that was. */
function peaks(shares: number[][], colours: readonly Rgb[]): Array<{ share: number; frame: number }> {
  return colours.map((_, i) => {
    let best = { share: 0, frame: -1 };
    shares.forEach((frame, n) => {
      if (frame[i]! > best.share) best = { share: frame[i]!, frame: n };
    });
    return best;
  });
}

describe('mode selection and layout', () => {
  it('picks the mode from the roles', () => {
    const first = image('first.png', 1024, 576, 'first_frame');
    const last = image('last.png', 1024, 576, 'last_frame');
    expect(selectMode([]).mode).toBe('text-to-video');
    expect(selectMode([first]).mode).toBe('image-to-video');
    expect(selectMode([first, last]).mode).toBe('first-last-frame');
    const plan = selectMode([colourImage('red'), video('grey.mp4', 864, 480, 3), audio('tone1000.wav', 2)]);
    expect(plan).toMatchObject({ mode: 'reference' });
    if (plan.mode === 'reference') expect([plan.images.length, plan.videos.length, plan.audios.length]).toEqual([1, 1, 1]);
    expect(() => selectMode([last])).toThrow(/first_frame/);
  });

  it('adaptive takes the aspect nearest the first image, else the first video', () => {
    const adaptive = (resolution: '480p' | '720p', media: RenderMedia[]) => outputSize({ resolution, size: 'adaptive' }, media);
    expect(adaptive('720p', [image('portrait.png', 576, 1024)])).toEqual({ width: 704, height: 1248 });
    expect(adaptive('480p', [colourImage('red')])).toEqual({ width: 640, height: 640 });
    // The first image wins over a video listed before it, and over later images.
    expect(adaptive('720p', [video('grey.mp4', 864, 480, 3), image('portrait.png', 576, 1024), colourImage('blue')])).toEqual({ width: 704, height: 1248 });
    expect(adaptive('720p', [video('portrait.mp4', 480, 864, 2.5), audio('tone1000.wav', 2)])).toEqual({ width: 704, height: 1248 });
    expect(adaptive('720p', [])).toEqual({ width: 1248, height: 704 });
    expect(outputSize({ resolution: '480p', size: '21:9' }, [image('portrait.png', 576, 1024)])).toEqual({ width: 960, height: 416 });
  });

  it('shares frames between videos by length and between images evenly', () => {
    expect(frameShares(264, [3, 2])).toEqual([158, 106]);
    expect(frameShares(96, [1, 1, 1])).toEqual([32, 32, 32]);
    const turns = cardTurns(96, 9);
    expect(turns.reduce((a, b) => a + b, 0)).toBe(96);
    expect(Math.min(...turns)).toBeGreaterThanOrEqual(10);
  });

  it('finds a style named in the prompt', () => {
    expect(styleFor('Convert the video style to anime style')).toBe('anime');
    expect(styleFor('a detective story, film noir')).toBe('noir');
    expect(styleFor('shot in black and white')).toBe('noir');
    expect(styleFor('like a watercolour painting')).toBe('watercolor');
    expect(styleFor('noir first, then anime')).toBe('noir');
    expect(styleFor('A scene of a person speaking')).toBeNull();
  });
});

describe('image-to-video', () => {
  it('720p: frame 0 is the fitted image, then the camera moves; the PNG is the final frame', RENDER_TIMEOUT, async () => {
    const job = await jobIn('i2v', { width: 1248, height: 704, media: [image('first.png', 1024, 576, 'first_frame')] });
    job.outLastFrame = path.join(job.workDir, 'last.png');
    expect(await renderVideo(locatedFfmpeg, job, {})).toBe('image-to-video');

    const info = await probe(job.outVideo);
    expect(info).toMatchObject({ width: 1248, height: 704, fps: 24, frames: 96, videoCodec: 'h264', pixFmt: 'yuv420p', hasAudio: false });
    const fitted = cover(1248, 704);
    const [start, end] = await Promise.all([ssimOfFrame(job.outVideo, 0, file('first.png'), fitted), ssimOfFrame(job.outVideo, 95, file('first.png'), fitted)]);
    expect(start).toBeGreaterThanOrEqual(0.9);
    // The camera has moved in by the end.
    expect(end).toBeLessThan(start - 0.1);

    expect(await probe(job.outLastFrame)).toMatchObject({ width: 1248, height: 704, frames: 1 });
    expect(await ssimOfFrame(job.outVideo, 95, job.outLastFrame, 'null')).toBeGreaterThan(0.99);
    expect(await ssimOfFrame(job.outVideo, 94, job.outLastFrame, 'null')).toBeLessThan(1);
  });

  it('shows a portrait image whole over a blurred fill, with generated audio', RENDER_TIMEOUT, async () => {
    const job = await jobIn('i2v-portrait', { generateAudio: true, media: [image('portrait.png', 576, 1024, 'first_frame')] });
    await renderVideo(locatedFfmpeg, job, {});
    const info = await probe(job.outVideo);
    expect(info).toMatchObject({ width: 864, height: 480, frames: 96, hasAudio: true, audioCodec: 'aac', audioChannels: 2, audioSampleRate: 48000 });
    expect(info.audioDurationSec).toBeCloseTo(4, 2);
    // 576×1024 inside 864×480 is 270×480, centred.
    expect(await ssimOfFrame(job.outVideo, 0, file('portrait.png'), contain(270, 480), 'crop=270:480:297:0')).toBeGreaterThanOrEqual(0.9);
  });

  it('is deterministic per seed, and another seed moves the camera differently', RENDER_TIMEOUT, async () => {
    const media = [image('first.jpg', 1024, 576, 'first_frame')];
    const a = await jobIn('i2v-a', { seed: 5, media });
    const b = await jobIn('i2v-b', { seed: 5, media });
    const c = await jobIn('i2v-c', { seed: 6, media });
    await Promise.all([a, b, c].map((job) => renderVideo(locatedFfmpeg, job, {})));
    expect(await readFile(b.outVideo)).toEqual(await readFile(a.outVideo));
    const [ha, hc] = await Promise.all([frameHashes(a.outVideo), frameHashes(c.outVideo)]);
    expect(hc[72]).not.toBe(ha[72]);
    expect(await ssimOfFrame(c.outVideo, 0, file('first.jpg'), cover(864, 480))).toBeGreaterThanOrEqual(0.9);
  });
});

describe('first + last frame', () => {
  it('720p: starts on the first image, crossfades, ends on the last image', RENDER_TIMEOUT, async () => {
    const job = await jobIn('flf', {
      width: 1248,
      height: 704,
      durationSeconds: 5,
      prompt: 'Transition from day to night',
      media: [image('first.png', 1024, 576, 'first_frame'), image('last.png', 1024, 576, 'last_frame')],
    });
    job.outLastFrame = path.join(job.workDir, 'last.png');
    expect(await renderVideo(locatedFfmpeg, job, {})).toBe('first-last-frame');

    expect(await probe(job.outVideo)).toMatchObject({ width: 1248, height: 704, fps: 24, frames: 120, pixFmt: 'yuv420p', hasAudio: false });
    const fitted = cover(1248, 704);
    const [first, last, midFirst, midLast, png] = await Promise.all([
      ssimOfFrame(job.outVideo, 0, file('first.png'), fitted),
      ssimOfFrame(job.outVideo, 119, file('last.png'), fitted),
      ssimOfFrame(job.outVideo, 60, file('first.png'), fitted),
      ssimOfFrame(job.outVideo, 60, file('last.png'), fitted),
      ssimOfFrame(job.outLastFrame, 0, file('last.png'), fitted),
    ]);
    expect(first).toBeGreaterThanOrEqual(0.9);
    expect(last).toBeGreaterThanOrEqual(0.9);
    expect(png).toBeGreaterThanOrEqual(0.9);
    // Half way, the picture is a blend of both: like neither.
    expect(midFirst).toBeLessThan(0.8);
    expect(midLast).toBeLessThan(0.8);
  });
});

describe('reference images', () => {
  it('nine images each take their turn, over a blurred backdrop of the first', RENDER_TIMEOUT, async () => {
    const names = Object.keys(COLOURS) as Array<keyof typeof COLOURS>;
    const job = await jobIn('refs9', { durationSeconds: 5, media: names.map(colourImage) });
    expect(await renderVideo(locatedFfmpeg, job, {})).toBe('reference');
    expect(await probe(job.outVideo)).toMatchObject({ width: 864, height: 480, frames: 120, hasAudio: false });

    const colours = names.map((n) => COLOURS[n]);
    const found = peaks(await colourShares(job.outVideo, colours), colours);
    const turns = cardTurns(120, names.length);
    let turnStart = 0;
    found.forEach((peak, i) => {
      expect(peak.share, names[i]).toBeGreaterThan(0.03);
      expect(peak.frame, names[i]).toBeGreaterThanOrEqual(turnStart);
      expect(peak.frame, names[i]).toBeLessThan(turnStart + turns[i]!);
      turnStart += turns[i]!;
    });
  });
});

describe('reference video and audio', () => {
  it('two videos are the motion base, cut and looped to 11 s, under image cards, with two audio files over the bed', RENDER_TIMEOUT, async () => {
    const job = await jobIn('refvid', {
      durationSeconds: 11,
      generateAudio: true,
      prompt: 'A scene of a person speaking',
      media: [
        colourImage('red'),
        colourImage('blue'),
        video('grey.mp4', 864, 480, 3),
        video('grey-second.mp4', 960, 540, 2),
        audio('tone1000.wav', 2),
        audio('tone2500.mp3', 2),
      ],
    });
    await renderVideo(locatedFfmpeg, job, {});
    const info = await probe(job.outVideo);
    expect(info).toMatchObject({ width: 864, height: 480, fps: 24, frames: 264, pixFmt: 'yuv420p', hasAudio: true, audioCodec: 'aac', audioChannels: 2 });
    expect(info.audioDurationSec).toBeCloseTo(11, 2);

    // The left middle of the frame (no label, caption or card there) is the reference video's picture (a frame
    // off would score about 0.94 on this moving test pattern):
    // video 1 (3 s = 72 frames) plays, then again from the start, until frame 158; then video 2.
    const region = 'crop=432:240:0:120';
    const [playing, looped, second] = await Promise.all([
      ssimOfFrames(job.outVideo, 10, file('grey.mp4'), `${cover(864, 480)},${region}`, 10, region),
      ssimOfFrames(job.outVideo, 82, file('grey.mp4'), `${cover(864, 480)},${region}`, 10, region),
      ssimOfFrames(job.outVideo, 170, file('grey-second.mp4'), `${cover(864, 480)},${region}`, 15, region),
    ]);
    expect(playing).toBeGreaterThanOrEqual(0.98);
    expect(looped).toBeGreaterThanOrEqual(0.98);
    expect(second).toBeGreaterThanOrEqual(0.98);

    const found = peaks(await colourShares(job.outVideo, [COLOURS.red, COLOURS.blue]), [COLOURS.red, COLOURS.blue]);
    expect(found[0]!.share).toBeGreaterThan(0.03);
    expect(found[1]!.share).toBeGreaterThan(0.03);
    expect(found[0]!.frame).toBeLessThan(132);
    expect(found[1]!.frame).toBeGreaterThanOrEqual(132);

    // The soundtrack: 1000 Hz for 2 s, then 2500 Hz for 2 s, then only the generated bed.
    const [k1Early, k25Early, k1Late, k25Late, k1After, k25After] = await Promise.all([
      bandLevelDb(job.outVideo, 1000, 0.5, 1.8),
      bandLevelDb(job.outVideo, 2500, 0.5, 1.8),
      bandLevelDb(job.outVideo, 1000, 2.3, 3.8),
      bandLevelDb(job.outVideo, 2500, 2.3, 3.8),
      bandLevelDb(job.outVideo, 1000, 5, 9),
      bandLevelDb(job.outVideo, 2500, 5, 9),
    ]);
    expect(k1Early).toBeGreaterThan(k25Early + 20);
    expect(k25Late).toBeGreaterThan(k1Late + 20);
    expect(k1Early).toBeGreaterThan(k1After + 20);
    expect(k25Late).toBeGreaterThan(k25After + 20);
    // The bed is there under it all: its chord lies between 110 and 470 Hz.
    const bed = await Promise.all([110, 220, 330, 440].map((hz) => bandLevelDb(job.outVideo, hz, 5, 9)));
    expect(Math.max(...bed)).toBeGreaterThan(-60);
  });

  it('restyles the base when the prompt names a style', RENDER_TIMEOUT, async () => {
    const media = [video('colour.mp4', 864, 480, 3)];
    const plain = await jobIn('style-plain', { prompt: 'a person walks', media });
    const noir = await jobIn('style-noir', { prompt: 'a person walks, film noir', media });
    const anime = await jobIn('style-anime', { prompt: 'Convert the video style to anime style', media });
    await Promise.all([plain, noir, anime].map((job) => renderVideo(locatedFfmpeg, job, {})));
    for (const job of [plain, noir, anime]) expect(await probe(job.outVideo)).toMatchObject({ width: 864, height: 480, frames: 96 });
    const [plainSat, noirSat] = await Promise.all([saturationOfFrame(plain.outVideo, 30), saturationOfFrame(noir.outVideo, 30)]);
    expect(plainSat).toBeGreaterThan(20);
    expect(noirSat).toBeLessThan(2);
    expect(await ssimOfFrames(anime.outVideo, 30, plain.outVideo, 'null', 30)).toBeLessThan(0.9);
  });

  it('restyles a video smaller than the frame at its own size, then fits it', RENDER_TIMEOUT, async () => {
    const at720p = { width: 1248, height: 704, durationSeconds: 2 };
    const plain = await jobIn('prefit-plain', { ...at720p, prompt: 'a person walks', media: [video('colour.mp4', 864, 480, 3)] });
    const anime = await jobIn('prefit-anime', { ...at720p, prompt: 'Convert the video style to anime style', media: [video('colour.mp4', 864, 480, 3)] });
    // A probed size that is not the decoded one (odd, off by a few pixels) is scaled to what the restyle expects.
    const misprobed = await jobIn('prefit-misprobed', { ...at720p, prompt: 'in anime style', media: [video('colour.mp4', 861, 479, 3)] });
    await Promise.all([plain, anime, misprobed].map((job) => renderVideo(locatedFfmpeg, job, {})));
    for (const job of [anime, misprobed]) expect(await probe(job.outVideo)).toMatchObject({ width: 1248, height: 704, fps: 24, frames: 48, pixFmt: 'yuv420p' });
    expect(await ssimOfFrames(anime.outVideo, 30, plain.outVideo, 'null', 30)).toBeLessThan(0.9);
    expect(await saturationOfFrame(anime.outVideo, 30)).toBeGreaterThan(await saturationOfFrame(plain.outVideo, 30));
  });

  it('is deterministic: the same job twice gives the same bytes', RENDER_TIMEOUT, async () => {
    const media = [colourImage('yellow'), video('grey.mp4', 864, 480, 3), audio('tone2500.mp3', 2)];
    const a = await jobIn('det-ref-a', { generateAudio: true, prompt: 'in anime style', media });
    const b = await jobIn('det-ref-b', { generateAudio: true, prompt: 'in anime style', media });
    await Promise.all([a, b].map((job) => renderVideo(locatedFfmpeg, job, {})));
    expect(await readFile(b.outVideo)).toEqual(await readFile(a.outVideo));
  });

  it('reference audio alone is the soundtrack, padded or trimmed to the duration', RENDER_TIMEOUT, async () => {
    const short = await jobIn('audio-short', { media: [colourImage('green'), audio('tone1000.wav', 2)] });
    const long = await jobIn('audio-long', { media: [colourImage('green'), audio('tone1000-long.wav', 6)] });
    await Promise.all([short, long].map((job) => renderVideo(locatedFfmpeg, job, {})));
    for (const job of [short, long]) {
      const info = await probe(job.outVideo);
      expect(info).toMatchObject({ frames: 96, hasAudio: true, audioCodec: 'aac', audioChannels: 2, audioSampleRate: 48000 });
      expect(info.audioDurationSec).toBeCloseTo(4, 2);
    }
    const [shortTone, shortAfter, longLate] = await Promise.all([
      bandLevelDb(short.outVideo, 1000, 0.5, 1.5),
      bandLevelDb(short.outVideo, 1000, 2.5, 3.5),
      bandLevelDb(long.outVideo, 1000, 2.5, 3.5),
    ]);
    expect(shortTone).toBeGreaterThan(-30);
    expect(shortAfter).toBeLessThan(shortTone - 40);
    expect(longLate).toBeGreaterThan(-30);
  });
});

describe('awkward file names', () => {
  it('reads media from paths full of pattern and filtergraph metacharacters', RENDER_TIMEOUT, async () => {
    const nasty = await mkdtemp(path.join(root, "it's [a], b; c:d %03d *? "));
    await Promise.all(['first.png', 'red.png', 'grey.mp4', 'tone1000.wav'].map((name) => copyFile(file(name), path.join(nasty, `x%d[${name}`))));
    const at = (media: RenderMedia, name: string): RenderMedia => ({ ...media, path: path.join(nasty, `x%d[${name}`) });
    const still = await jobIn('nasty-i2v', {
      workDir: nasty,
      outVideo: path.join(nasty, 'o,u:t.mp4'),
      media: [at(image('first.png', 1024, 576, 'first_frame'), 'first.png')],
    });
    await renderVideo(locatedFfmpeg, still, {});
    expect(await ssimOfFrame(still.outVideo, 0, file('first.png'), cover(864, 480))).toBeGreaterThanOrEqual(0.9);
    const mixed = await jobIn('nasty-ref', {
      workDir: nasty,
      outVideo: path.join(nasty, "o'2.mp4"),
      media: [at(colourImage('red'), 'red.png'), at(video('grey.mp4', 864, 480, 3), 'grey.mp4'), at(audio('tone1000.wav', 2), 'tone1000.wav')],
    });
    await renderVideo(locatedFfmpeg, mixed, {});
    expect(await probe(mixed.outVideo)).toMatchObject({ frames: 96, hasAudio: true });
  });
});

describe('the npm-shipped ffmpeg 4.1', () => {
  it('renders first + last frame to the same rules', RENDER_TIMEOUT, async () => {
    expect(npmFfmpeg.path).toContain('@ffmpeg-installer');
    const job = await jobIn('npm-flf', { media: [image('first.png', 1024, 576, 'first_frame'), image('last.png', 1024, 576, 'last_frame')] });
    job.outLastFrame = path.join(job.workDir, 'last.png');
    await renderVideo(npmFfmpeg, job, {});
    expect(await probe(job.outVideo)).toMatchObject({ width: 864, height: 480, fps: 24, frames: 96, videoCodec: 'h264', pixFmt: 'yuv420p', hasAudio: false });
    expect(await ssimOfFrame(job.outVideo, 0, file('first.png'), cover(864, 480))).toBeGreaterThanOrEqual(0.9);
    expect(await ssimOfFrame(job.outVideo, 95, file('last.png'), cover(864, 480))).toBeGreaterThanOrEqual(0.9);
    expect(await probe(job.outLastFrame)).toMatchObject({ width: 864, height: 480 });
  });

  it('renders reference video, images and audio to the same rules', RENDER_TIMEOUT, async () => {
    const job = await jobIn('npm-ref', {
      durationSeconds: 5,
      generateAudio: true,
      prompt: 'in watercolor',
      media: [colourImage('red'), colourImage('blue'), video('grey.mp4', 864, 480, 3), video('portrait.mp4', 480, 864, 2.5), audio('tone1000.wav', 2)],
    });
    await renderVideo(npmFfmpeg, job, {});
    const info = await probe(job.outVideo);
    expect(info).toMatchObject({ width: 864, height: 480, fps: 24, frames: 120, pixFmt: 'yuv420p', hasAudio: true, audioCodec: 'aac', audioChannels: 2 });
    expect(info.audioDurationSec).toBeCloseTo(5, 2);
    const found = peaks(await colourShares(job.outVideo, [COLOURS.red, COLOURS.blue]), [COLOURS.red, COLOURS.blue]);
    expect(found.map((f) => f.share > 0.03)).toEqual([true, true]);
    expect(await bandLevelDb(job.outVideo, 1000, 0.5, 1.5)).toBeGreaterThan(-35);
  });
});

describe('aborting', () => {
  it('stops a media render with an AbortError', RENDER_TIMEOUT, async () => {
    const job = await jobIn('abort', { width: 1920, height: 1088, durationSeconds: 15, media: [video('grey.mp4', 864, 480, 3), colourImage('red')] });
    const controller = new AbortController();
    const render = renderVideo(locatedFfmpeg, job, {
      signal: controller.signal,
      onProgress: (fraction) => {
        if (fraction > 0 && fraction < 1) controller.abort();
      },
    });
    await expect(render).rejects.toMatchObject({ name: 'AbortError' });
  });
});
