import { describe, expect, it, beforeEach, afterEach } from 'vitest';
import type { Store } from '../../src/store/types.js';
import { insertTask, newTask, seedAccount } from '../helpers/store-fixtures.js';

/**
 * What every Store must do, whatever the database. The PostgreSQL store will run this same suite.
 */
export function storeContract(name: string, open: () => Promise<{ store: Store; dispose: () => Promise<void> }>) {
  describe(`${name} store contract`, () => {
    let store: Store;
    let dispose: () => Promise<void>;
    let owner: { accountId: string; keyId: string };
    const lease = 10_000;

    beforeEach(async () => {
      ({ store, dispose } = await open());
      owner = await seedAccount(store);
    });
    afterEach(() => dispose());

    const claim = (who: string, now: number, limit = 10) => store.claimTasks({ owner: who, now, leaseMs: lease, limit, providers: ['local'] });

    it('claims due tasks oldest first, up to the limit, under a lease', async () => {
      const ids = [];
      for (let i = 0; i < 3; i++) {
        const task = newTask(owner);
        ids.push(task.id);
        await insertTask(store, task);
      }
      const now = Date.now();
      const claimed = await claim('A', now, 2);
      expect(claimed.map((t) => t.id)).toEqual(ids.slice(0, 2));
      expect((await store.getTask(ids[2]!))!).toMatchObject({ status: 'pending', leaseOwner: null, attempts: 0 });
      for (const task of claimed) {
        expect(task).toMatchObject({ status: 'processing', leaseOwner: 'A', leaseExpiresAt: now + lease, attempts: 1, startedAt: now });
      }
      expect((await claim('B', now)).map((t) => t.id)).toEqual([ids[2]]);
      expect(await claim('C', now)).toEqual([]);
    });

    it('takes exactly `limit` tasks however many are due', async () => {
      for (let i = 0; i < 5; i++) await insertTask(store, newTask(owner));
      expect(await claim('A', Date.now(), 1)).toHaveLength(1);
      const all = await store.listTasks({ accountId: owner.accountId, limit: 10 });
      expect(all.filter((t) => t.status === 'processing')).toHaveLength(1);
      expect(all.filter((t) => t.status === 'pending')).toHaveLength(4);
    });

    it('only claims tasks of the providers asked for', async () => {
      await insertTask(store, newTask(owner, { provider: 'ark' }));
      expect(await claim('A', Date.now())).toEqual([]);
    });

    it('re-claims a task whose lease ran out, and fences the old holder out', async () => {
      const task = newTask(owner);
      await insertTask(store, task);
      const t0 = Date.now();
      await claim('A', t0);
      expect(await claim('B', t0 + lease - 1)).toEqual([]);
      const [taken] = await claim('B', t0 + lease);
      expect(taken).toMatchObject({ id: task.id, leaseOwner: 'B', attempts: 2, startedAt: t0 });

      const a = { id: task.id, owner: 'A' };
      expect(await store.renewLease(a, t0 + 99_999)).toBe(false);
      expect(await store.reportProgress(a, 50)).toBe(false);
      expect(await store.completeTask(a, { video: { key: 'x', bytes: 1, contentType: 'video/mp4' }, lastFrame: null, expiresAt: 1 }, t0, 0)).toBe(false);
      expect(await store.failTask(a, { code: 'internal_error', params: {} }, t0)).toBe(false);
      expect(await store.releaseTask(a)).toBe(false);
      expect((await store.getTask(task.id))!.leaseOwner).toBe('B');
    });

    it('completes once: a second completion by the same holder changes nothing', async () => {
      const task = newTask(owner);
      await insertTask(store, task);
      await claim('A', Date.now());
      const g = { id: task.id, owner: 'A' };
      const result = { video: { key: `${task.id}/t/video.mp4`, bytes: 10, contentType: 'video/mp4' }, lastFrame: null, expiresAt: 5_000 };
      expect(await store.completeTask(g, result, 1_000, 0)).toBe(true);
      expect(await store.completeTask(g, { ...result, expiresAt: 9 }, 2_000, 0)).toBe(false);
      expect(await store.failTask(g, { code: 'internal_error', params: {} }, 3_000)).toBe(false);
      const done = (await store.getTask(task.id))!;
      expect(done).toMatchObject({ status: 'completed', progress: 100, result, finishedAt: 1_000, leaseOwner: null, error: null });
    });

    it('keeps each task’s upstream cost: expected while unfinished and moved with it, exact with its margin once completed, none once it failed', async () => {
      const t0 = Date.now();
      const day = t0 - 1_000;
      const kept = newTask(owner, { provider: 'relay', costMicros: 264_000, upstreamCostMicros: 120_000 });
      const moved = newTask(owner, { provider: 'relay', costMicros: 264_000, upstreamCostMicros: 120_000 });
      const failed = newTask(owner, { provider: 'relay', costMicros: 264_000, upstreamCostMicros: 120_000 });
      const unpriced = newTask(owner, { provider: 'relay', costMicros: 264_000 });
      for (const task of [kept, moved, failed, unpriced]) await insertTask(store, task);
      expect(await store.getTask(kept.id)).toMatchObject({ upstreamCostMicros: 120_000, marginMicros: null });
      expect(await store.getTask(unpriced.id)).toMatchObject({ upstreamCostMicros: null, marginMicros: null });
      expect(await store.channelSpend({ providers: ['relay', 'ark-a'], since: day })).toEqual([
        { provider: 'relay', settledMicros: 0, inFlightMicros: 360_000, unfinished: 4 },
        { provider: 'ark-a', settledMicros: 0, inFlightMicros: 0, unfinished: 0 },
      ]);

      await store.claimTasks({ owner: 'A', now: t0, leaseMs: lease, limit: 10, providers: ['relay'] });
      const result = { video: { key: 'x', bytes: 1, contentType: 'video/mp4' }, lastFrame: null, expiresAt: t0 + 5_000 };
      // Settled below its reservation: the margin is of the price charged.
      expect(await store.completeTask({ id: kept.id, owner: 'A' }, result, t0, 200_000, 150_000)).toBe(true);
      expect(await store.moveTask({ id: moved.id, owner: 'A' }, 'ark-a', { tried: ['relay'] }, undefined, 200_000)).toBe(true);
      expect(await store.failTask({ id: failed.id, owner: 'A' }, { code: 'provider_error', params: { detail: 'x' } }, t0)).toBe(true);
      expect(await store.completeTask({ id: unpriced.id, owner: 'A' }, result, t0, 264_000)).toBe(true);

      expect(await store.getTask(kept.id)).toMatchObject({ costMicros: 200_000, upstreamCostMicros: 150_000, marginMicros: 50_000 });
      expect(await store.getTask(moved.id)).toMatchObject({ provider: 'ark-a', status: 'pending', upstreamCostMicros: 200_000, marginMicros: null });
      expect(await store.getTask(failed.id)).toMatchObject({ status: 'failed', costMicros: 0, upstreamCostMicros: null, marginMicros: null });
      expect(await store.getTask(unpriced.id)).toMatchObject({ status: 'completed', upstreamCostMicros: null, marginMicros: null });
      expect(await store.channelSpend({ providers: ['relay', 'ark-a'], since: day })).toEqual([
        { provider: 'relay', settledMicros: 150_000, inFlightMicros: 0, unfinished: 0 },
        { provider: 'ark-a', settledMicros: 0, inFlightMicros: 200_000, unfinished: 1 },
      ]);
      // Only what completed since `since` is settled spend.
      expect((await store.channelSpend({ providers: ['relay'], since: t0 + 1 }))[0]).toMatchObject({ settledMicros: 0 });
      const cancelled = await store.cancelTask(moved.id, owner.accountId, t0);
      expect(cancelled).toMatchObject({ kind: 'cancelled', task: { upstreamCostMicros: null, marginMicros: null } });
    });

    it('never lowers progress', async () => {
      const task = newTask(owner);
      await insertTask(store, task);
      await claim('A', Date.now());
      const g = { id: task.id, owner: 'A' };
      await store.reportProgress(g, 40);
      await store.reportProgress(g, 20);
      expect((await store.getTask(task.id))!.progress).toBe(40);
      await store.reportProgress(g, 140);
      expect((await store.getTask(task.id))!.progress).toBe(99);
    });

    it('remembers runs that never ended, and which of them ran alone', async () => {
      const task = newTask(owner);
      await insertTask(store, task);
      const t0 = Date.now();
      const take = (who: string, now: number, interrupted: 'exclude' | 'only', alone = false) =>
        store.claimTasks({ owner: who, now, leaseMs: lease, limit: 10, providers: ['local'], interrupted, alone });
      expect(await take('A', t0, 'only')).toEqual([]);
      expect(await take('A', t0, 'exclude')).toHaveLength(1);
      // A's run never ended: after its lease, the task is a suspect and nothing else.
      expect(await store.hasInterruptedTask(['local'], t0 + lease - 1)).toBe(false);
      expect(await store.hasInterruptedTask(['local'], t0 + lease)).toBe(true);
      expect(await store.hasInterruptedTask(['ark'], t0 + lease)).toBe(false);
      expect(await take('B', t0 + lease, 'exclude')).toEqual([]);
      const [alone] = await take('B', t0 + lease, 'only', true);
      expect(alone).toMatchObject({ id: task.id, interruptedRuns: 1, interruptedAlone: 0 });
      // B's run, alone in its process, never ended either.
      const [third] = await take('C', t0 + 2 * lease, 'only');
      expect(third).toMatchObject({ interruptedRuns: 2, interruptedAlone: 1 });
      // C parks it (its run ends without finishing the task): a later taker does not count C's run.
      expect(await store.setRunOpen({ id: task.id, owner: 'B' }, false)).toBe(false);
      expect(await store.setRunOpen({ id: task.id, owner: 'C' }, false)).toBe(true);
      expect(await store.hasInterruptedTask(['local'], t0 + 3 * lease)).toBe(false);
      // Nor is C's parked run an attempt: A's and B's runs count, and D's, which runs now.
      const [fourth] = await take('D', t0 + 3 * lease, 'exclude');
      expect(fourth).toMatchObject({ interruptedRuns: 2, interruptedAlone: 1, attempts: 3 });
      // Released cleanly: neither interrupted nor an attempt.
      expect(await store.releaseTask({ id: task.id, owner: 'D' })).toBe(true);
      const [fifth] = await take('E', t0 + 3 * lease, 'exclude');
      expect(fifth).toMatchObject({ interruptedRuns: 2, attempts: 3 });
      // E parks it and resumes it: the resumed run is an attempt again, until it parks once more.
      expect(await store.setRunOpen({ id: task.id, owner: 'E' }, false)).toBe(true);
      expect(await store.getTask(task.id)).toMatchObject({ attempts: 2 });
      expect(await store.setRunOpen({ id: task.id, owner: 'E' }, 'shared')).toBe(true);
      expect(await store.getTask(task.id)).toMatchObject({ attempts: 3, interruptedRuns: 2 });
      expect(await store.setRunOpen({ id: task.id, owner: 'E' }, 'shared')).toBe(true);
      expect(await store.getTask(task.id)).toMatchObject({ attempts: 3 });
    });

    it("changes a key's status, limits and callback URL in one step, or nothing for a missing key", async () => {
      const before = await store.keysVersion();
      const updated = await store.updateApiKey(owner.keyId, {
        disabled: true,
        limits: { rpmLimit: 7, inFlightLimit: 2 },
        callbackUrl: 'https://hooks.example.com/x',
      });
      expect(updated).toMatchObject({ id: owner.keyId, disabled: true, limits: { rpmLimit: 7, inFlightLimit: 2 }, callbackUrl: 'https://hooks.example.com/x' });
      expect(await store.keysVersion()).toBeGreaterThan(before);
      // Only what is named changes.
      expect(await store.updateApiKey(owner.keyId, { disabled: false })).toMatchObject({
        disabled: false,
        limits: { rpmLimit: 7 },
        callbackUrl: 'https://hooks.example.com/x',
      });
      expect(await store.updateApiKey('key_missing', { disabled: true })).toBeNull();
    });

    it('a released task goes back to the queue at once', async () => {
      const task = newTask(owner);
      await insertTask(store, task);
      const now = Date.now();
      await claim('A', now);
      expect(await store.releaseTask({ id: task.id, owner: 'A' })).toBe(true);
      expect((await store.getTask(task.id))!.status).toBe('pending');
      expect((await claim('B', now)).map((t) => t.id)).toEqual([task.id]);
    });

    it('submits with one idempotency key, at once, create one task and replay it to the rest', async () => {
      const since = Date.now() - 1000;
      const tasks = Array.from({ length: 6 }, () => newTask(owner));
      const outcomes = await Promise.all(
        tasks.map((t) => store.submitTask(t, { inFlightLimit: 100, idempotency: { key: 'order-1', bodyHash: 'same', since } })),
      );
      const created = outcomes.filter((o) => o.kind === 'created');
      expect(created).toHaveLength(1);
      const id = created[0]!.kind === 'created' ? created[0]!.task.id : '';
      expect(outcomes.filter((o) => o.kind === 'replayed').map((o) => o.kind === 'replayed' && o.taskId)).toEqual(Array(5).fill(id));
      expect(await store.listTasks({ accountId: owner.accountId, limit: 10 })).toHaveLength(1);
      const other = await store.submitTask(newTask(owner), { inFlightLimit: 100, idempotency: { key: 'order-1', bodyHash: 'other', since } });
      expect(other.kind).toBe('idempotency_conflict');
    });

    it("one account's submits, completions, failures and cancels at once keep its money exact", async () => {
      const accountId = `acct_busy_${Date.now()}`;
      await store.createAccount({ id: accountId, name: 'busy', unlimited: false, balanceMicros: 100_000_000, createdAt: Date.now() });
      const key = (await store.getApiKey(owner.keyId))!;
      await store.createApiKey({ ...key, id: `${key.id}_busy`, accountId, hash: `${key.hash}-busy` });
      const busy = { accountId, keyId: `${key.id}_busy` };
      const first = Array.from({ length: 24 }, () => newTask(busy, { costMicros: 1_000_000 }));
      for (const task of first) await insertTask(store, task);
      const held = await store.claimTasks({ owner: 'W', now: Date.now(), leaseMs: lease, limit: 24, providers: ['local'] });
      expect(held).toHaveLength(24);
      const file = { key: 'k', bytes: 1, contentType: 'video/mp4' };
      const later = Array.from({ length: 24 }, () => newTask(busy, { costMicros: 1_000_000 }));
      await Promise.all([
        ...later.map((t) => insertTask(store, t)),
        ...held.map((t, i) =>
          i % 3 === 0
            ? store.completeTask({ id: t.id, owner: 'W' }, { video: file, lastFrame: null, expiresAt: Date.now() + 1000 }, Date.now(), 600_000)
            : i % 3 === 1
              ? store.failTask({ id: t.id, owner: 'W' }, { code: 'render_failed', params: { detail: 'x' } }, Date.now())
              : store.cancelTask(t.id, accountId, Date.now()),
        ),
      ]);
      // 8 completed at 0.6 each; 8 failed and 8 cancelled refunded; 24 still reserved at 1.0 each.
      const account = (await store.getAccount(accountId))!;
      expect(account.balanceMicros).toBe(100_000_000 - 8 * 600_000 - 24 * 1_000_000);
      expect(account.spentMicros).toBe(8 * 600_000 + 24 * 1_000_000);
      const ledger = await store.listLedger(accountId, 500);
      expect(ledger.reduce((sum, e) => sum + e.amountMicros, 0)).toBe(account.balanceMicros);
      expect((await store.getApiKey(busy.keyId))!).toMatchObject({ inFlight: 24, spentMicros: account.spentMicros });
    });

    it('counts changes to keys (status, limits) but not the traffic on them', async () => {
      const v0 = await store.keysVersion();
      await insertTask(store, newTask(owner));
      expect(await store.keysVersion()).toBe(v0);
      await store.setApiKeyDisabled(owner.keyId, true);
      const v1 = await store.keysVersion();
      expect(v1).toBeGreaterThan(v0);
      await store.updateApiKeyLimits(owner.keyId, { rpmLimit: 5 });
      expect(await store.keysVersion()).toBeGreaterThan(v1);
    });

    it('a task claimed for an upstream queue stays pending, held, until its work starts', async () => {
      const task = newTask(owner);
      await insertTask(store, task);
      const now = Date.now();
      const [held] = await store.claimTasks({ owner: 'A', now, leaseMs: lease, limit: 10, providers: ['local'], markProcessing: false });
      expect(held).toMatchObject({ id: task.id, status: 'pending', leaseOwner: 'A', attempts: 1, startedAt: null });
      // Held, so nobody else takes it, and the holder's fenced writes land.
      expect(await claim('B', now)).toEqual([]);
      expect(await store.reportProgress({ id: task.id, owner: 'A' }, 10)).toBe(true);
      expect(await store.markProcessing({ id: task.id, owner: 'B' }, now + 5)).toBe(false);
      expect(await store.markProcessing({ id: task.id, owner: 'A' }, now + 5)).toBe(true);
      expect(await store.markProcessing({ id: task.id, owner: 'A' }, now + 9)).toBe(false);
      expect((await store.getTask(task.id))!).toMatchObject({ status: 'processing', startedAt: now + 5 });
      // Handed back without resetting the status: the upstream keeps working on it.
      expect(await store.releaseTask({ id: task.id, owner: 'A' }, { keepStatus: true })).toBe(true);
      expect((await store.getTask(task.id))!).toMatchObject({ status: 'processing', leaseOwner: null });
      const [again] = await store.claimTasks({ owner: 'C', now, leaseMs: lease, limit: 10, providers: ['local'], markProcessing: false });
      // A clean hand-back does not count as an interrupted attempt.
      expect(again).toMatchObject({ id: task.id, status: 'processing', leaseOwner: 'C', attempts: 1 });
    });

    it('a held pending task is re-claimed when its lease runs out', async () => {
      const task = newTask(owner);
      await insertTask(store, task);
      const t0 = Date.now();
      await store.claimTasks({ owner: 'A', now: t0, leaseMs: lease, limit: 10, providers: ['local'], markProcessing: false });
      expect(await store.nextLeaseExpiry(['local'])).toBe(t0 + lease);
      expect(await claim('B', t0 + lease - 1)).toEqual([]);
      expect((await claim('B', t0 + lease)).map((t) => t.id)).toEqual([task.id]);
      expect(await store.reportProgress({ id: task.id, owner: 'A' }, 10)).toBe(false);
    });

    it('renews every lease of one holder in one call and says which it still holds', async () => {
      const tasks = [newTask(owner), newTask(owner), newTask(owner)];
      for (const task of tasks) await insertTask(store, task);
      const t0 = Date.now();
      await claim('A', t0, 2);
      await claim('B', t0, 1);
      expect((await store.renewLeases('A', t0 + 50_000)).sort()).toEqual([tasks[0]!.id, tasks[1]!.id].sort());
      expect((await store.getTask(tasks[0]!.id))!.leaseExpiresAt).toBe(t0 + 50_000);
      expect((await store.getTask(tasks[2]!.id))!.leaseExpiresAt).toBe(t0 + lease);
      await store.failTask({ id: tasks[0]!.id, owner: 'A' }, { code: 'internal_error', params: {} }, t0);
      expect(await store.renewLeases('A', t0 + 60_000)).toEqual([tasks[1]!.id]);
      expect(await store.renewLeases('nobody', t0 + 60_000)).toEqual([]);
    });

    it('writes many progress reports at once, only where the holder holds and progress rises', async () => {
      const tasks = [newTask(owner), newTask(owner)];
      for (const task of tasks) await insertTask(store, task);
      await claim('A', Date.now());
      const [a, b] = tasks.map((t) => ({ id: t.id, owner: 'A' }));
      expect(
        await store.reportProgressMany([
          { guard: a!, progress: 30 },
          { guard: b!, progress: 20 },
        ]),
      ).toEqual([a!.id, b!.id]);
      expect(
        await store.reportProgressMany([
          { guard: a!, progress: 10 },
          { guard: { id: b!.id, owner: 'Z' }, progress: 90 },
          { guard: b!, progress: 25 },
        ]),
      ).toEqual([b!.id]);
      expect((await store.getTask(a!.id))!.progress).toBe(30);
      expect((await store.getTask(b!.id))!.progress).toBe(25);
    });

    it('a task its channel cancels ends cancelled with the reason, refunded once', async () => {
      const task = newTask(owner);
      await insertTask(store, task);
      await claim('A', Date.now());
      const reason = { code: 'cancelled_upstream' as const, params: { detail: 'cancelled upstream' } };
      expect(await store.cancelHeldTask({ id: task.id, owner: 'B' }, reason, 5)).toBe(false);
      expect(await store.cancelHeldTask({ id: task.id, owner: 'A' }, reason, 5)).toBe(true);
      expect(await store.cancelHeldTask({ id: task.id, owner: 'A' }, reason, 6)).toBe(false);
      expect((await store.getTask(task.id))!).toMatchObject({ status: 'cancelled', error: reason, finishedAt: 5, leaseOwner: null, costMicros: 0 });
      const kinds = (await store.listLedger(owner.accountId, 100)).filter((e) => e.taskId === task.id).map((e) => e.kind);
      expect(kinds.filter((k) => k === 'refund')).toHaveLength(1);
    });

    it('an expired lease can be ended early and reports when the next lease runs out', async () => {
      const task = newTask(owner);
      await insertTask(store, task);
      const now = Date.now();
      await claim('host/1/a', now);
      expect(await store.nextLeaseExpiry(['local'])).toBe(now + lease);
      expect(await store.listLeasedBy('host/')).toEqual([{ id: task.id, owner: 'host/1/a' }]);
      expect(await store.listLeasedBy('other/')).toEqual([]);
      expect(await store.expireLease({ id: task.id, owner: 'host/1/a' })).toBe(true);
      expect((await claim('B', now)).map((t) => t.id)).toEqual([task.id]);
    });

    it('lists an account’s tasks newest first with filters and a cursor', async () => {
      const other = await seedAccount(store);
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const task = newTask(owner);
        ids.push(task.id);
        await insertTask(store, task);
      }
      await insertTask(store, newTask(other));
      const page1 = await store.listTasks({ accountId: owner.accountId, limit: 2 });
      expect(page1.map((t) => t.id)).toEqual([ids[4], ids[3]]);
      const page2 = await store.listTasks({ accountId: owner.accountId, limit: 10, after: ids[3] });
      expect(page2.map((t) => t.id)).toEqual([ids[2], ids[1], ids[0]]);
      await claim('A', Date.now(), 1);
      expect((await store.listTasks({ accountId: owner.accountId, limit: 10, status: 'processing' })).map((t) => t.id)).toEqual([ids[0]]);
      expect(await store.listTasks({ accountId: owner.accountId, limit: 10, model: 'doubao-seedance-2.0-fast' })).toEqual([]);
    });

    it('finds expired results until they are marked collected', async () => {
      const task = newTask(owner);
      await insertTask(store, task);
      await claim('A', Date.now());
      const result = { video: { key: 'k', bytes: 1, contentType: 'video/mp4' }, lastFrame: null, expiresAt: 5_000 };
      await store.completeTask({ id: task.id, owner: 'A' }, result, 1_000, 0);
      expect(await store.listExpiredResults(4_999, 10)).toEqual([]);
      expect((await store.listExpiredResults(5_000, 10)).map((t) => t.id)).toEqual([task.id]);
      await store.markResultsCollected(task.id);
      expect(await store.listExpiredResults(9_000, 10)).toEqual([]);
      expect((await store.getTask(task.id))!.resultsCollected).toBe(true);
    });

    it('keeps settings: the first value wins', async () => {
      expect(await store.getSetting('s')).toBeNull();
      expect(await store.initSetting('s', 'one')).toBe('one');
      expect(await store.initSetting('s', 'two')).toBe('one');
    });

    it('looks API keys up by hash only', async () => {
      expect(await store.findApiKeyByHash(`${owner.keyId}-hash`)).toMatchObject({ id: owner.keyId, accountId: owner.accountId });
      expect(await store.findApiKeyByHash('nope')).toBeNull();
      expect(await store.hasApiKeys()).toBe(true);
    });
  });
}
