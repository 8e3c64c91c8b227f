import { describe, expect, it } from 'vitest';
import { contentRange, readRange } from '../../src/storage/byte-ranges.js';

// The same reading as @fastify/send's, which serves files from disk (test/api/s3-storage.test.ts compares the two over HTTP).
describe('readRange', () => {
  it.each([
    [undefined, { kind: 'whole' }],
    ['items=0-5', { kind: 'whole' }],
    ['bytes=0-99', { kind: 'range', range: { start: 0, end: 99 } }],
    ['bytes=900-5000', { kind: 'range', range: { start: 900, end: 999 } }],
    ['bytes=-100', { kind: 'range', range: { start: 900, end: 999 } }],
    ['bytes=250-', { kind: 'range', range: { start: 250, end: 999 } }],
    ['bytes=0-10,5-20', { kind: 'range', range: { start: 0, end: 20 } }],
    ['bytes=0-10,11-20', { kind: 'range', range: { start: 0, end: 20 } }],
    ['bytes=0-1,5-9', { kind: 'whole' }],
    ['bytes=1000-', { kind: 'unsatisfiable' }],
    ['bytes=20-10', { kind: 'unsatisfiable' }],
    ['bytes=abc', { kind: 'unsatisfiable' }],
    ['bytes=-2000', { kind: 'unsatisfiable' }],
  ])('%s of 1000 bytes is %j', (header, expected) => {
    expect(readRange(header, 1000)).toEqual(expected);
  });

  it('writes Content-Range', () => {
    expect(contentRange(1000, { start: 0, end: 99 })).toBe('bytes 0-99/1000');
    expect(contentRange(1000)).toBe('bytes */1000');
  });
});
