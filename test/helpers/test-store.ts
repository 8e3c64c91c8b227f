import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, inject } from 'vitest';
import { BIGINT_AS_NUMBER } from '../../src/store/postgres/connection.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/types.js';
import { createTestDatabase } from './postgres-server.js';

/**
 * Which store the suite runs on. The `postgres` project of vitest.config.ts sets
 * VIDGATE_TEST_STORE=postgres and runs the same API, task and webhook tests on PostgreSQL: each app
 * a test starts gets its own database, kept for the test file (a restart reuses it with the data
 * directory) and dropped after it.
 */
export const TEST_STORE: 'sqlite' | 'postgres' = process.env.VIDGATE_TEST_STORE === 'postgres' ? 'postgres' : 'sqlite';

const databases = new Map<string, Promise<{ url: string; drop: () => Promise<void> }>>();

/** The settings that put an app with this data directory on the suite's store. */
export async function testStoreEnv(dataDir: string): Promise<Record<string, string>> {
  if (TEST_STORE !== 'postgres') return {};
  let database = databases.get(dataDir);
  if (!database) {
    database = createTestDatabase(inject('postgresAdminUrl'));
    databases.set(dataDir, database);
  }
  return { VIDGATE_DATABASE_URL: (await database).url };
}

afterAll(async () => {
  const all = [...databases.values()];
  databases.clear();
  await Promise.all(all.map(async (database) => (await database).drop()));
});

/** Read-only SQL on the database of the app with this data directory, `?` placeholders on both stores. */
export async function testDatabase(dataDir: string): Promise<{ all<R>(sql: string, ...params: unknown[]): Promise<R[]>; close(): Promise<void> }> {
  if (TEST_STORE === 'sqlite') {
    const db = new Database(join(dataDir, 'vidgate.db'), { readonly: true });
    return { all: async <R>(sql: string, ...params: unknown[]) => db.prepare(sql).all(...params) as R[], close: async () => void db.close() };
  }
  const client = new pg.Client({ connectionString: (await testStoreEnv(dataDir)).VIDGATE_DATABASE_URL, types: BIGINT_AS_NUMBER });
  await client.connect();
  return {
    all: async <R>(sql: string, ...params: unknown[]) => {
      let n = 0;
      return (
        await client.query(
          sql.replace(/\?/g, () => `$${++n}`),
          params,
        )
      ).rows as R[];
    },
    close: () => client.end(),
  };
}

/** One query, then closed. */
export async function queryTestDatabase<R>(dataDir: string, sql: string, ...params: unknown[]): Promise<R[]> {
  const db = await testDatabase(dataDir);
  try {
    return await db.all<R>(sql, ...params);
  } finally {
    await db.close();
  }
}

/** The store of the app with this data directory, opened beside it (as an operator's CLI would). */
export async function openTestStore(dataDir: string): Promise<Store> {
  return openStore({ dataDir, databaseUrl: (await testStoreEnv(dataDir)).VIDGATE_DATABASE_URL, databasePoolSize: 2 });
}
