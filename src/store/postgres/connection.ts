import { createHash } from 'node:crypto';
import pg from 'pg';
import { StoreUnavailable } from '../errors.js';
import { PG_MIGRATIONS } from './migrations.js';

/** What every part of the PostgreSQL store runs its SQL through: the pool, or one transaction's client. */
export interface PgQueries {
  rows<R>(sql: string, params?: readonly unknown[]): Promise<R[]>;
  row<R>(sql: string, params?: readonly unknown[]): Promise<R | undefined>;
  /** Runs a statement; returns how many rows it changed. */
  run(sql: string, params?: readonly unknown[]): Promise<number>;
  /** Runs `effect` once what was written here is committed (at once outside a transaction); never after a rollback. */
  afterCommit(effect: () => void): void;
}

/**
 * The keys version as this process knows it without asking: heard from the change feed, or from
 * its own commits. Null while unknown (the feed is not listening): readers then ask the database.
 */
export class KnownVersion {
  private value: number | null = null;

  get(): number | null {
    return this.value;
  }

  /** The feed listens from now on, and read `version` after it began to. */
  listening(version: number): void {
    this.value = Number.isSafeInteger(version) ? version : null;
  }

  /** A newer version; ignored while nobody listens (a change elsewhere could then go unheard). */
  heard(version: number): void {
    if (this.value !== null && Number.isSafeInteger(version)) this.value = Math.max(this.value, version);
  }

  forget(): void {
    this.value = null;
  }
}

/** BIGINT columns hold unix ms and micro-USD, always within 2^53: read them as numbers, not strings. */
export const BIGINT_AS_NUMBER = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/**
 * Every statement is prepared once per connection under a name derived from its text, so the
 * server plans it once (the SQL built per call, filters and IN lists, has a few shapes only).
 */
const statementNames = new Map<string, string>();
function statementName(sql: string): string {
  let name = statementNames.get(sql);
  if (!name) {
    name = `vg_${createHash('sha1').update(sql).digest('hex').slice(0, 20)}`;
    statementNames.set(sql, name);
  }
  return name;
}

/** Network errors, and the server's own "connection" class (08), shutting down (57P0x) and full (53300). */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN', '57P01', '57P02', '57P03', '53300']);
const UNREACHABLE_MESSAGE =
  /Connection terminated|timeout exceeded when trying to connect|not queryable|Connection ended|the database system is (starting|shutting) up/i;

/** The database could not be reached: the caller may retry, so it is told so (StoreUnavailable), not handed a driver error. */
function unreachable(error: unknown): unknown {
  const code = (error as { code?: unknown })?.code;
  const down = typeof code === 'string' ? UNREACHABLE.has(code) || code.startsWith('08') : false;
  return down || UNREACHABLE_MESSAGE.test((error as Error)?.message ?? '') ? new StoreUnavailable(error) : error;
}

function queriesOf(target: pg.Pool | pg.PoolClient, afterCommit: PgQueries['afterCommit'] = (effect) => effect()): PgQueries {
  const query = <R extends pg.QueryResultRow>(sql: string, params: readonly unknown[] = []) =>
    target.query<R>({ name: statementName(sql), text: sql, values: params as unknown[] }).catch((error: unknown) => {
      throw unreachable(error);
    });
  return {
    rows: async <R>(sql: string, params?: readonly unknown[]) => (await query(sql, params)).rows as R[],
    row: async <R>(sql: string, params?: readonly unknown[]) => (await query(sql, params)).rows[0] as R | undefined,
    run: async (sql: string, params?: readonly unknown[]) => (await query(sql, params)).rowCount ?? 0,
    afterCommit,
  };
}

/** Errors after which the whole transaction may simply run again: another transaction won a race. */
const RETRYABLE = new Set(['40001', '40P01']);
/** A fixed key of the advisory lock that lets one instance at a time bring the schema up to date. */
const MIGRATION_LOCK = 7_160_212_011;

export interface PgConnectionOptions {
  /** Most connections this process opens (the pool). */
  maxConnections?: number;
  applicationName?: string;
}

/**
 * The pool every part of the PostgreSQL store shares, its transactions and its schema. Several
 * vidgate processes share one database: rows are locked (FOR NO KEY UPDATE, SKIP LOCKED for claims) where
 * SQLite relies on its single writer.
 */
export class PgConnection implements PgQueries {
  readonly pool: pg.Pool;
  /** Shared by the parts that change keys and the change feed that hears other instances change them. */
  readonly keysVersion = new KnownVersion();
  private readonly queries: PgQueries;

  constructor(
    readonly url: string,
    options: PgConnectionOptions = {},
  ) {
    this.pool = new pg.Pool({
      connectionString: url,
      max: options.maxConnections ?? 10,
      application_name: options.applicationName ?? 'vidgate',
      types: BIGINT_AS_NUMBER,
      // A pooled connection that dies (server restart, failover) is dropped, not handed out again.
      keepAlive: true,
      // A server that does not answer fails the request in bounded time instead of queueing it
      // forever. It also bounds the wait for a free pooled connection, which under a heavy backlog
      // (10 000 upstream tasks submitted through one account) passed 10 s: a minute of waiting is an
      // outage, not load.
      connectionTimeoutMillis: 60_000,
    });
    // An idle client's error (the server went away) must not crash the process; the next query
    // reports it to its caller.
    this.pool.on('error', () => undefined);
    this.queries = queriesOf(this.pool);
  }

  readonly rows: PgQueries['rows'] = (sql, params) => this.queries.rows(sql, params);
  readonly row: PgQueries['row'] = (sql, params) => this.queries.row(sql, params);
  readonly run: PgQueries['run'] = (sql, params) => this.queries.run(sql, params);
  readonly afterCommit: PgQueries['afterCommit'] = (effect) => effect();

  /**
   * Runs `fn` in a READ COMMITTED transaction on one client; a serialization failure or deadlock
   * runs it again from the start, so `fn` must only touch the database.
   */
  async transaction<T>(fn: (tx: PgQueries) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.pool.connect().catch((error: unknown) => {
        throw unreachable(error);
      });
      let broken = false;
      // A checked-out client whose connection dies between statements reports it as an 'error'
      // event, which would end the process unheard; the statement in flight fails on its own.
      const lost = () => {
        broken = true;
      };
      client.on('error', lost);
      const committed: Array<() => void> = [];
      try {
        await client.query('BEGIN');
        const value = await fn(queriesOf(client, (effect) => committed.push(effect)));
        await client.query('COMMIT');
        for (const effect of committed) effect();
        return value;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
        if (attempt < 5 && RETRYABLE.has((error as { code?: string }).code ?? '')) continue;
        throw unreachable(error);
      } finally {
        client.off('error', lost);
        client.release(broken);
      }
    }
  }

  /** Brings the schema up to date; instances starting together take turns on an advisory lock. */
  async migrate(): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
      await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)');
      const applied = new Set((await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
      for (const migration of PG_MIGRATIONS) {
        if (applied.has(migration.version)) continue;
        await client.query('BEGIN');
        try {
          await client.query(migration.sql);
          await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [migration.version, migration.name, Date.now()]);
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK');
          throw error;
        }
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
      client.release();
    }
  }

  async ping(): Promise<void> {
    await this.run('SELECT 1');
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
