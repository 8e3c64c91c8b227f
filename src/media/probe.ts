import { execFile } from 'node:child_process';
import { invalidMedia } from './errors.js';
import { isExecutable, locateBinary } from '../tools/binary-lookup.js';

/** What ffprobe says about a file. Absent fields did not apply or were not reported. */
export interface ProbeResult {
  width?: number;
  height?: number;
  durationSec?: number;
  fps?: number;
  /** A real video stream; cover art in an mp3 (an attached picture) does not count. */
  hasVideo: boolean;
  hasAudio: boolean;
  videoCodec?: string;
  audioCodec?: string;
  /** The decoder's pixel format of the first picture (rgb24, rgb48be, yuvj420p, …), when one was decoded. */
  pixelFormat?: string;
}

/** The first picture of a file, decoded. */
export interface PictureProbe {
  width: number;
  height: number;
  pixelFormat: string;
}

/** Probes a media file; the intake depends on this, so tests or other tools can stand in. */
export interface MediaProber {
  probe(file: string, opts?: { signal?: AbortSignal }): Promise<ProbeResult>;
  /**
   * Decodes the first picture (an image, a video's first frame) with one thread, strict error
   * checks and a cap on each allocation; null when it does not decode. Callers bound the picture's
   * size first (from the header): this is the proof that the bytes really are a picture.
   */
  firstPicture(file: string, opts?: { signal?: AbortSignal }): Promise<PictureProbe | null>;
}

/** The largest picture the rules allow, 6000×6000, at 16 bits × 4 channels, plus room for padding. */
const MAX_PICTURE_ALLOC_BYTES = 6000 * 6000 * 8 + 16 * 1024 * 1024;
/** A few packets, so a decoder that needs more than one before its first picture still shows it. */
const FIRST_PICTURE_PACKETS = 5;

/** What clients are told when ffprobe cannot read a file; ffprobe's own words go to the log. */
export const UNDECODABLE = 'the file could not be decoded: it is damaged, truncated or not a complete media file';

export interface FfprobeBinary {
  path: string;
  source: 'env' | 'path' | 'npm';
}

const DEFAULT_TIMEOUT_MS = 30_000;
const MAX_OUTPUT_BYTES = 4 * 1024 * 1024;

/** VIDGATE_FFPROBE, else `ffprobe` on PATH, else the binary of @ffprobe-installer/ffprobe. */
export async function locateFfprobe(envPath?: string, searchPath = process.env.PATH ?? ''): Promise<FfprobeBinary> {
  const { path, source } = await locateBinary({
    name: 'ffprobe',
    setting: 'VIDGATE_FFPROBE',
    configured: envPath,
    searchPath,
    npmPackage: '@ffprobe-installer/ffprobe',
    check: async (file) => ((await isExecutable(file)) ? true : null),
  });
  return { path, source };
}

/** Runs ffprobe directly (argument array, no shell) with a time limit. */
export class FfprobeProber implements MediaProber {
  constructor(
    private readonly binary: string,
    private readonly timeoutMs = DEFAULT_TIMEOUT_MS,
  ) {}

  async probe(file: string, opts: { signal?: AbortSignal } = {}): Promise<ProbeResult> {
    // `file:` keeps ffprobe from reading a name as another protocol (concat:, http:, …).
    const stdout = await this.run(['-v', 'error', '-of', 'json', '-show_streams', '-show_format', `file:${file}`], opts.signal);
    let parsed: FfprobeOutput;
    try {
      parsed = JSON.parse(stdout) as FfprobeOutput;
    } catch {
      throw invalidMedia('the file could not be read as media (ffprobe gave no usable answer)');
    }
    return summarize(parsed);
  }

  async firstPicture(file: string, opts: { signal?: AbortSignal } = {}): Promise<PictureProbe | null> {
    const stdout = await this.run(
      [
        '-v',
        'error',
        '-threads',
        '1',
        '-max_alloc',
        String(MAX_PICTURE_ALLOC_BYTES),
        '-err_detect',
        'explode',
        '-select_streams',
        'v:0',
        '-read_intervals',
        `%+#${FIRST_PICTURE_PACKETS}`,
        '-show_frames',
        '-show_entries',
        'frame=width,height,pix_fmt',
        '-of',
        'json',
        `file:${file}`,
      ],
      opts.signal,
    );
    let frames: Array<{ width?: number; height?: number; pix_fmt?: string }>;
    try {
      frames = (JSON.parse(stdout) as { frames?: typeof frames }).frames ?? [];
    } catch {
      return null;
    }
    const first = frames.find((f) => positive(f.width) && positive(f.height) && f.pix_fmt);
    return first ? { width: first.width!, height: first.height!, pixelFormat: first.pix_fmt! } : null;
  }

  private run(args: string[], signal: AbortSignal | undefined): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(
        this.binary,
        args,
        { timeout: this.timeoutMs, killSignal: 'SIGKILL', maxBuffer: MAX_OUTPUT_BYTES, signal, windowsHide: true },
        (error, stdout, stderr) => {
          if (!error) return resolve(stdout);
          if (signal?.aborted) return reject(signal.reason);
          if (error.killed) return reject(invalidMedia(`probing the file took longer than ${this.timeoutMs / 1000} s`));
          if (typeof error.code === 'string') return reject(error); // ENOENT, EACCES: our fault, not the file's
          // ffprobe's words name our file paths and its internals: the log gets them, the client a plain reason.
          const said = String(stderr).trim().split('\n').slice(-5).join('\n').slice(0, 1000) || error.message;
          reject(invalidMedia(UNDECODABLE, said));
        },
      );
    });
  }
}

interface FfprobeStream {
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  duration?: string;
  disposition?: { attached_pic?: number };
}

interface FfprobeOutput {
  streams?: FfprobeStream[];
  format?: { duration?: string };
}

function summarize(parsed: FfprobeOutput): ProbeResult {
  const streams = parsed.streams ?? [];
  const visual = streams.find((s) => s.codec_type === 'video');
  const moving = streams.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
  const audio = streams.find((s) => s.codec_type === 'audio');
  return {
    width: positive(visual?.width),
    height: positive(visual?.height),
    durationSec: duration(parsed, streams),
    fps: moving ? frameRate(moving) : undefined,
    hasVideo: moving !== undefined,
    hasAudio: audio !== undefined,
    videoCodec: visual?.codec_name,
    audioCodec: audio?.codec_name,
  };
}

function duration(parsed: FfprobeOutput, streams: FfprobeStream[]): number | undefined {
  const fromFormat = positive(Number(parsed.format?.duration));
  if (fromFormat !== undefined) return fromFormat;
  const fromStreams = streams.map((s) => Number(s.duration)).filter((d) => Number.isFinite(d) && d > 0);
  return fromStreams.length ? Math.max(...fromStreams) : undefined;
}

/** The average rate is what a viewer sees; r_frame_rate (the timebase guess) is the fallback. */
function frameRate(stream: FfprobeStream): number | undefined {
  return ratio(stream.avg_frame_rate) ?? ratio(stream.r_frame_rate);
}

function ratio(value: string | undefined): number | undefined {
  const [num, den] = (value ?? '').split('/').map(Number);
  return num !== undefined && den ? positive(num / den) : undefined;
}

function positive(n: number | undefined): number | undefined {
  return n !== undefined && Number.isFinite(n) && n > 0 ? n : undefined;
}
