import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FreeSpace } from '../../src/storage/free-space.js';
import { FreeSpaceCheck, statfsFreeSpace } from '../../src/storage/free-space.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';

/**
 * /readyz is 503 while the data directory's file system has less than 100 MB free (a render would
 * fail writing its result), with the reason in its checks; the free space is read at most every
 * few seconds.
 */

const MB = 1024 * 1024;

describe('/readyz and the free disk space', () => {
  let t: TestApp;
  let space: FreeSpace | Error = { freeBytes: 50_000 * MB, totalBytes: 100_000 * MB };
  const reads: string[] = [];

  beforeAll(async () => {
    t = await startTestApp(
      {},
      {
        runDispatcher: false,
        freeSpace: async (dir) => {
          reads.push(dir);
          if (space instanceof Error) throw space;
          return space;
        },
      },
    );
  });
  afterAll(() => t?.close());

  const readyz = async () => {
    const res = await t.app.server.inject({ method: 'GET', url: '/readyz' });
    return { status: res.statusCode, body: res.json() as { status: string; checks: Record<string, string> } };
  };
  /** Past the cache of the last reading. */
  const later = () => t.advanceClock(6_000);

  it('is ready with room on the disk, reading the data directory', async () => {
    const { status, body } = await readyz();
    expect(status).toBe(200);
    expect(body).toMatchObject({ status: 'ready', checks: { disk: 'ok (50000 MB free)', database: 'ok' } });
    expect(reads).toEqual([t.dataDir]);
  });

  it('is not ready below 100 MB free, and ready again once there is room', async () => {
    later();
    space = { freeBytes: 99 * MB, totalBytes: 100_000 * MB };
    const full = await readyz();
    expect(full.status).toBe(503);
    expect(full.body).toMatchObject({
      status: 'not_ready',
      checks: { disk: "only 99 MB free on the data directory's file system; at least 100 MB needed", database: 'ok', shutdown: 'no' },
    });

    later();
    space = { freeBytes: 100 * MB, totalBytes: 100_000 * MB };
    expect((await readyz()).status).toBe(200);
  });

  it('is not ready when the free space cannot be read', async () => {
    later();
    space = Object.assign(new Error('EIO: i/o error, statfs'), { code: 'EIO' });
    const res = await readyz();
    expect(res.status).toBe(503);
    expect(res.body.checks.disk).toBe('free space could not be read: EIO');
    space = { freeBytes: 50_000 * MB, totalBytes: 100_000 * MB };
  });

  it('reads the disk at most once every few seconds, however often it is asked', async () => {
    later();
    const before = reads.length;
    const answers = await Promise.all(Array.from({ length: 20 }, () => readyz()));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    t.advanceClock(4_000);
    await readyz();
    expect(reads.length - before).toBe(1);
    t.advanceClock(2_000);
    await readyz();
    expect(reads.length - before).toBe(2);
  });
});

describe('statfsFreeSpace', () => {
  it('reads this machine’s file system', async () => {
    const { freeBytes, totalBytes } = await statfsFreeSpace(process.cwd());
    expect(totalBytes).toBeGreaterThan(0);
    expect(freeBytes).toBeGreaterThan(0);
    expect(freeBytes).toBeLessThanOrEqual(totalBytes);
    const verdict = await new FreeSpaceCheck(process.cwd(), { minFreeBytes: totalBytes + 1 }).check();
    expect(verdict.ok).toBe(false);
  });
});
