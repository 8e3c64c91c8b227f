import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { deflateSync } from 'node:zlib';
import { ffmpegBinary } from '../helpers/media-tools.js';

/**
 * PNG files written byte by byte, for headers no encoder would write: any claimed size (0×0,
 * 60000×60000), no image data at all, or a huge picture of zeros that compresses to almost nothing.
 */

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Buffer): number {
  let c = 0xffffffff;
  for (const byte of bytes) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const typed = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typed));
  return Buffer.concat([length, typed, crc]);
}

export interface CraftedPng {
  width: number;
  height: number;
  /** 8 or 16 bits per sample; default 8. */
  bitDepth?: 8 | 16;
  /** Compressed image data; absent = a file that ends right after its header (IHDR, then IEND). */
  idat?: Buffer;
}

/** RGB PNG (colour type 2) with exactly the given chunks. */
export function craftedPng({ width, height, bitDepth = 8, idat }: CraftedPng): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([bitDepth, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    ...(idat ? [chunk('IDAT', idat)] : []),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Image data for `rows` all-black RGB rows (filter byte 0 each), compressed. */
export function blackRows(width: number, rows: number, bitDepth: 8 | 16 = 8): Buffer {
  return deflateSync(Buffer.alloc(rows * (1 + width * 3 * (bitDepth / 8))), { level: 9 });
}

/** The largest image the rules allow at the most bits: 6000×6000 black at 16 bits per channel, written by ffmpeg. */
export async function writeLargestDeepPng(path: string): Promise<void> {
  await promisify(execFile)((await ffmpegBinary()).path, [
    '-v',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    'color=black:s=6000x6000',
    '-frames:v',
    '1',
    '-pix_fmt',
    'rgb48be',
    path,
  ]);
}
