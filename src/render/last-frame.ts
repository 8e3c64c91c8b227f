import { runFfmpeg, type FfmpegBinary } from './ffmpeg.js';
import { FPS } from './output-format.js';
import { num } from './filter-syntax.js';

/**
 * Writes the final frame of a finished render as a PNG, decoded from the MP4 itself, so it is exactly
 * the picture the video ends on. Seeking half a frame before it makes ffmpeg decode from the last
 * keyframe and drop everything earlier: one decoder's memory, no queue of full-size frames.
 */
export async function extractLastFrame(ffmpeg: FfmpegBinary, video: string, totalFrames: number, outPng: string, signal?: AbortSignal): Promise<void> {
  const seek = Math.max(0, (totalFrames - 1.5) / FPS);
  await runFfmpeg(ffmpeg, ['-ss', num(seek), '-i', video, '-map', '0:v:0', '-frames:v', '1', '-update', '1', '-flags', '+bitexact', '-y', outPng], { signal });
}
