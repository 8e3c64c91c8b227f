import { randomFillSync } from 'node:crypto';
import { ulid } from 'ulid';

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

/** A new ULID: time-ordered to the millisecond, unguessable after that. */
export const newUlid = (): string => ulid(Date.now(), cryptoPrng);
