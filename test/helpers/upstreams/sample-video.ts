import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ffmpeg as runFfmpeg } from '../media-tools.js';

/**
 * Small real media made once per process with the server's ffmpeg and cached in a temp dir: what the
 * fake upstreams serve as their results. Each fake holds the cache while it runs (`holdSamples`);
 * the dir is removed when the last holder lets go, or at process exit.
 */

export interface Size {
  width: number;
  height: number;
}

/** Small even-sided sizes with roughly the ratio asked for (`adaptive` and unknown → 16:9). */
const RATIO_SIZES: Record<string, Size> = {
  '16:9': { width: 320, height: 180 },
  '9:16': { width: 180, height: 320 },
  '1:1': { width: 240, height: 240 },
  '4:3': { width: 240, height: 180 },
  '3:4': { width: 180, height: 240 },
  '21:9': { width: 336, height: 144 },
};

export function sampleSize(ratio?: string): Size {
  return RATIO_SIZES[ratio ?? ''] ?? RATIO_SIZES['16:9']!;
}

export interface SampleVideoOptions extends Partial<Size> {
  /** Default 1. */
  seconds?: number;
  /** An AAC stereo track; default false. */
  audio?: boolean;
}

/** Path of an H.264 yuv420p 24 fps MP4 (faststart), with an AAC track when `audio`. */
export function sampleVideo(o: SampleVideoOptions = {}): Promise<string> {
  const { width = 320, height = 180, seconds = 1, audio = false } = o;
  return cached(`video-${width}x${height}-${seconds}s${audio ? '-aac' : ''}.mp4`, (out) =>
    ffmpeg(
      [
        ['-f', 'lavfi', '-i', `testsrc2=s=${width}x${height}:r=24:d=${seconds}`],
        audio ? ['-f', 'lavfi', '-i', `sine=frequency=440:duration=${seconds}:sample_rate=44100`] : [],
        ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'],
        audio ? ['-c:a', 'aac', '-ac', '2', '-b:a', '64k', '-shortest'] : [],
        ['-movflags', '+faststart', out],
      ].flat(),
    ),
  );
}

/** Path of a PNG still (what a last frame looks like). */
export function sampleFrame(o: Partial<Size> = {}): Promise<string> {
  const { width = 320, height = 180 } = o;
  return cached(`frame-${width}x${height}.png`, (out) => ffmpeg(['-f', 'lavfi', '-i', `testsrc2=s=${width}x${height}:r=1`, '-frames:v', '1', out]));
}

let dir: string | undefined;
const files = new Map<string, Promise<string>>();
let holders = 0;
let exitHook: (() => void) | undefined;

/** Keeps the cached files until the returned function is called (once). */
export function holdSamples(): () => void {
  holders++;
  let held = true;
  return () => {
    if (!held) return;
    held = false;
    if (--holders === 0 && dir) {
      rmSync(dir, { recursive: true, force: true });
      dir = undefined;
      files.clear();
    }
  };
}

function cached(name: string, make: (out: string) => Promise<void>): Promise<string> {
  let file = files.get(name);
  if (!file) {
    if (!dir) {
      if (!exitHook) process.once('exit', (exitHook = () => dir && rmSync(dir, { recursive: true, force: true })));
      dir = mkdtempSync(join(tmpdir(), 'vidgate-upstream-samples-'));
    }
    const out = join(dir, name);
    file = make(out).then(() => out);
    const made = file;
    made.catch(() => files.get(name) === made && files.delete(name));
    files.set(name, made);
  }
  return file;
}

async function ffmpeg(args: string[]): Promise<void> {
  await runFfmpeg(['-hide_banner', '-loglevel', 'error', '-y', ...args], { timeoutMs: 60_000 });
}
