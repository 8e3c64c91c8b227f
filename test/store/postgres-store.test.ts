import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { createTestDatabase } from '../helpers/postgres-server.js';
import { insertTask, newTask, seedAccount } from '../helpers/store-fixtures.js';
import { storeContract } from './store-contract.js';

async function openTemp() {
  const database = await createTestDatabase(inject('postgresAdminUrl'));
  const store = await PostgresStore.open(database.url);
  return { store, url: database.url, dispose: async () => (await store.close(), await database.drop()) };
}

storeContract('postgres', openTemp);

describe('postgres store', () => {
  it('applies each migration once, whichever instance starts first', async () => {
    const { store, url, dispose } = await openTemp();
    const others = await Promise.all([PostgresStore.open(url), PostgresStore.open(url)]);
    const owner = await seedAccount(others[0]!);
    await insertTask(others[1]!, newTask(owner));
    expect((await store.listTasks({ accountId: owner.accountId, limit: 10 })).length).toBe(1);
    await Promise.all(others.map((s) => s.close()));
    await dispose();
  });

  it('two instances never claim the same task', async () => {
    const { store, url, dispose } = await openTemp();
    const other = await PostgresStore.open(url);
    const owner = await seedAccount(store);
    for (let i = 0; i < 40; i++) await insertTask(store, newTask(owner));
    const now = Date.now();
    const claims = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? other : store).claimTasks({ owner: `w${i}`, now, leaseMs: 60_000, limit: 3, providers: ['local'] })),
    );
    const ids = claims.flat().map((t) => t.id);
    expect(ids).toHaveLength(40);
    expect(new Set(ids).size).toBe(40);
    await other.close();
    await dispose();
  });

  it('concurrent submits through two instances spend the balance exactly, never below zero', async () => {
    const { store, url, dispose } = await openTemp();
    const other = await PostgresStore.open(url);
    const owner = await seedAccount(store);
    const accountId = `acct_limited_${Date.now()}`;
    await store.createAccount({ id: accountId, name: 'limited', unlimited: false, balanceMicros: 10_000_000, createdAt: Date.now() });
    const key = (await store.getApiKey(owner.keyId))!;
    await store.createApiKey({ ...key, id: `${key.id}_limited`, accountId, hash: `${key.hash}-limited` });
    const limited = { accountId, keyId: `${key.id}_limited` };
    const tasks = Array.from({ length: 30 }, () => newTask(limited, { costMicros: 1_000_000 }));
    const outcomes = await Promise.all(tasks.map((t, i) => (i % 2 ? other : store).submitTask(t, { inFlightLimit: 100 })));
    expect(outcomes.filter((o) => o.kind === 'created')).toHaveLength(10);
    expect(outcomes.filter((o) => o.kind === 'insufficient_balance')).toHaveLength(20);
    const account = (await store.getAccount(accountId))!;
    expect(account.balanceMicros).toBe(0);
    expect(account.spentMicros).toBe(10_000_000);
    const ledger = await store.listLedger(accountId, 100);
    expect(ledger.reduce((sum, e) => sum + e.amountMicros, 0)).toBe(0);
    await other.close();
    await dispose();
  });

  it('hears the task changes another instance commits, and not its own', async () => {
    const { store, url, dispose } = await openTemp();
    const other = await PostgresStore.open(url);
    const owner = await seedAccount(store);
    const heardByOther: string[] = [];
    const heardBySelf: string[] = [];
    const task = newTask(owner);
    const queued = new Promise<void>((resolve) =>
      other.onRemoteTaskChanges((change, ids) => {
        heardByOther.push(`${change}:${ids.join(',')}`);
        if (change === 'claimed') resolve();
      }),
    );
    store.onRemoteTaskChanges((change) => heardBySelf.push(change));
    await insertTask(store, task);
    await store.claimTasks({ owner: 'w', now: Date.now(), leaseMs: 60_000, limit: 1, providers: ['local'] });
    await queued;
    expect(heardByOther).toEqual([`queued:${task.id}`, `claimed:${task.id}`]);
    expect(heardBySelf).toEqual([]);
    await other.close();
    await dispose();
  });

  it('counts allowances for creating work exactly across instances, and reads in memory, shared at each flush', async () => {
    const { store, url, dispose } = await openTemp();
    const other = await PostgresStore.open(url);
    const now = Date.now();
    const windows = store.rateWindows;
    const others = other.rateWindows;
    expect((await windows.countRequest('create:key_1', 60_000, now)).count).toBe(1);
    expect((await others.countRequest('create:key_1', 60_000, now + 1)).count).toBe(2);
    expect((await windows.countRequest('create:key_1', 60_000, now + 2)).count).toBe(3);
    // A window ends 60 s after its first request, for every instance.
    expect(await others.countRequest('create:key_1', 60_000, now + 60_000)).toEqual({ count: 1, resetInMs: 60_000 });

    for (let i = 0; i < 3; i++) await windows.countRequest('read:key_1', 60_000, now);
    expect((await others.countRequest('read:key_1', 60_000, now)).count).toBe(1);
    await windows.flush(now);
    await others.flush(now);
    // The one that flushed last knows both counts (3 + 1), plus its own next request; the other
    // learns them with its own next flush.
    expect((await others.countRequest('read:key_1', 60_000, now + 5)).count).toBe(5);
    expect((await windows.countRequest('read:key_1', 60_000, now + 5)).count).toBe(4);
    await windows.flush(now + 6);
    expect((await windows.countRequest('read:key_1', 60_000, now + 7)).count).toBe(6);
    await other.close();
    await dispose();
  });

  it("a submit does not wait on the key-share locks another transaction's inserts hold on the account and key", async () => {
    const { store, url, dispose } = await openTemp();
    const owner = await seedAccount(store);
    // Another transaction (a completion settling, say) has inserted a ledger row naming the account
    // and the key: its foreign-key checks hold key-share locks on both rows until it commits.
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    await other.query('BEGIN');
    await other.query(`INSERT INTO ledger (account_id, key_id, kind, amount_micros, created_at) VALUES ($1, $2, 'topup', 1, 0)`, [
      owner.accountId,
      owner.keyId,
    ]);
    const submitted = store.submitTask(newTask(owner), { inFlightLimit: 10 });
    const waited = await Promise.race([submitted.then(() => false), new Promise<boolean>((resolve) => setTimeout(() => resolve(true), 3000))]);
    await other.query('ROLLBACK');
    await other.end();
    expect(waited).toBe(false);
    expect((await submitted).kind).toBe('created');
    await dispose();
  });
});
