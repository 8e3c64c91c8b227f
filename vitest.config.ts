import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Provisions the system programs some tests need and logs which ffmpeg, ffprobe and speech engine run.
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Renders are CPU-bound; two files at a time suit the 2-core machines this runs on.
    maxWorkers: 2,
  },
});
