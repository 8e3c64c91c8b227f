import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { MIGRATIONS } from '../../src/store/sqlite/migrations.js';
import { storeContract } from './store-contract.js';
import { insertTask, newTask, seedAccount } from '../helpers/store-fixtures.js';

async function openTemp() {
  const dir = await mkdtemp(join(tmpdir(), 'vidgate-store-'));
  const store = new SqliteStore(join(dir, 'db.sqlite'));
  return { store, dir, dispose: async () => (await store.close(), await rm(dir, { recursive: true, force: true })) };
}

storeContract('sqlite', openTemp);

describe('sqlite store', () => {
  it('runs in WAL mode and applies each migration exactly once across reopenings', async () => {
    const { store, dir, dispose } = await openTemp();
    const owner = await seedAccount(store);
    await insertTask(store, newTask(owner));
    await store.close();
    const again = new SqliteStore(join(dir, 'db.sqlite'));
    await again.close();
    const db = new Database(join(dir, 'db.sqlite'), { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all()).toEqual(MIGRATIONS.map((m) => m.version));
    expect(db.prepare('SELECT COUNT(*) FROM tasks').pluck().get()).toBe(1);
    db.close();
    await dispose();
  });

  it('two stores on one file never claim the same task', async () => {
    const { store, dir, dispose } = await openTemp();
    const other = new SqliteStore(join(dir, 'db.sqlite'));
    const owner = await seedAccount(store);
    for (let i = 0; i < 20; i++) await insertTask(store, newTask(owner));
    const now = Date.now();
    const claims = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? other : store).claimTasks({ owner: `w${i}`, now, leaseMs: 60_000, limit: 3, providers: ['local'] })),
    );
    const ids = claims.flat().map((t) => t.id);
    expect(ids).toHaveLength(20);
    expect(new Set(ids).size).toBe(20);
    await other.close();
    await dispose();
  });

  it('submits that arrive together commit together, and one failing does not undo the others', async () => {
    const { store, dispose } = await openTemp();
    const owner = await seedAccount(store);
    const good1 = newTask(owner);
    const broken = newTask({ ...owner, keyId: 'key_missing' });
    const good2 = newTask(owner);
    const outcomes = await Promise.allSettled([good1, broken, good2].map((t) => store.submitTask(t, { inFlightLimit: 100 })));
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(await store.getTask(good1.id)).not.toBeNull();
    expect(await store.getTask(broken.id)).toBeNull();
    expect(await store.getTask(good2.id)).not.toBeNull();
    expect((await store.listLedger(owner.accountId, 10)).filter((e) => e.kind === 'reserve')).toHaveLength(2);
    await dispose();
  });
});
