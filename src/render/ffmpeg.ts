import { execFile, spawn } from 'node:child_process';
import { locateBinary } from '../tools/binary-lookup.js';

export interface FfmpegBinary {
  path: string;
  version: string;
  source: 'env' | 'path' | 'npm';
}

export interface RunFfmpegOptions {
  signal?: AbortSignal;
  totalFrames?: number;
  onProgress?: (fraction: number) => void;
  /** Killed when it writes no new frame and no new output time for this long (default 60 s). */
  stallMs?: number;
}

/**
 * An input can make ffmpeg wait forever without failing (a looped stream that yields no frame, a
 * peer that stops sending): a run that stops advancing is ended, so no task holds a slot forever.
 */
const DEFAULT_STALL_MS = 60_000;

const STDERR_TAIL_BYTES = 4096;
const VERSION_TIMEOUT_MS = 10_000;

/**
 * ffmpeg ran and failed. The message says only that; what ffmpeg said (which names files and its
 * internals) is kept in `stderr`, for the log.
 */
export class FfmpegError extends Error {
  constructor(
    /** `exit code 1`, `signal SIGSEGV` */
    readonly status: string,
    /** The tail of ffmpeg's error output. */
    readonly stderr: string,
    /** The run's input files, in ffmpeg's input order (the N of "stream #N:M"). */
    readonly inputs: readonly string[],
  ) {
    super(`ffmpeg failed (${status})`);
    this.name = 'FfmpegError';
  }

  /**
   * The input file ffmpeg's errors are about, if they point at one: by input index ("Error while
   * decoding stream #1:0") or by name ("<file>: Invalid data found when processing input").
   */
  blamedInput(): string | null {
    const decoding = /Error while decoding stream #(\d+):\d+/.exec(this.stderr);
    if (decoding) return this.inputs[Number(decoding[1])] ?? null;
    return this.inputs.find((file) => this.stderr.includes(`${file}: `) && !this.stderr.includes(`${file}: No such file`)) ?? null;
  }
}

/** VIDGATE_FFMPEG, else `ffmpeg` on `searchPath` (the PATH), else the binary of @ffmpeg-installer/ffmpeg. */
export async function locateFfmpeg(envPath?: string, searchPath = process.env.PATH ?? ''): Promise<FfmpegBinary> {
  const { path, source, found } = await locateBinary({
    name: 'ffmpeg',
    setting: 'VIDGATE_FFMPEG',
    configured: envPath,
    searchPath,
    npmPackage: '@ffmpeg-installer/ffmpeg',
    check: readVersion,
  });
  return { path, version: found, source };
}

function readVersion(binary: string): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(binary, ['-hide_banner', '-version'], { timeout: VERSION_TIMEOUT_MS }, (error, stdout) => {
      if (error) return resolve(null);
      resolve(parseVersion(stdout));
    });
  });
}

function parseVersion(output: string): string | null {
  const firstLine = output.split('\n', 1)[0]?.trim() ?? '';
  if (!firstLine) return null;
  return /^ffmpeg version (\S+)/.exec(firstLine)?.[1] ?? firstLine;
}

export function runFfmpeg(bin: FfmpegBinary, args: string[], opts: RunFfmpegOptions = {}): Promise<void> {
  const { signal, totalFrames, onProgress, stallMs = DEFAULT_STALL_MS } = opts;
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  const fullArgs = ['-nostdin', '-hide_banner', '-loglevel', 'error', '-nostats', '-progress', 'pipe:1', ...args];

  return new Promise((resolve, reject) => {
    const child = spawn(bin.path, fullArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderrTail = '';
    let aborted = false;
    const onAbort = (): void => {
      aborted = true;
      child.kill('SIGKILL');
    };
    signal?.addEventListener('abort', onAbort, { once: true });

    let lastAdvance = Date.now();
    let stalled = false;
    const watchdog = setInterval(
      () => {
        if (Date.now() - lastAdvance < stallMs) return;
        stalled = true;
        child.kill('SIGKILL');
      },
      Math.max(10, Math.min(5_000, Math.floor(stallMs / 4))),
    );
    watchdog.unref();

    child.stdout.setEncoding('utf8');
    child.stdout.on(
      'data',
      progressParser(totalFrames, onProgress, () => (lastAdvance = Date.now())),
    );
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderrTail = (stderrTail + chunk).slice(-STDERR_TAIL_BYTES);
    });

    child.on('error', (error) => {
      clearInterval(watchdog);
      signal?.removeEventListener('abort', onAbort);
      reject(new Error(`failed to start ffmpeg at ${bin.path}: ${error.message}`));
    });
    // 'close' fires only after the child has been reaped and its pipes drained, so no zombie outlives the promise.
    child.on('close', (code, killedBy) => {
      clearInterval(watchdog);
      signal?.removeEventListener('abort', onAbort);
      if (aborted && signal) return reject(abortReason(signal));
      if (code === 0) return resolve();
      const status = stalled
        ? `no progress for ${stallMs % 1000 === 0 ? `${stallMs / 1000} s` : `${stallMs} ms`}`
        : killedBy
          ? `signal ${killedBy}`
          : `exit code ${code}`;
      reject(new FfmpegError(status, stderrTail.trim() || 'no error output', inputFiles(args)));
    });
  });
}

/** The operands of `-i`, in order, without a `file:` prefix. */
function inputFiles(args: readonly string[]): string[] {
  return args.flatMap((arg, i) => (arg === '-i' && i + 1 < args.length ? [args[i + 1]!.replace(/^file:/, '')] : []));
}

/** Reads `-progress` output: the frame count drives `onProgress`; a new frame or output time is an advance. */
function progressParser(totalFrames: number | undefined, onProgress: ((fraction: number) => void) | undefined, onAdvance: () => void): (chunk: string) => void {
  let pending = '';
  let frame = -1;
  let outTime = -1;
  return (chunk) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      const match = /^(frame|out_time_us)=(\d+)/.exec(line.trim());
      if (!match) continue;
      const value = Number(match[2]);
      if (match[1] === 'frame') {
        if (value > frame) onAdvance();
        frame = Math.max(frame, value);
        if (onProgress && totalFrames) onProgress(Math.min(1, value / totalFrames));
      } else {
        if (value > outTime) onAdvance();
        outTime = Math.max(outTime, value);
      }
    }
  };
}

export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The operation was aborted', 'AbortError');
}
