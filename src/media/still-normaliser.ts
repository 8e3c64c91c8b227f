import { runFfmpeg, type FfmpegBinary } from '../render/ffmpeg.js';
import type { PictureProbe } from './probe.js';

/** No output frame has a side longer than 4K's 3840 px (README: Output); more is decoded only to be scaled away. */
export const LARGEST_OUTPUT_SIDE = 3840;

/** Pixel formats with more than 8 bits per component: ffmpeg names them with their depth and byte order. */
const DEEP_PIXEL_FORMAT = /(?:9|10|12|14|16|48|64|f16|f32)(?:be|le)$/;

/** Same cap as the first-picture probe: the largest allowed image at 16 bits × 4 channels, plus padding. */
const MAX_ALLOC_BYTES = 6000 * 6000 * 8 + 16 * 1024 * 1024;

/**
 * Whether an image costs the renderer far more than any output needs: deep colour (a 6000×6000
 * 16-bit PNG decodes to 216 MB, and every render would decode it again) or sides beyond the
 * largest output.
 */
export function needsNormalising(picture: PictureProbe): boolean {
  return DEEP_PIXEL_FORMAT.test(picture.pixelFormat) || Math.max(picture.width, picture.height) > LARGEST_OUTPUT_SIDE;
}

/**
 * Writes the first picture of `source` as an 8-bit PNG (keeping alpha when it has some) no larger
 * than the largest output, same aspect: the copy renders read instead, once per image rather than
 * once per task.
 */
export async function writeNormalisedStill(ffmpeg: FfmpegBinary, source: string, picture: PictureProbe, outPng: string, signal?: AbortSignal): Promise<void> {
  const filters = [
    ...(Math.max(picture.width, picture.height) > LARGEST_OUTPUT_SIDE
      ? [`scale=${LARGEST_OUTPUT_SIDE}:${LARGEST_OUTPUT_SIDE}:force_original_aspect_ratio=decrease:flags=area`]
      : []),
    'format=rgb24|rgba',
  ];
  await runFfmpeg(
    ffmpeg,
    [
      '-threads',
      '1',
      '-filter_threads',
      '1',
      '-max_alloc',
      String(MAX_ALLOC_BYTES),
      '-i',
      `file:${source}`,
      '-frames:v',
      '1',
      '-vf',
      filters.join(','),
      '-c:v',
      'png',
      '-compression_level',
      '3',
      '-flags',
      '+bitexact',
      '-fflags',
      '+bitexact',
      '-f',
      'image2',
      '-update',
      '1',
      '-y',
      outPng,
    ],
    { signal },
  );
}
