import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FfmpegError, locateFfmpeg, runFfmpeg, type FfmpegBinary } from '../../src/render/ffmpeg.js';
import { sceneFor } from '../../src/render/scene.js';
import { locateTts, quotedDialogue, synthesizeSpeech, type TtsEngine } from '../../src/render/speech.js';
import { renderTextToVideo, wrapCaption, type TextToVideoJob } from '../../src/render/text-to-video.js';
import { frameHashes, meanVolumeDb, probe } from '../helpers/ffprobe.js';
import { ffmpeg as runLocatedFfmpeg, ffmpegBinary, ttsEngine } from '../helpers/media-tools.js';

const RENDER_TIMEOUT = { timeout: 60_000 };
const MOON = 'A man stops a woman and says: "Remember, you must never point your finger at the moon."';

let root: string;
/** The server's ffmpeg: Debian's when installed, else the npm build. */
let locatedFfmpeg: FfmpegBinary;
let tts: TtsEngine | null;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'vidgate-render-'));
  locatedFfmpeg = await ffmpegBinary();
  tts = await ttsEngine();
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function jobIn(name: string, overrides: Partial<TextToVideoJob> = {}): Promise<TextToVideoJob> {
  const workDir = await mkdtemp(path.join(root, `${name}-`));
  return {
    prompt: 'a lighthouse at dusk, waves rolling in',
    seed: 7,
    width: 640,
    height: 360,
    durationSeconds: 4,
    generateAudio: false,
    outVideo: path.join(workDir, 'out.mp4'),
    workDir,
    ...overrides,
  };
}

/** ffmpeg children of this worker, including zombies, which keep their comm but lose their cmdline. */
async function ffmpegChildren(): Promise<string[]> {
  const found: string[] = [];
  for (const pid of (await readdir('/proc')).filter((entry) => /^\d+$/.test(entry))) {
    const statLine = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    const match = /^\d+ \((.*)\) (\S) (\d+)/.exec(statLine);
    if (match && match[1] === 'ffmpeg' && Number(match[3]) === process.pid) found.push(`${pid}:${match[2]}`);
  }
  return found;
}

async function processesMentioning(text: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of (await readdir('/proc')).filter((entry) => /^\d+$/.test(entry))) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(text)) found.push(pid);
  }
  return found;
}

/** PSNR between one decoded frame of a video and a still image, in dB. */
async function psnrDb(video: string, frameIndex: number, image: string): Promise<number> {
  const { stderr } = await runLocatedFfmpeg([
    '-hide_banner',
    '-nostats',
    '-i',
    video,
    '-i',
    image,
    '-filter_complex',
    `[0:v]select=eq(n\\,${frameIndex}),format=rgb24[frame];[1:v]format=rgb24[still];[frame][still]psnr`,
    '-f',
    'null',
    '-',
  ]);
  const match = /average:(\d+(?:\.\d+)?|inf)/.exec(stderr);
  if (!match?.[1]) throw new Error(`no PSNR in ffmpeg output: ${stderr}`);
  return match[1] === 'inf' ? Infinity : Number(match[1]);
}

function topLevelBoxes(mp4: Buffer): string[] {
  const types: string[] = [];
  for (let offset = 0; offset + 8 <= mp4.length; ) {
    const size = mp4.readUInt32BE(offset);
    types.push(mp4.toString('latin1', offset + 4, offset + 8));
    if (size < 8) break;
    offset += size;
  }
  return types;
}

describe('locateFfmpeg / runFfmpeg', () => {
  it('prefers an explicit path, then PATH, then the npm build', async () => {
    const npm = await locateFfmpeg(undefined, '');
    expect(npm).toMatchObject({ source: 'npm' });
    expect(npm.path).toContain('@ffmpeg-installer');
    const fromEnv = await locateFfmpeg(npm.path);
    expect(fromEnv).toMatchObject({ path: npm.path, source: 'env', version: npm.version });
    // A PATH of its own, so the PATH lookup is tested whether or not the machine has an ffmpeg.
    const bin = path.join(root, 'bin');
    await mkdir(bin);
    await symlink(npm.path, path.join(bin, 'ffmpeg'));
    expect(await locateFfmpeg(undefined, ['/nonexistent', bin].join(':'))).toMatchObject({ path: path.join(bin, 'ffmpeg'), source: 'path' });
  });

  it('rejects an explicit path that is not ffmpeg', async () => {
    await expect(locateFfmpeg('/nonexistent/ffmpeg')).rejects.toThrow(/VIDGATE_FFMPEG/);
  });

  it('keeps the stderr tail for the log, out of the message', async () => {
    const args = ['-f', 'lavfi', '-i', 'nosuchfilter=x=1', '-f', 'null', '-'];
    const failure = await runFfmpeg(locatedFfmpeg, args).then(
      () => null,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(FfmpegError);
    expect((failure as FfmpegError).message).toMatch(/^ffmpeg failed \(exit code \d+\)$/);
    expect((failure as FfmpegError).stderr).toMatch(/nosuchfilter/);
    expect((failure as FfmpegError).inputs).toEqual(['nosuchfilter=x=1']);
  });
});

describe('locateTts', () => {
  it('falls back to the npm espeak-ng build when no espeak is on PATH', async () => {
    const wasm = await locateTts('');
    expect(wasm).toMatchObject({ kind: 'espeak-ng-wasm' });
    expect(wasm!.path).toContain(path.join('node_modules', 'espeak-ng'));
    const bin = path.join(root, 'tts-bin');
    await mkdir(bin);
    await symlink(process.execPath, path.join(bin, 'espeak'));
    expect(await locateTts(bin)).toEqual({ kind: 'espeak', path: path.join(bin, 'espeak') });
  });

  it("stops the npm build's synthesis with the caller's reason and leaves no process", async () => {
    const wasm = (await locateTts(''))!;
    const out = path.join(root, 'aborted.wav');
    const controller = new AbortController();
    const reason = new Error('cancelled');
    const speaking = synthesizeSpeech(wasm, 'A line that is never finished.', out, controller.signal);
    controller.abort(reason);
    await expect(speaking).rejects.toBe(reason);
    expect(existsSync(out)).toBe(false);
    expect(await processesMentioning(out)).toEqual([]);
  });
});

describe('quotedDialogue', () => {
  it('extracts straight, curly and CJK quotes in order', () => {
    expect(quotedDialogue(MOON)).toEqual(['Remember, you must never point your finger at the moon.']);
    expect(quotedDialogue('She says “hello” then 「こんにちは」 and 『さようなら』, "bye"')).toEqual(['hello', 'こんにちは', 'さようなら', 'bye']);
    expect(quotedDialogue('no dialogue here, "" nor "   "')).toEqual([]);
  });
});

describe('sceneFor', () => {
  it('is a pure function of prompt and seed', () => {
    expect(sceneFor(MOON, 42)).toEqual(sceneFor(MOON, 42));
    expect(sceneFor(MOON, 43)).not.toEqual(sceneFor(MOON, 42));
    expect(sceneFor('another prompt', 42)).not.toEqual(sceneFor(MOON, 42));
  });

  it('stays within its documented ranges', () => {
    for (const seed of [0, 1, 4294967295]) {
      const scene = sceneFor('', seed);
      expect(scene.palette.length).toBeGreaterThanOrEqual(3);
      expect(scene.palette.length).toBeLessThanOrEqual(4);
      for (const colour of scene.palette) {
        for (const channel of [colour.r, colour.g, colour.b]) expect(channel).toSatisfy(Number.isInteger);
        expect(Math.max(colour.r, colour.g, colour.b)).toBeLessThanOrEqual(255);
        expect(Math.min(colour.r, colour.g, colour.b)).toBeGreaterThanOrEqual(0);
      }
      expect(scene.shapes.length).toBeGreaterThanOrEqual(2);
      expect(scene.chord.length).toBeGreaterThanOrEqual(3);
    }
  });
});

describe('wrapCaption', () => {
  it('wraps words and unspaced CJK to the line budget and caps the line count', () => {
    const latin = wrapCaption('the quick brown fox jumps over the lazy dog', 15);
    expect(latin).toEqual(['the quick brown', 'fox jumps over', 'the lazy dog']);
    const cjk = wrapCaption('月を指さしてはいけないと彼は言った', 10);
    expect(cjk.every((line) => [...line].length <= 5)).toBe(true);
    expect(cjk.join('')).toBe('月を指さしてはいけないと彼は言った');
    const long = wrapCaption('word '.repeat(100), 12);
    expect(long).toHaveLength(4);
    expect(long[3]).toMatch(/…$/);
    expect(wrapCaption(' \n\t ', 20)).toEqual([]);
  });
});

describe('renderTextToVideo', () => {
  it('renders 720p 16:9 with audio and a last-frame PNG to the exact output rules', RENDER_TIMEOUT, async () => {
    const job = await jobIn('720p', {
      prompt: MOON,
      width: 1248,
      height: 704,
      durationSeconds: 5,
      generateAudio: true,
    });
    job.outLastFrame = path.join(job.workDir, 'last.png');
    const progress: number[] = [];
    await renderTextToVideo(locatedFfmpeg, job, { onProgress: (f) => progress.push(f), tts: null });

    const info = await probe(job.outVideo);
    expect(info).toMatchObject({
      width: 1248,
      height: 704,
      fps: 24,
      frames: 120,
      videoCodec: 'h264',
      pixFmt: 'yuv420p',
      hasAudio: true,
      audioCodec: 'aac',
      audioChannels: 2,
      audioSampleRate: 48000,
    });
    expect(info.durationSec).toBeCloseTo(5, 1);
    expect(info.audioDurationSec).toBeCloseTo(5, 2);

    const png = await probe(job.outLastFrame);
    expect(png).toMatchObject({ width: 1248, height: 704, frames: 1, videoCodec: 'png' });
    const [matchLast, matchPrevious] = await Promise.all([psnrDb(job.outVideo, 119, job.outLastFrame), psnrDb(job.outVideo, 118, job.outLastFrame)]);
    expect(matchLast).toBeGreaterThan(38);
    expect(matchLast).toBeGreaterThan(matchPrevious + 3);

    const boxes = topLevelBoxes(await readFile(job.outVideo));
    expect(boxes.indexOf('moov'), boxes.join(',')).toBeLessThan(boxes.indexOf('mdat'));

    expect(progress.at(-1)).toBe(1);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
  });

  it('omits the audio stream when audio is not requested, and the caption when the prompt is empty', RENDER_TIMEOUT, async () => {
    const job = await jobIn('silent', { prompt: '', generateAudio: false });
    await renderTextToVideo(locatedFfmpeg, job, { tts });
    const info = await probe(job.outVideo);
    expect(info.hasAudio).toBe(false);
    expect(info.frames).toBe(96);
    expect(existsSync(path.join(job.workDir, 'caption.txt'))).toBe(false);
  });

  it.each([
    { label: '480p 21:9', width: 960, height: 416, generateAudio: false },
    { label: '720p 9:16', width: 704, height: 1248, generateAudio: true },
  ])('renders $label at 4 s as exactly 96 frames', RENDER_TIMEOUT, async ({ width, height, generateAudio }) => {
    const job = await jobIn(`${width}x${height}`, { width, height, generateAudio });
    await renderTextToVideo(locatedFfmpeg, job, {});
    const info = await probe(job.outVideo);
    expect(info).toMatchObject({ width, height, fps: 24, frames: 96, pixFmt: 'yuv420p', hasAudio: generateAudio });
  });

  it('is deterministic per seed, differs across seeds and moves over time', RENDER_TIMEOUT, async () => {
    const first = await jobIn('det-a', { seed: 123456789, generateAudio: true });
    const again = await jobIn('det-b', { seed: 123456789, generateAudio: true });
    const other = await jobIn('det-c', { seed: 123456790, generateAudio: true });
    for (const job of [first, again, other]) await renderTextToVideo(locatedFfmpeg, job, {});
    expect(await readFile(again.outVideo)).toEqual(await readFile(first.outVideo));

    const [a, b, c] = await Promise.all([first, again, other].map((job) => frameHashes(job.outVideo)));
    expect(a).toHaveLength(96);
    expect(b).toEqual(a);
    expect(c).toHaveLength(96);
    expect(c?.filter((hash) => a?.includes(hash))).toEqual([]);
    expect(a?.[48]).not.toBe(a?.[0]);
    expect(new Set(a).size).toBe(96);
  });

  // The located engine is the system espeak where installed; the npm build is what a machine without it speaks with.
  it.each([
    { engine: 'the located engine', find: () => Promise.resolve(tts) },
    { engine: 'the npm espeak-ng build', find: () => locateTts('') },
  ])('mixes dialogue synthesized by $engine over the ambient bed', RENDER_TIMEOUT, async ({ find }) => {
    const engine = await find();
    expect(engine, 'espeak on PATH or the espeak-ng npm package').not.toBeNull();
    const withSpeech = await jobIn('speech', { prompt: MOON, generateAudio: true });
    const bedOnly = await jobIn('bed', { prompt: MOON, generateAudio: true });
    await renderTextToVideo(locatedFfmpeg, withSpeech, { tts: engine });
    await renderTextToVideo(locatedFfmpeg, bedOnly, { tts: null });

    // The sentence lasts about 3.3 s at 150 words a minute.
    expect((await probe(path.join(withSpeech.workDir, 'speech.wav'))).durationSec).toBeGreaterThan(2.5);
    expect(existsSync(path.join(bedOnly.workDir, 'speech.wav'))).toBe(false);
    const [speechDb, bedDb] = await Promise.all([meanVolumeDb(withSpeech.outVideo), meanVolumeDb(bedOnly.outVideo)]);
    expect(speechDb - bedDb).toBeGreaterThan(3);
    const info = await probe(withSpeech.outVideo);
    expect(info.audioDurationSec).toBeCloseTo(4, 2);
  });

  it('survives captions and paths full of filtergraph metacharacters', RENDER_TIMEOUT, async () => {
    const nastyDir = await mkdtemp(path.join(root, "it's [a], b; c:d\\e %f "));
    const prompt = 'He said: "50% off, [really]; it\'s ok" \\ back\\slash\n%{pts} 🎬 猫が好き, 100%';
    const job = await jobIn('nasty', { prompt, workDir: nastyDir, outVideo: path.join(nastyDir, 'o,u:t.mp4') });
    job.outLastFrame = path.join(nastyDir, "la'st.png");
    await renderTextToVideo(locatedFfmpeg, job, {});
    expect((await probe(job.outVideo)).frames).toBe(96);
    expect((await probe(job.outLastFrame)).width).toBe(640);
    expect(await readFile(path.join(nastyDir, 'caption.txt'), 'utf8')).toContain('%{pts}');
  });

  it('renders with the npm-shipped ffmpeg to the same output rules', RENDER_TIMEOUT, async () => {
    const npmPath = (createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path: string }).path;
    const npmFfmpeg = await locateFfmpeg(npmPath);
    expect(npmFfmpeg.path).toContain('@ffmpeg-installer');
    const settings = { prompt: MOON, width: 1248, height: 704, generateAudio: true };
    const job = await jobIn('npm', settings);
    job.outLastFrame = path.join(job.workDir, 'last.png');
    const again = await jobIn('npm-again', settings);
    await renderTextToVideo(npmFfmpeg, job, { tts });
    await renderTextToVideo(npmFfmpeg, again, { tts });

    const info = await probe(job.outVideo);
    expect(info).toMatchObject({
      width: 1248,
      height: 704,
      fps: 24,
      frames: 96,
      videoCodec: 'h264',
      pixFmt: 'yuv420p',
      audioCodec: 'aac',
      audioChannels: 2,
      audioSampleRate: 48000,
    });
    expect(info.audioDurationSec).toBeCloseTo(4, 2);
    expect(await probe(job.outLastFrame)).toMatchObject({ width: 1248, height: 704 });
    const [matchLast, matchPrevious] = await Promise.all([psnrDb(job.outVideo, 95, job.outLastFrame), psnrDb(job.outVideo, 94, job.outLastFrame)]);
    expect(matchLast).toBeGreaterThan(matchPrevious + 3);
    const hashes = await frameHashes(job.outVideo);
    expect(new Set(hashes).size).toBe(96);
    expect(await frameHashes(again.outVideo)).toEqual(hashes);
  });

  it('aborts mid-render with an AbortError and leaves no ffmpeg process', RENDER_TIMEOUT, async () => {
    const job = await jobIn('abort', { width: 1920, height: 1080, durationSeconds: 15, generateAudio: true });
    const controller = new AbortController();
    const render = renderTextToVideo(locatedFfmpeg, job, {
      signal: controller.signal,
      onProgress: (fraction) => {
        if (fraction > 0 && fraction < 1) controller.abort();
      },
    });
    await expect(render).rejects.toMatchObject({ name: 'AbortError' });
    expect(await ffmpegChildren()).toEqual([]);
    expect(await processesMentioning(job.outVideo)).toEqual([]);
  });

  it('does not start ffmpeg when already aborted', async () => {
    const job = await jobIn('pre-abort');
    const controller = new AbortController();
    controller.abort();
    await expect(renderTextToVideo(locatedFfmpeg, job, { signal: controller.signal })).rejects.toMatchObject({
      name: 'AbortError',
    });
    expect(existsSync(job.outVideo)).toBe(false);
  });
});
