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
});
