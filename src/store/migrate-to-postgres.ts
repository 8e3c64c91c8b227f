import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import pg from 'pg';
import { PgConnection, type PgQueries } from './postgres/connection.js';
import { MIGRATIONS } from './sqlite/migrations.js';

/**
 * `vidgate db migrate-to`: copies a SQLite installation into an empty PostgreSQL database in one
 * PostgreSQL transaction, verifies the copy inside it, and commits only when everything agrees.
 * Both schemas hold the same columns with the same meanings, so rows are copied as they are.
 */

/** Every table of the SQLite store, parents before children (foreign keys). */
export const COPIED_TABLES = [
  'settings',
  'accounts',
  'api_keys',
  'tasks',
  'ledger',
  'idempotency_keys',
  'asset_groups',
  'asset_reviews',
  'assets',
  'webhook_secrets',
  'webhook_deliveries',
  'webhook_attempts',
] as const;

/** PostgreSQL columns that stand for SQLite's implicit rowid (insertion order). */
const FROM_ROWID: Record<string, string> = { assets: 'seq' };
/** Each store's own bookkeeping: PostgreSQL's schema versions are not SQLite's. */
const NOT_COPIED = new Set(['schema_migrations']);
/** What migrate() leaves in an empty PostgreSQL database's settings. */
const FRESH_SETTINGS: Record<string, string> = { keys_version: '0' };

const BATCH_ROWS = 500;
/** Also flush before this much text piles up: task requests can be large. */
const BATCH_CHARS = 8 * 1024 * 1024;
const LATEST_SQLITE_VERSION = Math.max(...MIGRATIONS.map((m) => m.version));

/** The migration would lose or overwrite something, or cannot start; nothing was written. */
export class MigrationRefused extends Error {
  override name = 'MigrationRefused';
}

/** The copy did not match its source; the PostgreSQL transaction was rolled back. */
export class MigrationMismatch extends Error {
  override name = 'MigrationMismatch';
  constructor(readonly differences: string[]) {
    super(`the copy does not match the SQLite database, so nothing was committed:\n  ${differences.join('\n  ')}`);
  }
}

export interface MigrationOptions {
  /** Copy even though another process has the file open or holds leases (a snapshot is copied). */
  force?: boolean;
  now?: () => number;
  /** Called as each table starts being copied. */
  onTable?: (table: string) => void;
}

export interface MigrationReport {
  source: string;
  /** The target URL without its password. */
  target: string;
  /** The SQLite schema version copied; `upgradedFrom` when the file was older (upgraded in the read transaction only, the file is unchanged). */
  sqliteSchema: { version: number; upgradedFrom: number | null };
  tables: Array<{ name: string; rows: number }>;
  accounts: { total: number; limited: number; unlimited: number; balanceMicros: number };
  /** Where each identity column's sequence continues. */
  sequences: Array<{ table: string; column: string; next: number }>;
  warnings: string[];
  durationMs: number;
}

export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable URL)';
  }
}

const errorText = (error: unknown): string => {
  const e = error as { message?: string; code?: string; errors?: Array<{ message?: string }> };
  // Node reports a refused connection to every address of a host as an AggregateError without a message.
  return e.message || e.errors?.map((x) => x.message).join('; ') || e.code || String(error);
};

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

// ---------------------------------------------------------------- the source

interface Source {
  db: Database.Database;
  version: number;
  upgradedFrom: number | null;
}

const isBusy = (error: unknown) => String((error as { code?: string }).code ?? '').startsWith('SQLITE_BUSY');

/**
 * Opens the file for one read transaction that pins what is copied. Normally with an exclusive lock:
 * it fails at once when any other process has the file open (a vidgate server, idle or not) and
 * keeps one from starting during the copy. The transaction is rolled back at the end, so the file is
 * left exactly as it was, schema included.
 */
function openSource(file: string, force: boolean, warnings: string[]): Source {
  if (!existsSync(file)) throw new MigrationRefused(`no SQLite database at ${file}: set VIDGATE_DATA_DIR to the data directory of the installation to move`);
  let db: Database.Database | null = new Database(file, { fileMustExist: true, timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
    db.prepare('SELECT COUNT(*) FROM sqlite_master').get();
  } catch (error) {
    db.close();
    db = null;
    if (!isBusy(error)) throw error;
  }
  if (!db) {
    if (!force) {
      throw new MigrationRefused(
        `${file} is in use by another process (a running vidgate?): stop vidgate first, so that nothing is written after the copy. ` +
          '--force copies a snapshot anyway; whatever is written after it stays behind in SQLite',
      );
    }
    warnings.push('the SQLite file was in use by another process: a snapshot was copied; anything written to SQLite after it is not in PostgreSQL');
    db = new Database(file, { readonly: true, fileMustExist: true });
    db.exec('BEGIN');
    db.prepare('SELECT COUNT(*) FROM sqlite_master').get();
  }
  try {
    return { db, ...bringSchemaUpToDate(db, file, db.readonly) };
  } catch (error) {
    db.close();
    throw error;
  }
}

/**
 * An older file gets the missing migrations inside the open transaction, exactly as `vidgate serve`
 * would apply them: they fill columns from others (reserved_micros, in_flight), which a plain copy
 * would leave at their defaults. Being rolled back with the transaction, they never touch the file.
 */
function bringSchemaUpToDate(db: Database.Database, file: string, readonly: boolean): { version: number; upgradedFrom: number | null } {
  const hasVersions = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).get();
  if (!hasVersions) throw new MigrationRefused(`${file} is not a vidgate database (it has no schema_migrations table)`);
  const applied = new Set((db.prepare('SELECT version FROM schema_migrations').all() as Array<{ version: number }>).map((r) => r.version));
  const current = Math.max(0, ...applied);
  if (current > LATEST_SQLITE_VERSION) {
    throw new MigrationRefused(
      `${file} is at schema version ${current}, newer than this vidgate knows (${LATEST_SQLITE_VERSION}): run migrate-to with that newer vidgate`,
    );
  }
  const missing = MIGRATIONS.filter((m) => !applied.has(m.version));
  if (missing.length === 0) return { version: current, upgradedFrom: null };
  if (readonly) {
    throw new MigrationRefused(`${file} is at schema version ${current}, not ${LATEST_SQLITE_VERSION}, and in use by another process: stop vidgate first`);
  }
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  for (const migration of missing) {
    db.exec(migration.sql);
    record.run(migration.version, migration.name, Date.now());
  }
  return { version: LATEST_SQLITE_VERSION, upgradedFrom: current };
}

/** Work a server still holds: leases nobody else may have taken over yet. */
function checkLeases(db: Database.Database, now: number, force: boolean, warnings: string[]): void {
  const tasks = db
    .prepare(
      `SELECT COUNT(*) AS n, MAX(lease_expires_at) AS until FROM tasks WHERE status IN ('pending', 'processing') AND lease_owner IS NOT NULL AND lease_expires_at > ?`,
    )
    .get(now) as { n: number; until: number | null };
  const hooks = db
    .prepare(
      `SELECT COUNT(*) AS n, MAX(lease_expires_at) AS until FROM webhook_deliveries WHERE state = 'pending' AND lease_owner IS NOT NULL AND lease_expires_at > ?`,
    )
    .get(now) as { n: number; until: number | null };
  if (tasks.n + hooks.n === 0) return;
  const until = new Date(Math.max(tasks.until ?? 0, hooks.until ?? 0)).toISOString();
  const what = `${tasks.n} task(s) and ${hooks.n} webhook deliver${hooks.n === 1 ? 'y' : 'ies'} are leased by a vidgate until ${until}`;
  if (!force) {
    throw new MigrationRefused(
      `${what}: stop vidgate first. If it is stopped already (it did not shut down cleanly), wait until then or pass --force: leased work runs again on PostgreSQL once its lease ends`,
    );
  }
  warnings.push(`${what}; that work runs again on PostgreSQL once its lease ends`);
}

function sqliteTables(db: Database.Database): string[] {
  return (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`).all() as Array<{ name: string }>).map((r) => r.name);
}

const sqliteColumns = (db: Database.Database, table: string): string[] =>
  (db.prepare(`SELECT name FROM pragma_table_info(?) ORDER BY cid`).all(table) as Array<{ name: string }>).map((r) => r.name);

function sqliteSequences(db: Database.Database): Map<string, number> {
  const exists = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'`).get();
  if (!exists) return new Map();
  return new Map((db.prepare('SELECT name, seq FROM sqlite_sequence').all() as Array<{ name: string; seq: number }>).map((r) => [r.name, r.seq]));
}

// ---------------------------------------------------------------- the plan

interface TablePlan {
  table: string;
  /** Target column names, in the order the SQLite query yields them. */
  columns: string[];
  /** The SQLite expressions that yield them. */
  select: string[];
  /** PostgreSQL type of each column, for the unnest casts. */
  types: string[];
  identity: string[];
}

interface PgColumn {
  table_name: string;
  column_name: string;
  type: string;
  identity: boolean;
}

async function planTables(db: Database.Database, target: PgQueries): Promise<TablePlan[]> {
  const unknown = sqliteTables(db).filter((t) => !NOT_COPIED.has(t) && !(COPIED_TABLES as readonly string[]).includes(t));
  if (unknown.length) throw new MigrationRefused(`the SQLite database has tables this vidgate does not know how to copy: ${unknown.join(', ')}`);
  const pgColumns = await target.rows<PgColumn>(`
    SELECT c.relname AS table_name, a.attname AS column_name, format_type(a.atttypid, a.atttypmod) AS type, a.attidentity <> '' AS identity
    FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
    WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
    ORDER BY c.relname, a.attnum`);
  const plans: TablePlan[] = [];
  const missing: string[] = [];
  for (const table of COPIED_TABLES) {
    const onPg = new Map(pgColumns.filter((c) => c.table_name === table).map((c) => [c.column_name, c]));
    if (onPg.size === 0) {
      missing.push(`table ${table}`);
      continue;
    }
    const columns = sqliteColumns(db, table);
    for (const column of columns) if (!onPg.has(column)) missing.push(`${table}.${column}`);
    const select = columns.map(quote);
    const rowidColumn = FROM_ROWID[table];
    if (rowidColumn && onPg.has(rowidColumn) && !columns.includes(rowidColumn)) {
      columns.push(rowidColumn);
      select.push('rowid');
    }
    plans.push({
      table,
      columns,
      select,
      types: columns.map((c) => onPg.get(c)?.type ?? 'text'),
      identity: [...onPg.values()].filter((c) => c.identity).map((c) => c.column_name),
    });
  }
  if (missing.length) throw new MigrationRefused(`the PostgreSQL schema lacks what the SQLite database holds, so it would be lost: ${missing.join(', ')}`);
  return plans;
}

// ---------------------------------------------------------------- the target

/**
 * Nothing may be merged into or overwritten: every table must be empty but for the settings a fresh
 * schema starts with, or settings equal to the source's.
 */
async function assertEmpty(tx: PgQueries, db: Database.Database): Promise<void> {
  const found: string[] = [];
  for (const table of COPIED_TABLES) {
    if (table === 'settings') continue;
    const row = await tx.row<{ n: number }>(`SELECT COUNT(*)::int AS n FROM ${quote(table)}`);
    if (row && row.n > 0) found.push(`${row.n} ${table}`);
  }
  const source = new Map((db.prepare('SELECT name, value FROM settings').all() as Array<{ name: string; value: string }>).map((r) => [r.name, r.value]));
  for (const s of await tx.rows<{ name: string; value: string }>('SELECT name, value FROM settings')) {
    if (FRESH_SETTINGS[s.name] !== s.value && source.get(s.name) !== s.value) found.push(`setting ${s.name}`);
  }
  if (found.length) {
    throw new MigrationRefused(
      `the target database is not empty (${found.join(', ')}): migrate-to copies into an empty database only and never merges. ` +
        'Create a new database (createdb) and run it again',
    );
  }
}

async function copyTable(db: Database.Database, tx: PgQueries, plan: TablePlan): Promise<number> {
  const insert =
    `INSERT INTO ${quote(plan.table)} (${plan.columns.map(quote).join(', ')}) ` +
    `SELECT * FROM unnest(${plan.types.map((t, i) => `$${i + 1}::${t}[]`).join(', ')})` +
    // The fresh schema's keys_version row gives way to the source's.
    (plan.table === 'settings' ? ' ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value' : '');
  // Exact integers (BigInt) whatever their size; pg sends them as decimal text.
  const rows = db
    .prepare(`SELECT ${plan.select.join(', ')} FROM ${quote(plan.table)} ORDER BY rowid`)
    .raw(true)
    .safeIntegers(true)
    .iterate() as IterableIterator<unknown[]>;
  let batch: unknown[][] = [];
  let chars = 0;
  let copied = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    await tx.run(
      insert,
      plan.columns.map((_, i) => batch.map((row) => row[i])),
    );
    copied += batch.length;
    batch = [];
    chars = 0;
  };
  for (const row of rows) {
    batch.push(row);
    for (const value of row) if (typeof value === 'string') chars += value.length;
    if (batch.length >= BATCH_ROWS || chars >= BATCH_CHARS) await flush();
  }
  await flush();
  return copied;
}

/** Each identity sequence continues past every id either store ever handed out. */
async function advanceSequences(tx: PgQueries, plans: TablePlan[], sqliteSeq: Map<string, number>): Promise<MigrationReport['sequences']> {
  const out: MigrationReport['sequences'] = [];
  for (const plan of plans) {
    for (const column of plan.identity) {
      const max = await tx.row<{ max: number | null }>(`SELECT MAX(${quote(column)}) AS max FROM ${quote(plan.table)}`);
      const last = Math.max(max?.max ?? 0, sqliteSeq.get(plan.table) ?? 0);
      // setval(…, 1, false) on an empty table: the next id is 1, as on a fresh schema.
      await tx.run('SELECT setval(pg_get_serial_sequence($1, $2), $3, $4)', [quote(plan.table), column, Math.max(last, 1), last > 0]);
      out.push({ table: plan.table, column, next: last + 1 });
    }
  }
  return out;
}

// ---------------------------------------------------------------- verification

/**
 * An order-independent checksum of rows: the sum of a 60-bit slice of each row's md5 over its
 * values as text. Both databases compute it the same way, so any difference in any value shows.
 */
const rowText = (values: readonly unknown[]) => values.map((v) => (v === null || v === undefined ? 'n' : `v${String(v)}`)).join('\x1f');
const rowHash = (values: readonly unknown[]) => BigInt(`0x${createHash('md5').update(rowText(values), 'utf8').digest('hex').slice(0, 15)}`);

function sqliteChecksum(db: Database.Database, table: string, select: string[]): { rows: number; sum: string } {
  let sum = 0n;
  let rows = 0;
  const iterator = db
    .prepare(`SELECT ${select.join(', ')} FROM ${quote(table)}`)
    .raw(true)
    .safeIntegers(true)
    .iterate() as IterableIterator<unknown[]>;
  for (const row of iterator) {
    sum += rowHash(row);
    rows++;
  }
  return { rows, sum: sum.toString() };
}

async function pgChecksum(tx: PgQueries, table: string, columns: string[]): Promise<{ rows: number; sum: string }> {
  const text = `concat_ws(chr(31), ${columns.map((c) => `coalesce('v' || ${quote(c)}::text, 'n')`).join(', ')})`;
  const row = await tx.row<{ rows: number; sum: string }>(
    `SELECT COUNT(*)::int AS rows, COALESCE(SUM(('x' || substr(md5(${text}), 1, 15))::bit(60)::bigint), 0)::text AS sum FROM ${quote(table)}`,
  );
  return row ?? { rows: 0, sum: '0' };
}

type Keyed = Map<string, string>;

/** Rows as `key → "a b c"`, values cast to text on both sides so no number is rounded on the way. */
function sqliteKeyed(db: Database.Database, sql: string): Keyed {
  return new Map((db.prepare(sql).raw(true).all() as string[][]).map(([k, ...v]) => [String(k), v.map(String).join(' ')]));
}

async function pgKeyed(tx: PgQueries, sql: string): Promise<Keyed> {
  const rows = await tx.rows<Record<string, unknown>>(sql);
  return new Map(
    rows.map((r) => {
      const [k, ...v] = Object.values(r);
      return [String(k), v.map(String).join(' ')];
    }),
  );
}

const SHOWN = 10;

function compareKeyed(what: string, fields: string, sqlite: Keyed, postgres: Keyed, out: string[]): void {
  const diffs: string[] = [];
  for (const [key, value] of sqlite) {
    const other = postgres.get(key);
    if (other !== value) diffs.push(`${what} ${key}: SQLite (${fields}) ${value}, PostgreSQL ${other ?? 'missing'}`);
  }
  for (const key of postgres.keys()) if (!sqlite.has(key)) diffs.push(`${what} ${key}: in PostgreSQL only`);
  out.push(...diffs.slice(0, SHOWN));
  if (diffs.length > SHOWN) out.push(`… and ${diffs.length - SHOWN} more ${what} differences`);
}

// Limited accounts: every balance change is a ledger row, so the ledger adds up to the balance.
// Unlimited ones keep balance 0 and get ledger rows for the record only (ledger-writer.ts).
const LEDGER_DRIFT = `
  SELECT a.id, CAST(a.unlimited AS TEXT) AS unlimited, CAST(a.balance_micros AS TEXT) AS balance, CAST(COALESCE(SUM(l.amount_micros), 0) AS TEXT) AS ledger
  FROM accounts a LEFT JOIN ledger l ON l.account_id = a.id
  GROUP BY a.id, a.unlimited, a.balance_micros
  HAVING (a.unlimited = 0 AND a.balance_micros <> COALESCE(SUM(l.amount_micros), 0)) OR (a.unlimited <> 0 AND a.balance_micros <> 0)`;

async function verify(db: Database.Database, tx: PgQueries, plans: TablePlan[], copied: Map<string, number>): Promise<string[]> {
  const out: string[] = [];
  for (const plan of plans) {
    const source = sqliteChecksum(db, plan.table, plan.select);
    const target = await pgChecksum(tx, plan.table, plan.columns);
    if (source.rows !== target.rows || copied.get(plan.table) !== source.rows) {
      out.push(`${plan.table}: ${source.rows} rows in SQLite, ${copied.get(plan.table)} copied, ${target.rows} in PostgreSQL`);
    } else if (source.sum !== target.sum) {
      out.push(`${plan.table}: same ${source.rows} rows, but their values differ (checksum ${source.sum} vs ${target.sum})`);
    }
  }
  // Every column aliased: PostgreSQL would name two SUM()s alike, and the rows are read by position.
  const accounts = 'SELECT id AS k, CAST(balance_micros AS TEXT) AS a, CAST(spent_micros AS TEXT) AS b, CAST(unlimited AS TEXT) AS c FROM accounts';
  compareKeyed('account', 'balance spent unlimited', sqliteKeyed(db, accounts), await pgKeyed(tx, accounts), out);
  const ledgerSums = 'SELECT account_id AS k, CAST(SUM(amount_micros) AS TEXT) AS a, CAST(COUNT(*) AS TEXT) AS b FROM ledger GROUP BY account_id';
  compareKeyed('ledger of account', 'sum rows', sqliteKeyed(db, ledgerSums), await pgKeyed(tx, ledgerSums), out);
  const keys = 'SELECT id AS k, CAST(spent_micros AS TEXT) AS a, CAST(in_flight AS TEXT) AS b FROM api_keys';
  compareKeyed('key', 'spent in_flight', sqliteKeyed(db, keys), await pgKeyed(tx, keys), out);
  const byStatus =
    'SELECT status AS k, CAST(COUNT(*) AS TEXT) AS a, CAST(SUM(cost_micros) AS TEXT) AS b, CAST(SUM(reserved_micros) AS TEXT) AS c FROM tasks GROUP BY status';
  compareKeyed('tasks with status', 'count cost reserved', sqliteKeyed(db, byStatus), await pgKeyed(tx, byStatus), out);
  const taskFields = ['id', 'status', 'cost_micros', 'reserved_micros', 'upstream_cost_micros', 'margin_micros', 'account_id', 'key_id'];
  const taskSource = sqliteChecksum(db, 'tasks', taskFields.map(quote));
  const taskTarget = await pgChecksum(tx, 'tasks', taskFields);
  if (taskSource.sum !== taskTarget.sum) {
    out.push(`tasks: the status, cost, upstream cost, margin or owner of some task differs (checksum ${taskSource.sum} vs ${taskTarget.sum})`);
  }

  const drift = await tx.rows<{ id: string; unlimited: string; balance: string; ledger: string }>(LEDGER_DRIFT);
  if (drift.length) {
    const before = new Set((db.prepare(LEDGER_DRIFT).all() as Array<{ id: string }>).map((r) => r.id));
    for (const d of drift.slice(0, SHOWN)) {
      const was = before.has(d.id) ? ' (the SQLite database shows the same: it was so before the copy)' : '';
      out.push(
        d.unlimited === '0'
          ? `account ${d.id}: balance ${d.balance} but its ledger adds up to ${d.ledger}${was}`
          : `account ${d.id}: unlimited, yet its balance is ${d.balance}${was}`,
      );
    }
    if (drift.length > SHOWN) out.push(`… and ${drift.length - SHOWN} more accounts whose ledger does not add up`);
  }
  return out;
}

// ---------------------------------------------------------------- the whole

/** Fails fast and clearly (unreachable host, bad password, no such database) before any work. */
async function reach(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 15_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (error) {
    throw new MigrationRefused(`cannot connect to PostgreSQL at ${redactUrl(url)}: ${errorText(error)}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function migrateToPostgres(sqliteFile: string, url: string, options: MigrationOptions = {}): Promise<MigrationReport> {
  const started = performance.now();
  const now = options.now ?? Date.now;
  const warnings: string[] = [];
  const source = openSource(sqliteFile, options.force ?? false, warnings);
  const { db } = source;
  let target: PgConnection | null = null;
  try {
    checkLeases(db, now(), options.force ?? false, warnings);
    await reach(url);
    target = new PgConnection(url, { maxConnections: 2, applicationName: 'vidgate migrate-to' });
    await target.migrate();
    const plans = await planTables(db, target);
    const sqliteSeq = sqliteSequences(db);

    const result = await target.transaction(async (tx) => {
      // Holds off any vidgate started on this database meanwhile, and a second migrate-to.
      await tx.run(`LOCK TABLE ${COPIED_TABLES.map(quote).join(', ')} IN EXCLUSIVE MODE`);
      await assertEmpty(tx, db);
      const copied = new Map<string, number>();
      for (const plan of plans) {
        options.onTable?.(plan.table);
        copied.set(plan.table, await copyTable(db, tx, plan));
      }
      const sequences = await advanceSequences(tx, plans, sqliteSeq);
      const differences = await verify(db, tx, plans, copied);
      // Thrown inside the transaction: it rolls back, the target keeps its empty schema.
      if (differences.length) throw new MigrationMismatch(differences);
      const accounts = await tx.row<{ total: number; limited: number; balance: number }>(
        `SELECT COUNT(*)::int AS total, COUNT(*) FILTER (WHERE unlimited = 0)::int AS limited,
                COALESCE(SUM(balance_micros) FILTER (WHERE unlimited = 0), 0)::bigint AS balance FROM accounts`,
      );
      return { copied, sequences, accounts: accounts ?? { total: 0, limited: 0, balance: 0 } };
    });

    return {
      source: sqliteFile,
      target: redactUrl(url),
      sqliteSchema: { version: source.version, upgradedFrom: source.upgradedFrom },
      tables: plans.map((p) => ({ name: p.table, rows: result.copied.get(p.table) ?? 0 })),
      accounts: {
        total: result.accounts.total,
        limited: result.accounts.limited,
        unlimited: result.accounts.total - result.accounts.limited,
        balanceMicros: Number(result.accounts.balance),
      },
      sequences: result.sequences,
      warnings,
      durationMs: Math.round(performance.now() - started),
    };
  } finally {
    await target?.close();
    // Rolls back the read transaction, and with it any schema upgrade: the file is left as it was.
    if (db.inTransaction) db.exec('ROLLBACK');
    db.close();
  }
}
