import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config/env.js';
import type { FreeSpaceReader } from '../../src/storage/free-space.js';
import type { TaskRecord } from '../../src/store/types.js';
import { TERMINAL_STATUSES } from '../../src/store/types.js';
import { testStoreEnv } from './test-store.js';

export const TEST_KEY = 'sk-test-0123456789abcdef';

export interface TestApp {
  app: App;
  dataDir: string;
  /** Authorization header for the bootstrap key. */
  auth: { authorization: string };
  /** Moves the app's clock (signed URL expiry, leases) without waiting. */
  advanceClock(ms: number): void;
  /** Resolves when the task reaches a terminal status, driven by the dispatcher's own event. */
  settled(taskId: string): Promise<TaskRecord>;
  submit(body: unknown): Promise<string>;
  close(): Promise<void>;
}

export async function startTestApp(
  env: Record<string, string> = {},
  opts: {
    runDispatcher?: boolean;
    /** Reuse another app's data, as a restart would; left in place on close. */ dataDir?: string;
    /** Stands in for statfs of the data directory (readiness). */ freeSpace?: FreeSpaceReader;
  } = {},
): Promise<TestApp> {
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'vidgate-test-')));
  const config = loadConfig({
    VIDGATE_DATA_DIR: dataDir,
    VIDGATE_LOG_LEVEL: 'silent',
    VIDGATE_BOOTSTRAP_KEY: TEST_KEY,
    VIDGATE_LOCAL_CONCURRENCY: '2',
    VIDGATE_SHUTDOWN_GRACE_SECONDS: '0',
    // Suites make many requests with one key; the rate limit has its own tests.
    VIDGATE_DEFAULT_RPM: '1000000',
    VIDGATE_READ_RPM: '1000000',
    VIDGATE_ANONYMOUS_RPM: '1000000',
    ...(await testStoreEnv(dataDir)),
    ...env,
  });
  let offset = 0;
  const app = await createApp(config, {
    logger: pino({ level: 'silent' }),
    clock: () => Date.now() + offset,
    runDispatcher: opts.runDispatcher,
    freeSpace: opts.freeSpace,
  });
  const auth = { authorization: `Bearer ${TEST_KEY}` };

  const settled = (taskId: string) =>
    new Promise<TaskRecord>((resolve, reject) => {
      const check = async () => {
        const task = await app.store.getTask(taskId);
        if (task && TERMINAL_STATUSES.has(task.status)) {
          off();
          resolve(task);
        }
      };
      const off = app.dispatcher.onTaskSettled((id) => {
        if (id === taskId) check().catch(reject);
      });
      check().catch(reject);
    });

  const submit = async (body: unknown) => {
    const res = await app.server.inject({ method: 'POST', url: '/v1/videos/generations', headers: auth, payload: body as object });
    if (res.statusCode !== 200) throw new Error(`submit failed: ${res.statusCode} ${res.body}`);
    return res.json().data[0].task_id as string;
  };

  return {
    app,
    dataDir,
    auth,
    advanceClock: (ms) => (offset += ms),
    settled,
    submit,
    close: async () => {
      await app.close();
      // An encoder killed at close may still be letting go of its files: retry briefly.
      if (!opts.dataDir) await rm(dataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    },
  };
}
