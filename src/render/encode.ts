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

/**
 * The filter graph runs on ffmpeg's main thread, which also feeds x264; slice-threading the filters
 * on top only makes their workers fight x264's frame threads for the cores (on 2 cores a 720p text
 * render took 600 ms with the default filter threads and 500 ms with one). Goes before the inputs.
 */
export function filterThreadArgs(): string[] {
  return ['-filter_complex_threads', '1'];
}

/** H.264 yuv420p at the output rate, deterministic. */
export function videoEncoderArgs(): string[] {
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
    X264_THREADS,
    '-flags:v',
    '+bitexact',
  ];
}

export function audioEncoderArgs(): string[] {
  return ['-c:a', 'aac', '-b:a', '128k', '-flags:a', '+bitexact'];
}

/** moov first for streaming, and no metadata that would differ between runs. */
export function containerArgs(outVideo: string): string[] {
  return ['-movflags', '+faststart', '-fflags', '+bitexact', '-map_metadata', '-1', '-y', outVideo];
}
