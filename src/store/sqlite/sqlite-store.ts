import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type {
  Account,
  ApiKeyRecord,
  CancelOutcome,
  ClaimOptions,
  KeyLimits,
  LeaseGuard,
  LedgerEntry,
  NewTask,
  Store,
  SubmitOptions,
  SubmitOutcome,
  TaskListQuery,
  TaskRecord,
  TaskResult,
} from '../types.js';
import type { TaskFailure } from '../../contract/failures.js';
import { MIGRATIONS } from './migrations.js';
import { LedgerWriter, toLedgerEntry } from './ledger-writer.js';
import { Checkpointer } from './checkpointer.js';
import { SqliteWebhookQueries } from './webhook-queries.js';

interface TaskRow {
  id: string;
  account_id: string;
  key_id: string;
  status: TaskRecord['status'];
  progress: number;
  request: string;
  seed: number;
  provider: string;
  estimated_seconds: number;
  cost_micros: number;
  reserved_micros: number;
  provider_state: string | null;
  attempts: number;
  interrupted_runs: number;
  interrupted_alone: number;
  lease_owner: string | null;
  lease_expires_at: number | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  result: string | null;
  error: string | null;
  results_collected: number;
  callback_url: string | null;
}

const toTask = (row: TaskRow): TaskRecord => ({
  id: row.id,
  accountId: row.account_id,
  keyId: row.key_id,
  status: row.status,
  progress: row.progress,
  request: JSON.parse(row.request),
  seed: row.seed,
  provider: row.provider,
  providerState: row.provider_state ? JSON.parse(row.provider_state) : null,
  estimatedSeconds: row.estimated_seconds,
  costMicros: row.cost_micros,
  reservedMicros: row.reserved_micros,
  attempts: row.attempts,
  interruptedRuns: row.interrupted_runs,
  interruptedAlone: row.interrupted_alone,
  leaseOwner: row.lease_owner,
  leaseExpiresAt: row.lease_expires_at,
  createdAt: row.created_at,
  startedAt: row.started_at,
  finishedAt: row.finished_at,
  result: row.result ? JSON.parse(row.result) : null,
  error: row.error ? JSON.parse(row.error) : null,
  resultsCollected: row.results_collected === 1,
  callbackUrl: row.callback_url,
});

interface AccountRow {
  id: string;
  name: string;
  unlimited: number;
  balance_micros: number;
  spent_micros: number;
  created_at: number;
}
const toAccount = (row: AccountRow): Account => ({
  id: row.id,
  name: row.name,
  unlimited: row.unlimited === 1,
  balanceMicros: row.balance_micros,
  spentMicros: row.spent_micros,
  createdAt: row.created_at,
});

interface KeyRow {
  id: string;
  account_id: string;
  hash: string;
  prefix: string;
  name: string;
  disabled: number;
  created_at: number;
  spend_cap_micros: number | null;
  spent_micros: number;
  in_flight: number;
  rpm_limit: number | null;
  in_flight_limit: number | null;
  callback_url: string | null;
}
const toKey = (row: KeyRow): ApiKeyRecord => ({
  id: row.id,
  accountId: row.account_id,
  hash: row.hash,
  prefix: row.prefix,
  name: row.name,
  disabled: row.disabled === 1,
  createdAt: row.created_at,
  limits: { spendCapMicros: row.spend_cap_micros, rpmLimit: row.rpm_limit, inFlightLimit: row.in_flight_limit },
  spentMicros: row.spent_micros,
  inFlight: row.in_flight,
  callbackUrl: row.callback_url,
});

/**
 * Fenced by the lease owner: a worker whose lease was taken over cannot write any more. A held task
 * may still be `pending`: an upstream channel holds it while the upstream keeps it queued.
 */
const HELD = `id = @id AND status IN ('pending', 'processing') AND lease_owner = @owner`;
/** Claimable: nobody holds it, or its holder stopped renewing. */
const DUE = `status IN ('pending', 'processing') AND (lease_expires_at IS NULL OR lease_expires_at <= @now)`;

/** The SQLite store; asset and webhook queries live beside it, on the same connection, and are mixed in below. */
export class SqliteStore extends SqliteWebhookQueries implements Store {
  readonly kind = 'sqlite';
  private readonly claimCache = new Map<string, { pick: Database.Statement; take: Database.Statement }>();
  private readonly stmt: ReturnType<SqliteStore['prepareStatements']>;
  private readonly money: LedgerWriter;
  private readonly checkpointer: Checkpointer | null;
  private readonly submitQueue: Array<{
    task: NewTask;
    options: SubmitOptions;
    resolve: (outcome: SubmitOutcome) => void;
    reject: (error: unknown) => void;
  }> = [];

  constructor(readonly file: string) {
    super(SqliteStore.open(file));
    this.money = new LedgerWriter(this.db);
    this.stmt = this.prepareStatements();
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
    SqliteStore.migrate(db);
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

  private prepareStatements() {
    const db = this.db;
    return {
      getSetting: db.prepare('SELECT value FROM settings WHERE name = ?').pluck(),
      initSetting: db.prepare('INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING'),
      insertAccount: db.prepare(
        'INSERT INTO accounts (id, name, unlimited, balance_micros, created_at) VALUES (@id, @name, @unlimited, @balanceMicros, @createdAt)',
      ),
      getAccount: db.prepare('SELECT * FROM accounts WHERE id = ?'),
      listAccounts: db.prepare('SELECT * FROM accounts WHERE id > @after ORDER BY id LIMIT @limit'),
      ledger: db.prepare('SELECT * FROM ledger WHERE account_id = @accountId AND id > @after ORDER BY id LIMIT @limit'),
      insertKey: db.prepare(`
        INSERT INTO api_keys (id, account_id, hash, prefix, name, disabled, created_at, spend_cap_micros, rpm_limit, in_flight_limit)
        VALUES (@id, @accountId, @hash, @prefix, @name, @disabled, @createdAt, @spendCapMicros, @rpmLimit, @inFlightLimit)`),
      getKey: db.prepare('SELECT * FROM api_keys WHERE id = ?'),
      keysOf: db.prepare('SELECT * FROM api_keys WHERE account_id = ? ORDER BY id'),
      // Kept as a counter beside the key, changed in the same transactions as the task's status.
      enterFlight: db.prepare('UPDATE api_keys SET in_flight = in_flight + 1 WHERE id = ?'),
      leaveFlight: db.prepare('UPDATE api_keys SET in_flight = in_flight - 1 WHERE id = (SELECT key_id FROM tasks WHERE id = ?)'),
      idempotent: db.prepare('SELECT body_hash, task_id, created_at FROM idempotency_keys WHERE account_id = ? AND idem_key = ?'),
      rememberIdempotent: db.prepare(`
        INSERT INTO idempotency_keys (account_id, idem_key, body_hash, task_id, created_at) VALUES (@accountId, @key, @bodyHash, @taskId, @now)
        ON CONFLICT (account_id, idem_key) DO UPDATE SET body_hash = excluded.body_hash, task_id = excluded.task_id, created_at = excluded.created_at`),
      cancel: db.prepare(`
        UPDATE tasks SET status = 'cancelled', finished_at = @now, lease_owner = NULL, lease_expires_at = NULL
        WHERE id = @id AND account_id = @accountId AND status IN ('pending', 'processing')`),
      setCost: db.prepare('UPDATE tasks SET cost_micros = ? WHERE id = ?'),
      keyByHash: db.prepare('SELECT * FROM api_keys WHERE hash = ?'),
      keysVersion: db.prepare(`SELECT CAST(value AS INTEGER) FROM settings WHERE name = 'keys_version'`).pluck(),
      anyKey: db.prepare('SELECT 1 FROM api_keys LIMIT 1').pluck(),
      disableKey: db.prepare('UPDATE api_keys SET disabled = ? WHERE id = ?'),
      insertTask: db.prepare(`
        INSERT INTO tasks (id, account_id, key_id, status, model, request, seed, provider, estimated_seconds, cost_micros, reserved_micros, created_at, callback_url)
        VALUES (@id, @accountId, @keyId, 'pending', @model, @request, @seed, @provider, @estimatedSeconds, @costMicros, @costMicros, @createdAt, @callbackUrl)`),
      getTask: db.prepare('SELECT * FROM tasks WHERE id = ?'),
      renew: db.prepare(`UPDATE tasks SET lease_expires_at = @until WHERE ${HELD}`),
      renewAll: db
        .prepare(`UPDATE tasks SET lease_expires_at = @until WHERE lease_owner = @owner AND status IN ('pending', 'processing') RETURNING id`)
        .pluck(),
      progress: db.prepare(`UPDATE tasks SET progress = MAX(progress, @progress) WHERE ${HELD} AND progress < @progress`),
      start: db.prepare(`UPDATE tasks SET status = 'processing', started_at = COALESCE(started_at, @now) WHERE ${HELD} AND status = 'pending'`),
      complete: db.prepare(`
        UPDATE tasks SET status = 'completed', progress = 100, result = @result, result_expires_at = @expiresAt,
          finished_at = @finishedAt, lease_owner = NULL, lease_expires_at = NULL, open_run = 0
        WHERE ${HELD}`),
      fail: db.prepare(`
        UPDATE tasks SET status = @status, error = @error, finished_at = @finishedAt, lease_owner = NULL, lease_expires_at = NULL, open_run = 0
        WHERE ${HELD}`),
      // A run handed back cleanly (shutdown) was not an interrupted attempt: it does not count.
      release: db.prepare(
        `UPDATE tasks SET status = 'pending', lease_owner = NULL, lease_expires_at = NULL, open_run = 0, attempts = MAX(attempts - 1, 0) WHERE ${HELD}`,
      ),
      releaseKeepingStatus: db.prepare(
        `UPDATE tasks SET lease_owner = NULL, lease_expires_at = NULL, open_run = 0, attempts = MAX(attempts - 1, 0) WHERE ${HELD}`,
      ),
      openRun: db.prepare(`UPDATE tasks SET open_run = @mode WHERE ${HELD}`),
      saveState: db.prepare(`UPDATE tasks SET provider_state = @state WHERE ${HELD}`),
      move: db.prepare(`
        UPDATE tasks SET status = 'pending', provider = @provider, provider_state = @state, attempts = 0, lease_owner = NULL, lease_expires_at = @notBefore, open_run = 0
        WHERE ${HELD}`),
      expire: db.prepare(`UPDATE tasks SET lease_expires_at = 0 WHERE ${HELD}`),
      leasedBy: db.prepare(`SELECT id, lease_owner AS owner FROM tasks WHERE status IN ('pending', 'processing') AND lease_owner LIKE ? ESCAPE '\\'`),
      expiredResults: db.prepare(`
        SELECT * FROM tasks WHERE results_collected = 0 AND result_expires_at IS NOT NULL AND result_expires_at <= ?
        ORDER BY result_expires_at LIMIT ?`),
      markCollected: db.prepare('UPDATE tasks SET results_collected = 1 WHERE id = ?'),
      unfinished: db.prepare(`SELECT provider, status, COUNT(*) AS count FROM tasks WHERE status IN ('pending', 'processing') GROUP BY provider, status`),
    };
  }

  async ping(): Promise<void> {
    this.db.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    await this.checkpointer?.close();
    if (this.db.open) this.db.close();
  }

  async getSetting(name: string): Promise<string | null> {
    return (this.stmt.getSetting.get(name) as string | undefined) ?? null;
  }

  async initSetting(name: string, value: string): Promise<string> {
    this.stmt.initSetting.run(name, value);
    return this.stmt.getSetting.get(name) as string;
  }

  async createAccount(account: Omit<Account, 'spentMicros'>): Promise<void> {
    this.db
      .transaction(() => {
        this.stmt.insertAccount.run({ ...account, unlimited: account.unlimited ? 1 : 0, balanceMicros: 0 });
        if (!account.unlimited && account.balanceMicros > 0) {
          this.money.move({
            accountId: account.id,
            keyId: null,
            taskId: null,
            kind: 'topup',
            amountMicros: account.balanceMicros,
            note: 'opening balance',
            now: account.createdAt,
          });
        }
      })
      .immediate();
  }

  async getAccount(id: string): Promise<Account | null> {
    const row = this.stmt.getAccount.get(id) as AccountRow | undefined;
    return row ? toAccount(row) : null;
  }

  async listAccounts(limit: number, after = ''): Promise<Account[]> {
    return (this.stmt.listAccounts.all({ limit, after }) as AccountRow[]).map(toAccount);
  }

  async topUp(accountId: string, amountMicros: number, note: string | null, now: number): Promise<number> {
    if (!Number.isSafeInteger(amountMicros) || amountMicros <= 0) throw new Error('a top-up must be a positive amount');
    return this.db
      .transaction(() => {
        this.money.move({ accountId, keyId: null, taskId: null, kind: 'topup', amountMicros, note, now });
        return (this.stmt.getAccount.get(accountId) as AccountRow).balance_micros;
      })
      .immediate();
  }

  async listLedger(accountId: string, limit: number, afterId = 0): Promise<LedgerEntry[]> {
    return (this.stmt.ledger.all({ accountId, limit, after: afterId }) as Parameters<typeof toLedgerEntry>[0][]).map(toLedgerEntry);
  }

  async createApiKey(key: Omit<ApiKeyRecord, 'spentMicros' | 'inFlight'>): Promise<void> {
    this.stmt.insertKey.run({ ...key, ...key.limits, disabled: key.disabled ? 1 : 0 });
  }

  async getApiKey(id: string): Promise<ApiKeyRecord | null> {
    const row = this.stmt.getKey.get(id) as KeyRow | undefined;
    return row ? toKey(row) : null;
  }

  async listApiKeys(accountId: string): Promise<ApiKeyRecord[]> {
    return (this.stmt.keysOf.all(accountId) as KeyRow[]).map(toKey);
  }

  async updateApiKeyLimits(id: string, limits: Partial<KeyLimits>): Promise<boolean> {
    const columns: Record<keyof KeyLimits, string> = { spendCapMicros: 'spend_cap_micros', rpmLimit: 'rpm_limit', inFlightLimit: 'in_flight_limit' };
    const set = (Object.keys(limits) as Array<keyof KeyLimits>).filter((k) => k in columns);
    if (set.length === 0) return (await this.getApiKey(id)) !== null;
    const sql = `UPDATE api_keys SET ${set.map((k) => `${columns[k]} = @${k}`).join(', ')} WHERE id = @id`;
    return this.statement(sql).run({ ...limits, id }).changes === 1;
  }

  async keysVersion(): Promise<number> {
    return (this.stmt.keysVersion.get() as number | undefined) ?? 0;
  }

  async findApiKeyByHash(hash: string): Promise<ApiKeyRecord | null> {
    const row = this.stmt.keyByHash.get(hash) as KeyRow | undefined;
    return row ? toKey(row) : null;
  }

  async hasApiKeys(): Promise<boolean> {
    return this.stmt.anyKey.get() !== undefined;
  }

  async updateApiKey(id: string, change: { disabled?: boolean; limits?: Partial<KeyLimits>; callbackUrl?: string | null }): Promise<ApiKeyRecord | null> {
    // Synchronous statements inside one transaction: the async wrappers only return their results.
    return this.db
      .transaction(() => {
        if (!this.stmt.getKey.get(id)) return false;
        if (change.disabled !== undefined) this.stmt.disableKey.run(change.disabled ? 1 : 0, id);
        const columns: Record<keyof KeyLimits, string> = { spendCapMicros: 'spend_cap_micros', rpmLimit: 'rpm_limit', inFlightLimit: 'in_flight_limit' };
        const set = (Object.keys(change.limits ?? {}) as Array<keyof KeyLimits>).filter((k) => k in columns);
        if (set.length)
          this.statement(`UPDATE api_keys SET ${set.map((k) => `${columns[k]} = @${k}`).join(', ')} WHERE id = @id`).run({ ...change.limits, id });
        if (change.callbackUrl !== undefined) this.statement('UPDATE api_keys SET callback_url = ? WHERE id = ?').run(change.callbackUrl, id);
        return true;
      })
      .immediate()
      ? this.getApiKey(id)
      : null;
  }

  async setApiKeyDisabled(id: string, disabled: boolean): Promise<boolean> {
    return this.stmt.disableKey.run(disabled ? 1 : 0, id).changes === 1;
  }

  /**
   * Submits arriving in the same turn of the event loop share one write transaction (group commit):
   * each runs in its own savepoint, in arrival order, so each sees the balance the previous ones
   * left and a failing one rolls back alone, while the commit cost is paid once for the group.
   */
  submitTask(task: NewTask, o: SubmitOptions): Promise<SubmitOutcome> {
    return new Promise((resolve, reject) => {
      this.submitQueue.push({ task, options: o, resolve, reject });
      if (this.submitQueue.length === 1) setImmediate(() => this.flushSubmits());
    });
  }

  private flushSubmits(): void {
    const batch = this.submitQueue.splice(0);
    const outcomes: Array<{ ok: true; value: SubmitOutcome } | { ok: false; error: unknown }> = [];
    try {
      this.db
        .transaction(() => {
          for (const item of batch) {
            try {
              outcomes.push({ ok: true, value: this.submitOne(item.task, item.options) });
            } catch (error) {
              outcomes.push({ ok: false, error });
            }
          }
        })
        .immediate();
    } catch (error) {
      for (const item of batch) item.reject(error);
      return;
    }
    batch.forEach((item, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) item.resolve(outcome.value);
      else item.reject(outcome.error);
    });
  }

  /** One submit inside the group's transaction; a nested transaction is a savepoint. */
  private submitOne(task: NewTask, o: SubmitOptions): SubmitOutcome {
    return this.db.transaction((): SubmitOutcome => {
      if (o.idempotency) {
        const seen = this.stmt.idempotent.get(task.accountId, o.idempotency.key) as { body_hash: string; task_id: string; created_at: number } | undefined;
        if (seen && seen.created_at >= o.idempotency.since) {
          return seen.body_hash === o.idempotency.bodyHash ? { kind: 'replayed', taskId: seen.task_id } : { kind: 'idempotency_conflict' };
        }
      }
      const account = this.stmt.getAccount.get(task.accountId) as AccountRow;
      const key = this.stmt.getKey.get(task.keyId) as KeyRow;
      if (key.in_flight >= o.inFlightLimit) {
        return { kind: 'too_many_in_flight', limit: o.inFlightLimit };
      }
      if (key.spend_cap_micros !== null && key.spent_micros + task.costMicros > key.spend_cap_micros) {
        return { kind: 'key_cap_reached', remainingMicros: Math.max(0, key.spend_cap_micros - key.spent_micros) };
      }
      if (account.unlimited === 0 && account.balance_micros < task.costMicros) {
        return { kind: 'insufficient_balance', balanceMicros: account.balance_micros };
      }
      this.stmt.insertTask.run({ ...task, model: task.request.model, request: JSON.stringify(task.request), callbackUrl: task.callbackUrl ?? null });
      this.stmt.enterFlight.run(task.keyId);
      this.money.move({
        accountId: task.accountId,
        keyId: task.keyId,
        taskId: task.id,
        kind: 'reserve',
        amountMicros: -task.costMicros,
        note: null,
        now: task.createdAt,
      });
      if (o.idempotency) {
        this.stmt.rememberIdempotent.run({
          accountId: task.accountId,
          key: o.idempotency.key,
          bodyHash: o.idempotency.bodyHash,
          taskId: task.id,
          now: task.createdAt,
        });
      }
      return { kind: 'created' };
    })();
  }

  async getTask(id: string): Promise<TaskRecord | null> {
    const row = this.stmt.getTask.get(id) as TaskRow | undefined;
    return row ? toTask(row) : null;
  }

  async listTasks(q: TaskListQuery): Promise<TaskRecord[]> {
    const where = ['account_id = @accountId'];
    if (q.status) where.push('status = @status');
    if (q.model) where.push('model = @model');
    if (q.after) where.push('id < @after');
    const rows = this.statement(`SELECT * FROM tasks WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT @limit`).all({ ...q }) as TaskRow[];
    return rows.map(toTask);
  }

  private claimStatements(providerCount: number, interrupted: ClaimOptions['interrupted']): { pick: Database.Statement; take: Database.Statement } {
    const cacheKey = `${providerCount}/${interrupted ?? 'any'}`;
    let statements = this.claimCache.get(cacheKey);
    if (!statements) {
      const providers = Array.from({ length: providerCount }, (_, i) => `@p${i}`).join(', ');
      const which = interrupted === 'only' ? ' AND open_run > 0' : interrupted === 'exclude' ? ' AND open_run = 0' : '';
      statements = {
        pick: this.db.prepare(`SELECT id FROM tasks WHERE provider IN (${providers}) AND ${DUE}${which} ORDER BY id LIMIT @limit`).pluck(),
        // SET reads the row as it was: a run still open then is one that never ended.
        take: this.db.prepare(`
          UPDATE tasks SET status = CASE WHEN @start = 1 THEN 'processing' ELSE status END,
            started_at = CASE WHEN @start = 1 THEN COALESCE(started_at, @now) ELSE started_at END,
            lease_owner = @owner, lease_expires_at = @until, attempts = attempts + 1,
            interrupted_runs = interrupted_runs + (open_run > 0), interrupted_alone = interrupted_alone + (open_run = 2),
            open_run = @runMode
          WHERE id = @id AND ${DUE}
          RETURNING *`),
      };
      this.claimCache.set(cacheKey, statements);
    }
    return statements;
  }

  async claimTasks(o: ClaimOptions): Promise<TaskRecord[]> {
    if (o.limit <= 0 || o.providers.length === 0) return [];
    const params: Record<string, unknown> = {
      owner: o.owner,
      now: o.now,
      until: o.now + o.leaseMs,
      limit: o.limit,
      start: o.markProcessing === false ? 0 : 1,
      runMode: o.alone ? 2 : 1,
    };
    o.providers.forEach((p, i) => (params[`p${i}`] = p));
    const { pick, take } = this.claimStatements(o.providers.length, o.interrupted);
    // Pick, then take each row, in one write transaction: no other writer runs in between, the same
    // guarantee PostgreSQL gets from SELECT … FOR UPDATE SKIP LOCKED before its UPDATE.
    const rows = this.db
      .transaction(() => (pick.all(params) as string[]).map((id) => take.get({ ...params, id }) as TaskRow | undefined).filter((r) => r !== undefined))
      .immediate();
    return rows.map(toTask);
  }

  async hasInterruptedTask(providers: readonly string[], now: number): Promise<boolean> {
    if (providers.length === 0) return false;
    const placeholders = providers.map(() => '?').join(', ');
    const due = DUE.replace('@now', '?');
    return (
      this.statement(`SELECT 1 FROM tasks WHERE open_run > 0 AND provider IN (${placeholders}) AND ${due} LIMIT 1`)
        .pluck()
        .get(...providers, now) === 1
    );
  }

  async setRunOpen(g: LeaseGuard, open: 'alone' | 'shared' | false): Promise<boolean> {
    return this.stmt.openRun.run({ ...g, mode: open === 'alone' ? 2 : open === 'shared' ? 1 : 0 }).changes === 1;
  }

  async renewLease(g: LeaseGuard, expiresAt: number): Promise<boolean> {
    return this.stmt.renew.run({ ...g, until: expiresAt }).changes === 1;
  }

  async renewLeases(owner: string, expiresAt: number): Promise<string[]> {
    return this.stmt.renewAll.all({ owner, until: expiresAt }) as string[];
  }

  async reportProgress(g: LeaseGuard, progress: number): Promise<boolean> {
    return (await this.reportProgressMany([{ guard: g, progress }])).length === 1;
  }

  async reportProgressMany(updates: ReadonlyArray<{ guard: LeaseGuard; progress: number }>): Promise<string[]> {
    if (updates.length === 0) return [];
    return this.db.transaction(() =>
      updates
        .filter(({ guard, progress }) => this.stmt.progress.run({ ...guard, progress: Math.max(0, Math.min(99, Math.floor(progress))) }).changes === 1)
        .map(({ guard }) => guard.id),
    )();
  }

  async markProcessing(g: LeaseGuard, now: number): Promise<boolean> {
    return this.stmt.start.run({ ...g, now }).changes === 1;
  }

  async completeTask(g: LeaseGuard, result: TaskResult, finishedAt: number, finalCostMicros: number): Promise<boolean> {
    return this.db
      .transaction(() => {
        if (this.stmt.complete.run({ ...g, result: JSON.stringify(result), expiresAt: result.expiresAt, finishedAt }).changes !== 1) return false;
        this.stmt.leaveFlight.run(g.id);
        const task = toTask(this.stmt.getTask.get(g.id) as TaskRow);
        // Never charge more than was reserved: the reservation is the price the client agreed to.
        const cost = Math.min(Math.max(0, Math.round(finalCostMicros)), task.reservedMicros);
        const giveBack = task.reservedMicros - cost;
        if (giveBack > 0) {
          this.money.move({
            accountId: task.accountId,
            keyId: task.keyId,
            taskId: task.id,
            kind: 'settle',
            amountMicros: giveBack,
            note: 'settled to the exact price',
            now: finishedAt,
          });
        }
        this.stmt.setCost.run(cost, task.id);
        return true;
      })
      .immediate();
  }

  async failTask(g: LeaseGuard, failure: TaskFailure, finishedAt: number): Promise<boolean> {
    return this.endHeldTask(g, 'failed', failure, finishedAt);
  }

  async cancelHeldTask(g: LeaseGuard, reason: TaskFailure, finishedAt: number): Promise<boolean> {
    return this.endHeldTask(g, 'cancelled', reason, finishedAt);
  }

  /** Ends a held task without a result: the status, its reason, out of flight and refunded, together. */
  private endHeldTask(g: LeaseGuard, status: 'failed' | 'cancelled', reason: TaskFailure, finishedAt: number): boolean {
    return this.db
      .transaction(() => {
        if (this.stmt.fail.run({ ...g, status, error: JSON.stringify(reason), finishedAt }).changes !== 1) return false;
        this.stmt.leaveFlight.run(g.id);
        this.refundInside(g.id, finishedAt, `task ${status}: ${reason.code}`);
        return true;
      })
      .immediate();
  }

  async cancelTask(id: string, accountId: string, now: number): Promise<CancelOutcome> {
    return this.db
      .transaction((): CancelOutcome => {
        if (this.stmt.cancel.run({ id, accountId, now }).changes === 1) {
          this.stmt.leaveFlight.run(id);
          this.refundInside(id, now, 'task cancelled');
          return { kind: 'cancelled', task: toTask(this.stmt.getTask.get(id) as TaskRow) };
        }
        const row = this.stmt.getTask.get(id) as TaskRow | undefined;
        if (!row || row.account_id !== accountId) return { kind: 'not_found' };
        return { kind: 'already_finished', status: row.status };
      })
      .immediate();
  }

  async refundTask(id: string, now: number, note: string): Promise<number> {
    return this.db.transaction(() => this.refundInside(id, now, note)).immediate();
  }

  /** Gives back what is still held for the task; the ledger's unique index makes a second refund a no-op. */
  private refundInside(id: string, now: number, note: string): number {
    const task = toTask(this.stmt.getTask.get(id) as TaskRow);
    if (task.status === 'completed' || task.reservedMicros === 0) return 0;
    const moved = this.money.move({ accountId: task.accountId, keyId: task.keyId, taskId: id, kind: 'refund', amountMicros: task.reservedMicros, note, now });
    if (!moved) return 0;
    this.stmt.setCost.run(0, id);
    return task.reservedMicros;
  }

  async releaseTask(g: LeaseGuard, options?: { keepStatus?: boolean }): Promise<boolean> {
    return (options?.keepStatus ? this.stmt.releaseKeepingStatus : this.stmt.release).run(g).changes === 1;
  }

  async saveProviderState(g: LeaseGuard, state: unknown): Promise<boolean> {
    return this.stmt.saveState.run({ ...g, state: JSON.stringify(state) }).changes === 1;
  }

  async moveTask(g: LeaseGuard, provider: string, state: unknown, notBefore?: number): Promise<boolean> {
    return this.stmt.move.run({ ...g, provider, state: JSON.stringify(state), notBefore: notBefore ?? null }).changes === 1;
  }

  async listLeasedBy(ownerPrefix: string): Promise<Array<{ id: string; owner: string }>> {
    const pattern = `${ownerPrefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    return this.stmt.leasedBy.all(pattern) as Array<{ id: string; owner: string }>;
  }

  async expireLease(g: LeaseGuard): Promise<boolean> {
    return this.stmt.expire.run(g).changes === 1;
  }

  async nextLeaseExpiry(providers: readonly string[]): Promise<number | null> {
    if (providers.length === 0) return null;
    const placeholders = providers.map(() => '?').join(', ');
    const value = this.statement(`SELECT MIN(lease_expires_at) FROM tasks WHERE status IN ('pending', 'processing') AND provider IN (${placeholders})`)
      .pluck()
      .get(...providers) as number | null;
    return value ?? null;
  }

  async countUnfinishedTasks(): Promise<Array<{ provider: string; status: TaskRecord['status']; count: number }>> {
    return this.stmt.unfinished.all() as Array<{ provider: string; status: TaskRecord['status']; count: number }>;
  }

  async listExpiredResults(now: number, limit: number): Promise<TaskRecord[]> {
    return (this.stmt.expiredResults.all(now, limit) as TaskRow[]).map(toTask);
  }

  async markResultsCollected(id: string): Promise<void> {
    this.stmt.markCollected.run(id);
  }
}
