import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/env.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import type { Store } from './types.js';

/** The configured store: PostgreSQL when VIDGATE_DATABASE_URL is set, else the SQLite file in the data directory. */
export async function openStore(config: Pick<Config, 'dataDir' | 'databaseUrl' | 'databasePoolSize'>, logger?: Logger): Promise<Store> {
  if (!config.databaseUrl) return new SqliteStore(join(config.dataDir, 'vidgate.db'));
  // Loaded only when configured: pg and the PostgreSQL store are ~10 MB of resident code a SQLite instance never runs.
  const { PostgresStore } = await import('./postgres/postgres-store.js');
  return PostgresStore.open(config.databaseUrl, {
    maxConnections: config.databasePoolSize,
    onListenError: (error) =>
      logger?.warn({ err: error }, 'the PostgreSQL LISTEN connection failed; reconnecting (changes of other instances are found by polling meanwhile)'),
  });
}
