import { open, type FileHandle } from 'node:fs/promises';
import { imageSize } from 'image-size';
import { invalidMedia } from './errors.js';

export interface ImageHeader {
  width: number;
  height: number;
}

/**
 * Where the header is looked for first. JPEG keeps its size after the metadata segments (EXIF, ICC
 * profiles: rarely more than a few hundred KB) and TIFF wherever its directory was written (often
 * at the end), so when the first window is not enough the whole file is read, up to the largest
 * image the rules allow.
 */
const FIRST_WINDOW_BYTES = 1024 * 1024;
const WHOLE_FILE_LIMIT_BYTES = 32 * 1024 * 1024;

export const HEADER_UNREADABLE = 'the width and height could not be read from the image header (the file is damaged, truncated or not a complete image)';

/**
 * The image's size as its header states it, read in plain JavaScript without decoding a pixel, so a
 * file that claims a huge picture is refused before any decoder allocates memory for it.
 */
export async function readImageHeader(path: string): Promise<ImageHeader> {
  const file = await open(path, 'r');
  try {
    const { size } = await file.stat();
    const first = sizeIn(await readStart(file, Math.min(size, FIRST_WINDOW_BYTES)));
    if (first) return first;
    const whole = size > FIRST_WINDOW_BYTES ? sizeIn(await readStart(file, Math.min(size, WHOLE_FILE_LIMIT_BYTES))) : null;
    if (whole) return whole;
    throw invalidMedia(HEADER_UNREADABLE);
  } finally {
    await file.close();
  }
}

async function readStart(file: FileHandle, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await file.read(buffer, 0, length, 0);
  return buffer.subarray(0, bytesRead);
}

function sizeIn(bytes: Buffer): ImageHeader | null {
  try {
    const { width, height } = imageSize(bytes);
    return Number.isInteger(width) && Number.isInteger(height) ? { width, height } : null;
  } catch {
    // image-size throws on anything it cannot make sense of (cut short, unknown, inconsistent).
    return null;
  }
}
