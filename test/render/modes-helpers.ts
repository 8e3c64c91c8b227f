import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ffmpegBinary } from '../helpers/media-tools.js';

/**
 * Measurements on decoded renders for the mode tests, all with the server's ffmpeg (whatever ffmpeg
 * rendered): SSIM against a reference picture, where solid colours show up, tone levels in a band.
 */

const run = promisify(execFile);
const MAX_BUFFER = 256 * 1024 * 1024;

export interface Rgb {
  r: number;
  g: number;
  b: number;
}

/** Scale to fill the frame and crop the centre: how a picture covering the output is fitted. */
export const cover = (width: number, height: number) =>
  `scale=${width}:${height}:force_original_aspect_ratio=increase:flags=bicubic,crop=${width}:${height},setsar=1`;

/** Scale to fit inside the frame (no crop, no padding). */
export const contain = (width: number, height: number) => `scale=${width}:${height}:force_original_aspect_ratio=decrease:flags=bicubic,setsar=1`;

/**
 * SSIM (all planes, 0..1) between frame `frameIndex` of `video` and `image` passed through `fit`;
 * `crop` (a crop filter) applies to the frame only, to compare part of it.
 */
export async function ssimOfFrame(video: string, frameIndex: number, image: string, fit: string, crop?: string): Promise<number> {
  const graph = [
    `[0:v]select=eq(n\\,${frameIndex}),setpts=0${crop ? `,${crop}` : ''},format=yuv420p[frame]`,
    `[1:v]${fit},format=yuv420p[still]`,
    '[frame][still]ssim',
  ].join(';');
  const { stderr } = await run(
    (await ffmpegBinary()).path,
    ['-hide_banner', '-nostats', '-i', video, '-i', image, '-filter_complex', graph, '-f', 'null', '-'],
    { maxBuffer: MAX_BUFFER },
  );
  const match = /All:(\d+(?:\.\d+)?)/.exec(stderr);
  if (!match?.[1]) throw new Error(`no SSIM in ffmpeg output: ${stderr.slice(-2000)}`);
  return Number(match[1]);
}

/** SSIM between a frame of one video and a frame of another (both through `filters`, e.g. a crop). */
export async function ssimOfFrames(a: string, aIndex: number, b: string, bFilters: string, bIndex: number, aFilters = 'null'): Promise<number> {
  const graph = [
    `[0:v]select=eq(n\\,${aIndex}),setpts=0,${aFilters},format=yuv420p[a]`,
    `[1:v]select=eq(n\\,${bIndex}),setpts=0,${bFilters},format=yuv420p[b]`,
    '[a][b]ssim',
  ].join(';');
  const { stderr } = await run((await ffmpegBinary()).path, ['-hide_banner', '-nostats', '-i', a, '-i', b, '-filter_complex', graph, '-f', 'null', '-'], {
    maxBuffer: MAX_BUFFER,
  });
  const match = /All:(\d+(?:\.\d+)?)/.exec(stderr);
  if (!match?.[1]) throw new Error(`no SSIM in ffmpeg output: ${stderr.slice(-2000)}`);
  return Number(match[1]);
}

const SAMPLE = { width: 96, height: 54 };

/**
 * For every frame, the share (0..1) of its pixels within `tolerance` (per channel) of each colour,
 * measured on a small area-averaged copy of the frame.
 */
export async function colourShares(video: string, colours: readonly Rgb[], tolerance = 40): Promise<number[][]> {
  const { stdout } = await run(
    (await ffmpegBinary()).path,
    ['-v', 'error', '-i', video, '-map', '0:v:0', '-vf', `scale=${SAMPLE.width}:${SAMPLE.height}:flags=area,format=rgb24`, '-f', 'rawvideo', '-'],
    { maxBuffer: MAX_BUFFER, encoding: 'buffer' },
  );
  const frameBytes = SAMPLE.width * SAMPLE.height * 3;
  const frames: number[][] = [];
  for (let offset = 0; offset + frameBytes <= stdout.length; offset += frameBytes) {
    const counts = colours.map(() => 0);
    for (let p = offset; p < offset + frameBytes; p += 3) {
      colours.forEach((c, i) => {
        if (Math.abs(stdout[p]! - c.r) <= tolerance && Math.abs(stdout[p + 1]! - c.g) <= tolerance && Math.abs(stdout[p + 2]! - c.b) <= tolerance) counts[i]!++;
      });
    }
    frames.push(counts.map((n) => n / (SAMPLE.width * SAMPLE.height)));
  }
  return frames;
}

/** Mean level (dBFS) of the first audio stream between two times, through a narrow band-pass at `hz`. */
export async function bandLevelDb(file: string, hz: number, fromSec: number, toSec: number): Promise<number> {
  const band = `bandpass=f=${hz}:width_type=q:w=12`;
  const { stderr } = await run(
    (await ffmpegBinary()).path,
    ['-hide_banner', '-nostats', '-i', file, '-map', '0:a:0', '-af', `atrim=start=${fromSec}:end=${toSec},${band},${band},volumedetect`, '-f', 'null', '-'],
    { maxBuffer: MAX_BUFFER },
  );
  const match = /mean_volume:\s*(-?[\d.]+|-inf) dB/.exec(stderr);
  if (!match?.[1]) throw new Error(`volumedetect printed no mean_volume for ${file}`);
  return match[1] === '-inf' ? -Infinity : Number(match[1]);
}

/** Average saturation (signalstats SATAVG, 0 for grey) of one frame. */
export async function saturationOfFrame(video: string, frameIndex: number): Promise<number> {
  const { stderr } = await run(
    (await ffmpegBinary()).path,
    [
      '-hide_banner',
      '-nostats',
      '-i',
      video,
      '-vf',
      `select=eq(n\\,${frameIndex}),signalstats,metadata=print:key=lavfi.signalstats.SATAVG`,
      '-an',
      '-f',
      'null',
      '-',
    ],
    { maxBuffer: MAX_BUFFER },
  );
  const match = /lavfi\.signalstats\.SATAVG=(\d+(?:\.\d+)?)/.exec(stderr);
  if (!match?.[1]) throw new Error(`no SATAVG in ffmpeg output: ${stderr.slice(-2000)}`);
  return Number(match[1]);
}

export const COLOURS = {
  red: { r: 255, g: 0, b: 0 },
  green: { r: 0, g: 255, b: 0 },
  blue: { r: 0, g: 0, b: 255 },
  yellow: { r: 255, g: 255, b: 0 },
  magenta: { r: 255, g: 0, b: 255 },
  cyan: { r: 0, g: 255, b: 255 },
  orange: { r: 255, g: 128, b: 0 },
  violet: { r: 128, g: 0, b: 255 },
  azure: { r: 0, g: 128, b: 255 },
} as const satisfies Record<string, Rgb>;

const hex = (c: Rgb) => `0x${[c.r, c.g, c.b].map((v) => v.toString(16).padStart(2, '0')).join('')}`;

/** Media made with the server's ffmpeg; every file obeys the media rules of README: Media. */
export async function makeModeMedia(dir: string): Promise<void> {
  const ffmpegPath = (await ffmpegBinary()).path;
  const ffmpeg = (out: string, ...args: string[]) =>
    run(ffmpegPath, ['-hide_banner', '-loglevel', 'error', '-y', ...args, join(dir, out)], { timeout: 60_000 });
  const still = (out: string, w: number, h: number, source: string) =>
    ffmpeg(out, '-f', 'lavfi', '-i', `${source}${source.includes('=') ? ':' : '='}s=${w}x${h}:r=1`, '-frames:v', '1');
  const clip = (out: string, w: number, h: number, fps: number, seconds: number, source: string, extra: string[] = []) =>
    ffmpeg(
      out,
      '-f',
      'lavfi',
      '-i',
      `${source}=s=${w}x${h}:r=${fps}:d=${seconds}`,
      ...extra,
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-crf',
      '18',
      '-pix_fmt',
      'yuv420p',
    );
  const tone = (out: string, hz: number, seconds: number, codec: string[]) =>
    ffmpeg(out, '-f', 'lavfi', '-i', `sine=frequency=${hz}:duration=${seconds}:sample_rate=44100`, '-ac', '1', ...codec);
  const sizes: Array<[number, number]> = [
    [800, 800],
    [600, 800],
    [1000, 500],
    [640, 480],
    [480, 640],
    [1024, 576],
    [576, 1024],
    [900, 600],
    [700, 700],
  ];
  await Promise.all([
    still('first.png', 1024, 576, 'testsrc2'),
    still('last.png', 1024, 576, 'smptehdbars'),
    still('first.jpg', 1024, 576, 'testsrc2'),
    still('portrait.png', 576, 1024, 'testsrc2'),
    ...Object.entries(COLOURS).map(([name, colour], i) => still(`${name}.png`, sizes[i]![0], sizes[i]![1], `color=c=${hex(colour)}`)),
    // Grey motion bases, so that any saturated colour in a render comes from a card.
    clip('grey.mp4', 864, 480, 24, 3, 'testsrc2', ['-vf', 'hue=s=0']),
    clip('grey-second.mp4', 960, 540, 30, 2, 'testsrc', ['-vf', 'hue=s=0']),
    clip('colour.mp4', 864, 480, 24, 3, 'testsrc2'),
    clip('portrait.mp4', 480, 864, 24, 2.5, 'testsrc2'),
    tone('tone1000.wav', 1000, 2, ['-c:a', 'pcm_s16le']),
    tone('tone2500.mp3', 2500, 2, ['-c:a', 'libmp3lame', '-b:a', '96k']),
    tone('tone1000-long.wav', 1000, 6, ['-c:a', 'pcm_s16le']),
  ]);
}
