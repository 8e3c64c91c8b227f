import { open, rename, rm } from 'node:fs/promises';
import { fileTypeFromBuffer } from 'file-type';
import { MediaProblem } from '../../media/errors.js';
import { acceptType, sniffFile, type SniffedType } from '../../media/sniff.js';
import { runFfmpeg, type FfmpegBinary } from '../../render/ffmpeg.js';
import { TaskFailureError } from '../types.js';

const failure = (detail: string) => new TaskFailureError({ code: 'provider_error', params: { detail } });

/** file-type's own sample size: what its detection streams read before deciding. */
const HEAD_BYTES = 4100;

/**
 * The type of a file by its first bytes, read at once, as file-type's detection streams do. Video
 * containers tell what they are there, and a result check runs for every task that completes: one
 * read instead of the several a file tokenizer makes, each a trip through the thread pool.
 */
async function sniffHead(path: string): Promise<{ ext: string; mime: string } | undefined> {
  const file = await open(path, 'r');
  try {
    const head = Buffer.allocUnsafe(HEAD_BYTES);
    const { bytesRead } = await file.read(head, 0, HEAD_BYTES, 0);
    return await fileTypeFromBuffer(head.subarray(0, bytesRead));
  } finally {
    await file.close();
  }
}

/** What the upstream sent as the video must be one, by its bytes: an expired link can answer 200 with a page. */
export async function checkVideo(path: string): Promise<{ contentType: string }> {
  try {
    return { contentType: acceptType('video', await sniffHead(path)).mime };
  } catch (err) {
    if (err instanceof MediaProblem) throw failure(`the upstream's result is not a video: ${err.message}`);
    throw err;
  }
}

/** README: Output promises a PNG last frame: a PNG is kept as it is, any other image converted. */
export async function lastFrameAsPng(downloaded: string, png: string, ffmpeg: FfmpegBinary, signal: AbortSignal): Promise<void> {
  let found: SniffedType;
  try {
    found = acceptType('image', await sniffFile(downloaded));
  } catch (err) {
    if (err instanceof MediaProblem) throw failure(`the upstream's last frame is not an image: ${err.message}`);
    throw err;
  }
  if (found.format === 'png') return rename(downloaded, png);
  try {
    // -update 1: one file under its own name, though the work folder's name holds a '%' (ffmpeg 4.1 reads it as a pattern).
    await runFfmpeg(ffmpeg, ['-y', '-i', downloaded, '-frames:v', '1', '-f', 'image2', '-update', '1', '-c:v', 'png', png], { signal });
  } catch (err) {
    if (signal.aborted) throw err;
    throw failure(`the upstream's last frame (${found.format}) could not be converted to PNG: ${(err as Error).message}`);
  } finally {
    await rm(downloaded, { force: true });
  }
}
