import { FPS } from './output-format.js';

/** The x264 settings of every render; the benchmark's ffmpeg floor uses the same ones. */
export const X264_PRESET = 'ultrafast';
/**
 * ultrafast drops the deblocking filter, which leaves visible block edges on smooth gradients; turning it
 * and CABAC back on matches superfast's quality here for about two thirds of its CPU time.
 */
export const X264_PARAMS = 'cabac=1:deblock=0,0';
export const X264_CRF = '23';
/** x264 output depends on its thread count, so it is pinned to keep renders identical across machines. */
export const X264_THREADS = '4';

/** Frames with more pixels than 1080p's (that is, 4k): x264's threading is chosen for memory there. */
const LARGE_FRAME_PIXELS = 1920 * 1088;
/**
 * At 4k, each of x264's frame threads holds frames of its own, ~40 MiB apiece: with 4 of them ffmpeg
 * peaks at ~316 MiB, which with the server's ~125 MiB breaks 400 MiB together; with 2, ~230 MiB. Two
 * frame threads still overlap the filter graph (on ffmpeg's main thread) with the encoding, which
 * slice threads (~197 MiB) do not: x264 encodes a sliced frame before ffmpeg filters the next. On 2
 * cores the CPU and wall time of 2 and 4 frame threads are alike; BENCHMARKS.md has the figures. Still
 * pinned, so 4k renders stay identical across machines too.
 */
export const LARGE_FRAME_X264_THREADS = '2';

/** x264's thread count for a frame size. */
export function x264Threads(frame: { width: number; height: number }): string {
  return frame.width * frame.height > LARGE_FRAME_PIXELS ? LARGE_FRAME_X264_THREADS : X264_THREADS;
}

/**
 * The filter graph runs on ffmpeg's main thread, which also feeds x264; slice-threading the filters
 * on top only makes their workers fight x264's frame threads for the cores (on 2 cores a 720p text
 * render took 600 ms with the default filter threads and 500 ms with one). Goes before the inputs.
 */
export function filterThreadArgs(): string[] {
  return ['-filter_complex_threads', '1'];
}

/** H.264 yuv420p at the output rate, deterministic; `frame` is the output size (it picks x264's threading). */
export function videoEncoderArgs(frame: { width: number; height: number }): string[] {
  return [
    '-c:v',
    'libx264',
    '-preset',
    X264_PRESET,
    '-crf',
    X264_CRF,
    '-pix_fmt',
    'yuv420p',
    '-r',
    String(FPS),
    '-x264-params',
    X264_PARAMS,
    '-threads:v',
    x264Threads(frame),
    '-flags:v',
    '+bitexact',
  ];
}

/**
 * AAC-LC at 128 kb/s with ffmpeg's fast coder and without mid/side stereo search: on this audio (a chord
 * bed, tones, speech) it keeps the waveform error lower than ffmpeg 5.1's default two-loop search with
 * M/S (about -80 against -77 dB, the signal near -31 dB), at a third of its CPU (~22 instead of ~62 ms
 * per 5 s). The npm-shipped ffmpeg 4.1 has both options too.
 */
export function audioEncoderArgs(): string[] {
  return ['-c:a', 'aac', '-aac_coder', 'fast', '-aac_ms', '0', '-b:a', '128k', '-flags:a', '+bitexact'];
}

/** moov first for streaming, and no metadata that would differ between runs. */
export function containerArgs(outVideo: string): string[] {
  return ['-movflags', '+faststart', '-fflags', '+bitexact', '-map_metadata', '-1', '-y', outVideo];
}
