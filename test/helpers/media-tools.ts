import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { locateFfprobe, type FfprobeBinary } from '../../src/media/probe.js';
import { locateFfmpeg, type FfmpegBinary } from '../../src/render/ffmpeg.js';
import { locateTts, type TtsEngine } from '../../src/render/speech.js';

/**
 * The media tools every test uses, found by the server's own lookups (VIDGATE_FFMPEG /
 * VIDGATE_FFPROBE, else PATH, else the npm-shipped builds; espeak on PATH, else the npm WebAssembly
 * build): a test passes or fails with the binaries a server on the same machine would run, and a
 * machine without Debian's ffmpeg or espeak-ng runs the same suite.
 */

const execFileAsync = promisify(execFile);
/** Generated media are small, but ffmpeg's framemd5 and ffprobe's JSON of long clips are not tiny. */
const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 120_000;

function once<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () => (made ??= make());
}

const envPath = (name: string): string | undefined => process.env[name]?.trim() || undefined;

/** Encoder options of every generated fixture clip: H.264 a player and the media rules accept, made fast. */
export const FAST_H264 = ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-movflags', '+faststart'] as const;

export const ffmpegBinary: () => Promise<FfmpegBinary> = once(() => locateFfmpeg(envPath('VIDGATE_FFMPEG')));
export const ffprobeBinary: () => Promise<FfprobeBinary> = once(() => locateFfprobe(envPath('VIDGATE_FFPROBE')));
export const ttsEngine: () => Promise<TtsEngine | null> = once(() => locateTts());

export interface ToolOutput {
  stdout: string;
  stderr: string;
}

/** Runs the located ffmpeg with `args` as given; rejects with its stderr when it fails. */
export async function ffmpeg(args: string[], opts: { timeoutMs?: number } = {}): Promise<ToolOutput> {
  return runTool((await ffmpegBinary()).path, args, opts.timeoutMs);
}

/** Runs the located ffprobe with `args` as given; rejects with its stderr when it fails. */
export async function ffprobe(args: string[], opts: { timeoutMs?: number } = {}): Promise<ToolOutput> {
  return runTool((await ffprobeBinary()).path, args, opts.timeoutMs);
}

async function runTool(file: string, args: string[], timeoutMs = DEFAULT_TIMEOUT_MS): Promise<ToolOutput> {
  try {
    return await execFileAsync(file, args, { timeout: timeoutMs, maxBuffer: MAX_OUTPUT_BYTES, encoding: 'utf8' });
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim();
    throw new Error(`${file} ${args.join(' ')} failed: ${stderr || (error as Error).message}`, { cause: error });
  }
}
