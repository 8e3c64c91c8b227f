import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { MIGRATIONS } from './migrations.js';
import { Checkpointer } from './checkpointer.js';

/**
 * The one better-sqlite3 connection every part of the SQLite store shares, with the helpers they all
 * use: transactions and a cache of statements whose SQL is built per call.
 */
export class SqliteConnection {
  readonly db: Database.Database;
  private readonly prepared = new Map<string, Database.Statement>();
  private readonly checkpointer: Checkpointer | null;

  constructor(readonly file: string) {
    this.db = SqliteConnection.open(file);
    this.checkpointer = file === ':memory:' ? null : new Checkpointer(file);
  }

  /** Opens the file with the settings vidgate relies on and brings its schema up to date. */
  private static open(file: string): Database.Database {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode survives a process crash (kill -9); only a power loss can drop the last commits.
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    db.pragma('foreign_keys = ON');
    // The Checkpointer copies the log back into the database on its own thread, so no commit here
    // pays for it.
    db.pragma('wal_autocheckpoint = 0');
    // better-sqlite3 builds SQLite with a 16 MB page cache per connection, which a busy gateway fills
    // and keeps (native memory, outside the JS heap). 4 MB holds the hot pages; the rest is one read
    // from the OS page cache away.
    db.pragma('cache_size = -4000');
    SqliteConnection.migrate(db);
    return db;
  }

  private static migrate(db: Database.Database): void {
    db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
    const applied = new Set((db.prepare('SELECT version FROM schema_migrations').all() as Array<{ version: number }>).map((r) => r.version));
    const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
    for (const migration of MIGRATIONS) {
      if (applied.has(migration.version)) continue;
      db.transaction(() => {
        db.exec(migration.sql);
        record.run(migration.version, migration.name, Date.now());
      }).immediate();
    }
  }

  /**
   * Runs `fn` in a transaction that takes the write lock at BEGIN (IMMEDIATE): a busy database makes it
   * wait there, under busy_timeout, instead of failing at its first write.
   */
  writeTransaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  /** Runs `fn` in a deferred transaction, or in a savepoint when a transaction is already open. */
  deferredTransaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  /**
   * A statement whose SQL is built per call (filters, IN lists), prepared once per distinct text: a
   * statement prepared per call holds native memory until the garbage collector finalizes it.
   */
  statement(sql: string): Database.Statement {
    let statement = this.prepared.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.prepared.set(sql, statement);
    }
    return statement;
  }

  /**
   * Counts a change to what authenticates a key (disabled, limits, default callback), so that key
   * caches in every process sharing the file notice it; called in the transaction of the change.
   */
  keysChanged(): void {
    this.statement(`UPDATE settings SET value = CAST(value AS INTEGER) + 1 WHERE name = 'keys_version'`).run();
  }

  async ping(): Promise<void> {
    this.db.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    await this.checkpointer?.close();
    if (this.db.open) this.db.close();
  }
}
