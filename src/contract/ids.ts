import { randomFillSync } from 'node:crypto';
import { encodeTime, TIME_MAX, ulid } from 'ulid';

/**
 * ULIDs whose random part comes from the OS's cryptographic source, read through a pooled buffer:
 * the ulid package's default source asks the OS once per character, which costs more than a
 * whole status request. 256 is a multiple of 32, so each byte gives an unbiased base-32 digit.
 */
const pool = Buffer.alloc(4096);
let offset = pool.length;

function cryptoPrng(): number {
  if (offset >= pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  return pool[offset++]! / 256;
}

/** A new ULID: time-ordered to the millisecond (of `atMs`, now by default), unguessable after that. */
export const newUlid = (atMs: number = Date.now()): string => ulid(Math.min(Math.max(Math.floor(atMs), 0), TIME_MAX), cryptoPrng);

/**
 * The smallest ULID of the millisecond `ms` (clamped to what a ULID can hold): every ULID made at
 * `ms` or later sorts at or after it, every earlier one before it.
 */
export const ulidFloor = (ms: number): string => encodeTime(Math.min(Math.max(Math.floor(ms), 0), TIME_MAX), 10) + '0'.repeat(16);
