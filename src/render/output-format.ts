/** The output frame rate (README: Output), and the audio rate every renderer writes. */
export const FPS = 24;
export const SAMPLE_RATE = 48_000;
/** AAC's frame size: audio is re-chunked to it before the encoder (ffmpeg 5.1 refuses bigger frames). */
export const AAC_FRAME_SAMPLES = 1024;

/** Output size checks shared by every renderer. */
export function assertOutput(job: { width: number; height: number; durationSeconds: number; seed: number }): void {
  const evenSize = (n: number): boolean => Number.isInteger(n) && n >= 16 && n % 2 === 0;
  if (!evenSize(job.width) || !evenSize(job.height)) {
    throw new RangeError(`output size must be even integers >= 16, got ${job.width}x${job.height}`);
  }
  if (!Number.isInteger(job.durationSeconds) || job.durationSeconds < 1) {
    throw new RangeError(`durationSeconds must be a positive integer, got ${job.durationSeconds}`);
  }
  if (!Number.isInteger(job.seed) || job.seed < 0 || job.seed > 0xffff_ffff) {
    throw new RangeError(`seed must be an integer in 0..4294967295, got ${job.seed}`);
  }
}
