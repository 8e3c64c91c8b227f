import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FfmpegError, locateFfmpeg, runFfmpeg, type FfmpegBinary } from '../../src/render/ffmpeg.js';

const run = promisify(execFile);
let ffmpeg: FfmpegBinary;
let dir: string;
beforeAll(async () => {
  ffmpeg = await locateFfmpeg();
  dir = await mkdtemp(join(tmpdir(), 'vidgate-stall-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('ffmpeg runs that stop advancing', () => {
  it('an ffmpeg waiting on an input that never comes is killed, and says so', async () => {
    // A FIFO nobody writes to: ffmpeg blocks on it forever, as on a stream that yields no frame.
    const fifo = join(dir, 'never.raw');
    await run('mkfifo', [fifo]);
    const started = Date.now();
    const failure = await runFfmpeg(ffmpeg, ['-f', 'rawvideo', '-s', '16x16', '-pix_fmt', 'gray', '-i', fifo, '-f', 'null', '-'], { stallMs: 400 }).catch(
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(FfmpegError);
    expect((failure as FfmpegError).message).toBe('ffmpeg failed (no progress for 400 ms)');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('a run that keeps advancing is left alone, however long it takes beyond the stall time', async () => {
    const out = join(dir, 'ok.mp4');
    // Real time (-re) for 3 s: every progress report advances the output time.
    await runFfmpeg(ffmpeg, ['-re', '-f', 'lavfi', '-i', 'testsrc2=s=64x64:r=24:d=3', '-c:v', 'libx264', '-preset', 'ultrafast', '-y', out], {
      stallMs: 1_500,
    });
  }, 30_000);
});
