import { rm } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { startFakeArk } from '../helpers/upstreams/fake-ark.js';
import { writeArkConfig } from '../helpers/upstreams/ark-config.js';
import { createAccountWithKey } from '../../src/auth/keys.js';
import { openTestStore } from '../helpers/test-store.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const clean of cleanups.splice(0).reverse()) await clean();
});

const TASKS = 50;
const BODY = { model: 'doubao-seedance-2.0', prompt: 'A kitten yawning at the camera', resolution: '480p', duration: 4 };

describe('gateway restart with upstream tasks in flight', () => {
  it(`all ${TASKS} running upstream tasks complete after a restart, each submitted and charged once`, async () => {
    const ark = await startFakeArk({ lifecycle: { queued: 1, running: Infinity } });
    cleanups.push(() => ark.close());
    const config = await writeArkConfig({
      baseUrl: ark.baseUrl,
      models: { 'doubao-seedance-2.0': 'doubao-seedance-2-0-260128' },
      settings: { max_in_flight: TASKS, first_poll_ms: 5, max_poll_ms: 50 },
    });
    cleanups.push(config.remove);
    const configFile = config.file;
    const env = {
      VIDGATE_CONFIG: configFile,
      VIDGATE_MEDIA_ALLOW_HOSTS: '127.0.0.1',
      VIDGATE_SHUTDOWN_GRACE_SECONDS: '600',
      VIDGATE_DEFAULT_IN_FLIGHT: '1000',
    };
    const first: TestApp = await startTestApp(env);
    const dataDir = first.dataDir;
    cleanups.push(() => rm(dataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 }));
    let firstOpen = true;
    cleanups.push(async () => void (firstOpen && (await first.app.close())));

    const customer = await createAccountWithKey(first.app.store, { name: 'c', balanceUsd: 100 });
    const headers = { authorization: `Bearer ${customer.secret}`, 'content-type': 'application/json' };
    const ids: string[] = [];
    for (let i = 0; i < TASKS; i++) {
      const res = await first.app.server.inject({ method: 'POST', url: '/v1/videos/generations', headers, payload: JSON.stringify(BODY) });
      expect(res.statusCode, res.body).toBe(200);
      ids.push(res.json().data[0].task_id);
    }
    const price = (await first.app.store.getTask(ids[0]!))!.costMicros;
    expect(price).toBeGreaterThan(0);

    // Every task is submitted upstream and seen running there.
    await expect.poll(() => ark.tasks().filter((task) => task.status === 'running').length, { timeout: 30_000 }).toBe(TASKS);
    // They only wait for the upstream, so a shutdown hands them back at once instead of using its
    // 10-minute grace, and leaves them `processing`: the upstream still works on them.
    await expect.poll(async () => (await Promise.all(ids.map((id) => first.app.store.getTask(id)))).every((t) => t!.status === 'processing')).toBe(true);
    await first.app.close();
    firstOpen = false;
    const between = await openTestStore(dataDir);
    const held = await Promise.all(ids.map((id) => between.getTask(id)));
    await between.close();
    expect(held.map((t) => [t!.status, t!.leaseOwner])).toEqual(ids.map(() => ['processing', null]));

    // While the gateway is down the upstream finishes half of them; the rest finish after it is back.
    const upstream = ark.tasks();
    for (const task of upstream.slice(0, TASKS / 2)) ark.advance(task.id, 'succeeded');
    const again = await startTestApp(env, { dataDir });
    cleanups.push(() => again.app.close());
    await expect.poll(() => upstream.slice(TASKS / 2).every((task) => task.polls > 2), { timeout: 30_000 }).toBe(true);
    for (const task of upstream.slice(TASKS / 2)) ark.advance(task.id, 'succeeded');
    const done = await Promise.all(ids.map((id) => again.settled(id)));

    expect(done.map((task) => task.status)).toEqual(ids.map(() => 'completed'));
    expect(ark.submissions()).toHaveLength(TASKS);
    expect(new Set(done.map((task) => (task.providerState as { data: { upstreamId: string } }).data.upstreamId)).size).toBe(TASKS);
    const ledger = await again.app.store.listLedger(customer.key.accountId, 10_000);
    for (const id of ids) {
      const kinds = ledger.filter((e) => e.taskId === id).map((e) => e.kind);
      expect(
        kinds.filter((k) => k === 'reserve'),
        id,
      ).toHaveLength(1);
      expect(
        kinds.filter((k) => k === 'refund'),
        id,
      ).toHaveLength(0);
    }
    expect(done.every((task) => task.costMicros === price)).toBe(true);
    expect((await again.app.store.getAccount(customer.key.accountId))!.balanceMicros).toBe(100_000_000 - TASKS * price);
  }, 120_000);
});
