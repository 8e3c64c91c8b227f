import { defineConfig } from 'vitest/config';

/**
 * Suites that run a second time on PostgreSQL (VIDGATE_TEST_STORE=postgres: every app a test starts
 * gets its own database on the run's server): the contract as clients see it, money, events,
 * webhooks, assets, upstream channels and crash recovery. The store contract itself runs on both
 * stores inside test/store.
 */
const ON_POSTGRES = [
  'test/api/**/*.test.ts',
  'test/billing/**/*.test.ts',
  'test/events/**/*.test.ts',
  'test/webhooks/**/*.test.ts',
  'test/assets/**/*.test.ts',
  'test/providers/upstream-*.test.ts',
  'test/tasks/crash-recovery.test.ts',
];

export default defineConfig({
  test: {
    // Provisions the system programs some tests need, starts the PostgreSQL server and logs which
    // ffmpeg, ffprobe and speech engine run.
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Renders are CPU-bound; two files at a time suit the 2-core machines this runs on.
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'sqlite', include: ['test/**/*.test.ts'] } },
      {
        extends: true,
        // The webhook store's suite opens both stores itself.
        test: { name: 'postgres', include: ON_POSTGRES, exclude: ['test/webhooks/store.test.ts'], env: { VIDGATE_TEST_STORE: 'postgres' } },
      },
    ],
  },
});
