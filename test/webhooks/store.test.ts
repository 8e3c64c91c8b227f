import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/types.js';
import { createTestDatabase } from '../helpers/postgres-server.js';
import { insertTask, newTask, seedAccount } from '../helpers/store-fixtures.js';

/** The same outbox on both stores: the rule is shared (src/webhooks/outbox.ts), each store writes it. */
const STORES: ReadonlyArray<[string, () => Promise<{ store: Store; dispose: () => Promise<void> }>]> = [
  [
    'SQLite',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'vidgate-webhook-store-'));
      const store = new SqliteStore(join(dir, 'db.sqlite'));
      return { store, dispose: async () => (await store.close(), await rm(dir, { recursive: true, force: true })) };
    },
  ],
  [
    'PostgreSQL',
    async () => {
      const database = await createTestDatabase(inject('postgresAdminUrl'));
      const store = await PostgresStore.open(database.url);
      return { store, dispose: async () => (await store.close(), await database.drop()) };
    },
  ],
];

describe.each(STORES)('the webhook outbox (%s)', (_name, open) => {
  let store: Store;
  let dispose: () => Promise<void>;
  let owner: { accountId: string; keyId: string };
  const HOOK = 'https://hooks.example.com/vidgate';

  beforeEach(async () => {
    ({ store, dispose } = await open());
    owner = await seedAccount(store);
  });
  afterEach(() => dispose());

  const claimTask = (now = Date.now()) => store.claimTasks({ owner: 'W', now, leaseMs: 60_000, limit: 1, providers: ['local'] });
  const events = async (taskId: string) => (await store.listWebhookDeliveries({ taskId, limit: 10 })).map((d) => d.event).reverse();
  const file = { key: 'k', bytes: 1, contentType: 'video/mp4' };

  it('queues one delivery per status change in the transaction that makes it, once per status', async () => {
    const task = newTask(owner, { callbackUrl: HOOK });
    await insertTask(store, task);
    expect(await events(task.id)).toEqual([]);
    await claimTask();
    expect(await events(task.id)).toEqual(['processing']);
    // Given back to the queue and claimed again: no second announcement.
    expect(await store.releaseTask({ id: task.id, owner: 'W' })).toBe(true);
    await claimTask();
    await store.reportProgress({ id: task.id, owner: 'W' }, 40);
    expect(await store.completeTask({ id: task.id, owner: 'W' }, { video: file, lastFrame: null, expiresAt: Date.now() + 1000 }, Date.now(), 1)).toBe(true);
    const [completed, processing] = await store.listWebhookDeliveries({ taskId: task.id, limit: 10 });
    expect(processing).toMatchObject({ event: 'processing', progress: 0, url: HOOK, state: 'pending', attempts: 0, accountId: owner.accountId });
    expect(completed).toMatchObject({ event: 'completed', progress: 100, url: HOOK, state: 'pending' });
    expect(completed!.id).toMatch(/^msg_[0-9a-f]{32}$/);
    expect(completed!.id).not.toBe(processing!.id);

    const failing = newTask(owner, { callbackUrl: HOOK });
    await insertTask(store, failing);
    await claimTask();
    await store.failTask({ id: failing.id, owner: 'W' }, { code: 'render_failed', params: { detail: 'x' } }, Date.now());
    expect(await events(failing.id)).toEqual(['processing', 'failed']);

    const cancelled = newTask(owner, { callbackUrl: HOOK });
    await insertTask(store, cancelled);
    await store.cancelTask(cancelled.id, owner.accountId, Date.now());
    expect(await events(cancelled.id)).toEqual(['cancelled']);
  });

  it("uses the key's default when the task names no URL, and queues nothing without either", async () => {
    const quiet = newTask(owner);
    await insertTask(store, quiet);
    await claimTask();
    expect(await events(quiet.id)).toEqual([]);
    const defaulted = newTask(owner);
    await insertTask(store, defaulted);
    expect(await store.setApiKeyCallbackUrl(owner.keyId, 'https://default.example.com/h')).toBe(true);
    expect((await store.getApiKey(owner.keyId))!.callbackUrl).toBe('https://default.example.com/h');
    await claimTask();
    const [d] = await store.listWebhookDeliveries({ taskId: defaulted.id, limit: 10 });
    expect(d).toMatchObject({ event: 'processing', url: 'https://default.example.com/h' });
  });

  it('leases deliveries, fences late writers out, and moves them on by outcome', async () => {
    const task = newTask(owner, { callbackUrl: HOOK });
    await insertTask(store, task);
    await claimTask();
    const now = Date.now();
    const [mine] = await store.claimWebhookDeliveries({ owner: 'A', now, leaseMs: 1000, limit: 10 });
    expect(mine).toMatchObject({ event: 'processing', leaseOwner: 'A', leaseExpiresAt: now + 1000 });
    expect(await store.claimWebhookDeliveries({ owner: 'B', now: now + 999, leaseMs: 1000, limit: 10 })).toEqual([]);
    expect(await store.nextWebhookDue()).toBe(now + 1000);

    const guardA = { id: mine!.id, owner: 'A' };
    expect(await store.saveWebhookBody(guardA, '{"code":200}')).toBe(true);
    const attempt = { startedAt: now, durationMs: 5, statusCode: 500, error: 'HTTP 500' };
    expect(await store.recordWebhookAttempt(guardA, attempt, { delivered: false, statusCode: 500, error: 'HTTP 500', retryAt: now + 50 })).toBe(true);
    let d = (await store.getWebhookDelivery(mine!.id))!;
    expect(d).toMatchObject({
      state: 'pending',
      attempts: 1,
      nextAttemptAt: now + 50,
      leaseOwner: null,
      lastStatus: 500,
      lastError: 'HTTP 500',
      body: '{"code":200}',
    });

    // A's lease ran out and B took the delivery: A's late write lands nowhere.
    const [taken] = await store.claimWebhookDeliveries({ owner: 'B', now: now + 50, leaseMs: 1000, limit: 10 });
    expect(taken!.id).toBe(mine!.id);
    expect(await store.recordWebhookAttempt(guardA, attempt, { delivered: true, statusCode: 200 })).toBe(false);
    // Given back without counting an attempt.
    expect(await store.releaseWebhookDelivery({ id: mine!.id, owner: 'B' }, now + 60)).toBe(true);
    expect((await store.getWebhookDelivery(mine!.id))!).toMatchObject({ attempts: 1, nextAttemptAt: now + 60, leaseOwner: null });

    const [again] = await store.claimWebhookDeliveries({ owner: 'C', now: now + 60, leaseMs: 1000, limit: 10 });
    expect(await store.listWebhookLeaseOwners('C')).toEqual(['C']);
    expect(await store.expireWebhookLeases('C')).toBe(1);
    const [finalClaim] = await store.claimWebhookDeliveries({ owner: 'D', now: now + 60, leaseMs: 1000, limit: 10 });
    expect(finalClaim!.id).toBe(again!.id);
    expect(
      await store.recordWebhookAttempt({ id: again!.id, owner: 'D' }, { ...attempt, statusCode: 204, error: null }, { delivered: true, statusCode: 204 }),
    ).toBe(true);
    d = (await store.getWebhookDelivery(mine!.id))!;
    expect(d).toMatchObject({ state: 'delivered', attempts: 2, nextAttemptAt: null, lastStatus: 204, lastError: null });
    expect(await store.nextWebhookDue()).toBeNull();
    expect((await store.listWebhookAttempts([d.seq])).map((a) => [a.attempt, a.statusCode, a.owner])).toEqual([
      [1, 500, 'A'],
      [2, 204, 'D'],
    ]);

    expect(await store.retryWebhookDelivery(d.id, now + 100)).toBe(true);
    expect(await store.retryWebhookDelivery(d.id, now + 100)).toBe(false);
    expect((await store.getWebhookDelivery(d.id))!).toMatchObject({ state: 'pending', attempts: 2, nextAttemptAt: now + 100 });
  });

  it('keeps one secret per account and the previous one through a rotation', async () => {
    expect(await store.getWebhookSecret(owner.accountId)).toBeNull();
    const first = await store.ensureWebhookSecret(owner.accountId, 'whsec_first', 1);
    expect(await store.ensureWebhookSecret(owner.accountId, 'whsec_other', 2)).toEqual(first);
    const rotated = await store.rotateWebhookSecret(owner.accountId, 'whsec_second', 3, 1000);
    expect(rotated).toMatchObject({ secret: 'whsec_second', previous: 'whsec_first', previousUntil: 1000, createdAt: 3 });
    const dropped = await store.rotateWebhookSecret(owner.accountId, 'whsec_third', 4, null);
    expect(dropped).toMatchObject({ secret: 'whsec_third', previous: null, previousUntil: null });
  });

  it('reads the state of many watched tasks in one query', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const task = newTask(owner);
      await insertTask(store, task);
      ids.push(task.id);
    }
    const states = await store.getTaskStates([...ids, 'task_missing']);
    expect(states.map((s) => s.id).sort()).toEqual([...ids].sort());
    expect(states.every((s) => s.status === 'pending' && s.progress === 0)).toBe(true);
  });
});
