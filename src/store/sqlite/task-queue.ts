import type Database from 'better-sqlite3';
import type { TaskFailure } from '../../contract/failures.js';
import type {
  CancelOutcome,
  ClaimOptions,
  LeaseGuard,
  NewTask,
  SubmitOptions,
  SubmitOutcome,
  TaskListQuery,
  TaskQueueStore,
  TaskRecord,
  TaskResult,
} from '../task-queue-store.js';
import type { AccountRow, KeyRow } from '../sql/account-rows.js';
import type { SqliteConnection } from './connection.js';
import { GroupCommit } from './group-commit.js';
import { SqliteOutbox } from './outbox.js';
import { margin, refundableMicros, settlement, submitRefusal } from '../../billing/money-rules.js';
import type { LedgerWriter } from './ledger-writer.js';
import { type TaskRow, toTask } from '../sql/task-row.js';
import { taskListFilters } from '../sql/task-list.js';
import { DUE, HELD, LAPSED, QUEUED } from './task-rows.js';
import { columnList, rowReader } from './row-reader.js';

/**
 * The tasks table and the queue it is. Reserving, settling and refunding write the ledger through the
 * shared `LedgerWriter`, inside the same transaction as the task change they belong to.
 */
export class SqliteTaskQueue implements TaskQueueStore {
  private readonly s;
  private readonly claimCache = new Map<string, { pick: Database.Statement; take: Database.Statement }>();
  private readonly submits: GroupCommit<{ task: NewTask; options: SubmitOptions }, SubmitOutcome>;
  private readonly outbox: SqliteOutbox;

  constructor(
    private readonly connection: SqliteConnection,
    private readonly money: LedgerWriter,
  ) {
    const db = connection.db;
    this.outbox = new SqliteOutbox(db);
    this.submits = new GroupCommit(connection, ({ task, options }) => this.submitOne(task, options));
    const taskColumns = columnList(db, 'tasks');
    this.s = {
      // The balance and the key's cap and counters, read by a submit inside its own transaction.
      getAccount: rowReader<AccountRow>(db.prepare(`SELECT ${columnList(db, 'accounts')} FROM accounts WHERE id = ?`)),
      getKey: rowReader<KeyRow>(db.prepare(`SELECT ${columnList(db, 'api_keys')} FROM api_keys WHERE id = ?`)),
      // Kept as a counter beside the key, changed in the same transactions as the task's status.
      enterFlight: db.prepare('UPDATE api_keys SET in_flight = in_flight + 1 WHERE id = ?'),
      leaveFlight: db.prepare('UPDATE api_keys SET in_flight = in_flight - 1 WHERE id = (SELECT key_id FROM tasks WHERE id = ?)'),
      idempotent: db.prepare('SELECT body_hash, task_id, created_at FROM idempotency_keys WHERE account_id = ? AND idem_key = ?'),
      rememberIdempotent: db.prepare(`
        INSERT INTO idempotency_keys (account_id, idem_key, body_hash, task_id, created_at) VALUES (@accountId, @key, @bodyHash, @taskId, @now)
        ON CONFLICT (account_id, idem_key) DO UPDATE SET body_hash = excluded.body_hash, task_id = excluded.task_id, created_at = excluded.created_at`),
      cancel: db.prepare(`
        UPDATE tasks SET status = 'cancelled', finished_at = @now, lease_owner = NULL, lease_expires_at = NULL, upstream_cost_micros = NULL
        WHERE id = @id AND account_id = @accountId AND status IN ('pending', 'processing')`),
      setCost: db.prepare('UPDATE tasks SET cost_micros = ? WHERE id = ?'),
      setUpstreamCost: db.prepare('UPDATE tasks SET upstream_cost_micros = @upstream, margin_micros = @margin WHERE id = @id'),
      // The two task reads of a submit and a status poll build their rows in JS (row-reader.ts).
      insertTask: rowReader<TaskRow>(
        db.prepare(`
        INSERT INTO tasks (id, account_id, key_id, status, model, request, seed, provider, estimated_seconds, cost_micros, reserved_micros, created_at, callback_url,
          upstream_cost_micros)
        VALUES (@id, @accountId, @keyId, 'pending', @model, @request, @seed, @provider, @estimatedSeconds, @costMicros, @costMicros, @createdAt, @callbackUrl,
          @upstreamCostMicros)
        RETURNING ${taskColumns}`),
      ),
      getTask: rowReader<TaskRow>(db.prepare(`SELECT ${taskColumns} FROM tasks WHERE id = ?`)),
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
        UPDATE tasks SET status = @status, error = @error, finished_at = @finishedAt, lease_owner = NULL, lease_expires_at = NULL, open_run = 0,
          upstream_cost_micros = NULL
        WHERE ${HELD}`),
      // A run handed back cleanly (shutdown) was not an interrupted attempt: it does not count.
      release: db.prepare(
        `UPDATE tasks SET status = 'pending', lease_owner = NULL, lease_expires_at = NULL, open_run = 0, attempts = MAX(attempts - 1, 0) WHERE ${HELD}`,
      ),
      releaseKeepingStatus: db.prepare(
        `UPDATE tasks SET lease_owner = NULL, lease_expires_at = NULL, open_run = 0, attempts = MAX(attempts - 1, 0) WHERE ${HELD}`,
      ),
      // An attempt is a run that never ended: opening a run takes one, ending it (parked) gives it back.
      openRun: db.prepare(`
        UPDATE tasks SET attempts = MAX(attempts + CASE WHEN open_run = 0 AND @mode > 0 THEN 1 WHEN open_run > 0 AND @mode = 0 THEN -1 ELSE 0 END, 0),
          open_run = @mode
        WHERE ${HELD}`),
      saveState: db.prepare(`UPDATE tasks SET provider_state = @state WHERE ${HELD}`),
      move: db.prepare(`
        UPDATE tasks SET status = 'pending', provider = @provider, provider_state = @state, attempts = 0, lease_owner = NULL, lease_expires_at = @notBefore, open_run = 0,
          upstream_cost_micros = @upstreamCostMicros
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

  /**
   * Submits arriving in the same turn of the event loop share one write transaction (group commit):
   * each runs in its own savepoint, in arrival order, so each sees the balance the previous ones
   * left and a failing one rolls back alone, while the commit cost is paid once for the group.
   */
  submitTask(task: NewTask, options: SubmitOptions): Promise<SubmitOutcome> {
    return this.submits.write({ task, options });
  }

  /** One submit inside the group's transaction; a nested transaction is a savepoint. */
  private submitOne(task: NewTask, o: SubmitOptions): SubmitOutcome {
    return this.connection.deferredTransaction((): SubmitOutcome => {
      if (o.idempotency) {
        const seen = this.s.idempotent.get(task.accountId, o.idempotency.key) as { body_hash: string; task_id: string; created_at: number } | undefined;
        if (seen && seen.created_at >= o.idempotency.since) {
          return seen.body_hash === o.idempotency.bodyHash ? { kind: 'replayed', taskId: seen.task_id } : { kind: 'idempotency_conflict' };
        }
      }
      if (o.replayOnly) return { kind: 'not_replayed' };
      const account = this.s.getAccount.get(task.accountId) as AccountRow;
      const key = this.s.getKey.get(task.keyId) as KeyRow;
      const refusal = submitRefusal({
        account: { unlimited: account.unlimited === 1, balanceMicros: account.balance_micros },
        key: { inFlight: key.in_flight, spendCapMicros: key.spend_cap_micros, spentMicros: key.spent_micros },
        costMicros: task.costMicros,
        inFlightLimit: o.inFlightLimit,
      });
      if (refusal) return refusal;
      const row = this.s.insertTask.get({
        ...task,
        model: task.request.model,
        request: JSON.stringify(task.request),
        callbackUrl: task.callbackUrl ?? null,
        upstreamCostMicros: task.upstreamCostMicros ?? null,
      }) as TaskRow;
      this.s.enterFlight.run(task.keyId);
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
        this.s.rememberIdempotent.run({
          accountId: task.accountId,
          key: o.idempotency.key,
          bodyHash: o.idempotency.bodyHash,
          taskId: task.id,
          now: task.createdAt,
        });
      }
      return { kind: 'created', task: toTask(row) };
    });
  }

  async getTask(id: string): Promise<TaskRecord | null> {
    const row = this.s.getTask.get(id) as TaskRow | undefined;
    return row ? toTask(row) : null;
  }

  async listTasks(q: TaskListQuery): Promise<TaskRecord[]> {
    const filters = taskListFilters(q);
    const where = ['account_id = ?', ...filters.map(([condition]) => `${condition} ?`)];
    const rows = this.connection
      .statement(`SELECT * FROM tasks WHERE ${where.join(' AND ')} ORDER BY id ${q.order === 'asc' ? 'ASC' : 'DESC'} LIMIT ?`)
      .all(q.accountId, ...filters.map(([, value]) => value), q.limit) as TaskRow[];
    return rows.map(toTask);
  }

  private claimStatements(providerCount: number, interrupted: ClaimOptions['interrupted']): { pick: Database.Statement; take: Database.Statement } {
    const cacheKey = `${providerCount}/${interrupted ?? 'any'}`;
    let statements = this.claimCache.get(cacheKey);
    if (!statements) {
      const db = this.connection.db;
      const providers = Array.from({ length: providerCount }, (_, i) => `@p${i}`).join(', ');
      const which = interrupted === 'only' ? ' AND open_run > 0' : interrupted === 'exclude' ? ' AND open_run = 0' : '';
      statements = {
        // DUE as its two ranges of tasks_due_at: the oldest of the queue read in index order, the few
        // lapsed leases beside them; ordered by id together, as one range would be.
        pick: db.prepare(`
          SELECT id, status FROM (SELECT id, status FROM tasks WHERE provider IN (${providers}) AND ${QUEUED}${which} ORDER BY id LIMIT @limit)
          UNION ALL
          SELECT id, status FROM (SELECT id, status FROM tasks WHERE provider IN (${providers}) AND ${LAPSED}${which} ORDER BY id LIMIT @limit)
          ORDER BY id LIMIT @limit`),
        // SET reads the row as it was: a run still open then is one that never ended.
        take: db.prepare(`
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
    // guarantee PostgreSQL gets from SELECT … FOR NO KEY UPDATE SKIP LOCKED before its UPDATE.
    const rows = this.connection.writeTransaction(() =>
      (pick.all(params) as Array<{ id: string; status: TaskRecord['status'] }>).flatMap(({ id, status }) => {
        const row = take.get({ ...params, id }) as TaskRow | undefined;
        if (!row) return [];
        if (row.status !== status) this.outbox.record(id, status, o.now);
        return [row];
      }),
    );
    return rows.map(toTask);
  }

  async hasInterruptedTask(providers: readonly string[], now: number): Promise<boolean> {
    if (providers.length === 0) return false;
    const placeholders = providers.map(() => '?').join(', ');
    // A run open means a lease (LAPSED): the queue's range, however long, is never read.
    const lapsed = LAPSED.replace('@now', '?');
    return (
      this.connection
        .statement(`SELECT 1 FROM tasks WHERE open_run > 0 AND provider IN (${placeholders}) AND ${lapsed} LIMIT 1`)
        .pluck()
        .get(...providers, now) === 1
    );
  }

  async setRunOpen(g: LeaseGuard, open: 'alone' | 'shared' | false): Promise<boolean> {
    return this.s.openRun.run({ ...g, mode: open === 'alone' ? 2 : open === 'shared' ? 1 : 0 }).changes === 1;
  }

  async renewLease(g: LeaseGuard, expiresAt: number): Promise<boolean> {
    return this.s.renew.run({ ...g, until: expiresAt }).changes === 1;
  }

  async renewLeases(owner: string, expiresAt: number): Promise<string[]> {
    return this.s.renewAll.all({ owner, until: expiresAt }) as string[];
  }

  async reportProgress(g: LeaseGuard, progress: number): Promise<boolean> {
    return (await this.reportProgressMany([{ guard: g, progress }])).length === 1;
  }

  async reportProgressMany(updates: ReadonlyArray<{ guard: LeaseGuard; progress: number }>): Promise<string[]> {
    if (updates.length === 0) return [];
    return this.connection.deferredTransaction(() =>
      updates
        .filter(({ guard, progress }) => this.s.progress.run({ ...guard, progress: Math.max(0, Math.min(99, Math.floor(progress))) }).changes === 1)
        .map(({ guard }) => guard.id),
    );
  }

  async markProcessing(g: LeaseGuard, now: number): Promise<boolean> {
    return this.connection.writeTransaction(() => {
      if (this.s.start.run({ ...g, now }).changes !== 1) return false;
      this.outbox.record(g.id, 'pending', now);
      return true;
    });
  }

  async completeTask(
    g: LeaseGuard,
    result: TaskResult,
    finishedAt: number,
    finalCostMicros: number,
    upstreamCostMicros: number | null = null,
  ): Promise<boolean> {
    return this.connection.writeTransaction(() => {
      if (this.s.complete.run({ ...g, result: JSON.stringify(result), expiresAt: result.expiresAt, finishedAt }).changes !== 1) return false;
      this.s.leaveFlight.run(g.id);
      const task = toTask(this.s.getTask.get(g.id) as TaskRow);
      const { costMicros, giveBackMicros } = settlement(task.reservedMicros, finalCostMicros);
      if (giveBackMicros > 0) {
        this.money.move({
          accountId: task.accountId,
          keyId: task.keyId,
          taskId: task.id,
          kind: 'settle',
          amountMicros: giveBackMicros,
          note: 'settled to the exact price',
          now: finishedAt,
        });
      }
      this.s.setCost.run(costMicros, task.id);
      this.s.setUpstreamCost.run({ id: task.id, upstream: upstreamCostMicros, margin: margin(costMicros, upstreamCostMicros) });
      this.outbox.record(task.id, null, finishedAt);
      return true;
    });
  }

  async failTask(g: LeaseGuard, failure: TaskFailure, finishedAt: number): Promise<boolean> {
    return this.endHeldTask(g, 'failed', failure, finishedAt);
  }

  async cancelHeldTask(g: LeaseGuard, reason: TaskFailure, finishedAt: number): Promise<boolean> {
    return this.endHeldTask(g, 'cancelled', reason, finishedAt);
  }

  /** Ends a held task without a result: the status, its reason, out of flight and refunded, together. */
  private endHeldTask(g: LeaseGuard, status: 'failed' | 'cancelled', reason: TaskFailure, finishedAt: number): boolean {
    return this.connection.writeTransaction(() => {
      if (this.s.fail.run({ ...g, status, error: JSON.stringify(reason), finishedAt }).changes !== 1) return false;
      this.s.leaveFlight.run(g.id);
      this.refundInside(g.id, finishedAt, `task ${status}: ${reason.code}`);
      this.outbox.record(g.id, null, finishedAt);
      return true;
    });
  }

  async cancelTask(id: string, accountId: string, now: number): Promise<CancelOutcome> {
    return this.connection.writeTransaction((): CancelOutcome => {
      if (this.s.cancel.run({ id, accountId, now }).changes === 1) {
        this.s.leaveFlight.run(id);
        this.refundInside(id, now, 'task cancelled');
        this.outbox.record(id, null, now);
        return { kind: 'cancelled', task: toTask(this.s.getTask.get(id) as TaskRow) };
      }
      const row = this.s.getTask.get(id) as TaskRow | undefined;
      if (!row || row.account_id !== accountId) return { kind: 'not_found' };
      return { kind: 'already_finished', status: row.status };
    });
  }

  async refundTask(id: string, now: number, note: string): Promise<number> {
    return this.connection.writeTransaction(() => this.refundInside(id, now, note));
  }

  /** Gives back what is still held for the task; the ledger's unique index makes a second refund a no-op. */
  private refundInside(id: string, now: number, note: string): number {
    const task = toTask(this.s.getTask.get(id) as TaskRow);
    const amountMicros = refundableMicros(task);
    if (amountMicros === 0) return 0;
    const moved = this.money.move({ accountId: task.accountId, keyId: task.keyId, taskId: id, kind: 'refund', amountMicros, note, now });
    if (!moved) return 0;
    this.s.setCost.run(0, id);
    return amountMicros;
  }

  async releaseTask(g: LeaseGuard, options?: { keepStatus?: boolean }): Promise<boolean> {
    return (options?.keepStatus ? this.s.releaseKeepingStatus : this.s.release).run(g).changes === 1;
  }

  async saveProviderState(g: LeaseGuard, state: unknown): Promise<boolean> {
    return this.s.saveState.run({ ...g, state: JSON.stringify(state) }).changes === 1;
  }

  async moveTask(g: LeaseGuard, provider: string, state: unknown, notBefore?: number, upstreamCostMicros: number | null = null): Promise<boolean> {
    return this.s.move.run({ ...g, provider, state: JSON.stringify(state), notBefore: notBefore ?? null, upstreamCostMicros }).changes === 1;
  }

  async listLeasedBy(ownerPrefix: string): Promise<Array<{ id: string; owner: string }>> {
    const pattern = `${ownerPrefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    return this.s.leasedBy.all(pattern) as Array<{ id: string; owner: string }>;
  }

  async expireLease(g: LeaseGuard): Promise<boolean> {
    return this.s.expire.run(g).changes === 1;
  }

  async nextLeaseExpiry(providers: readonly string[]): Promise<number | null> {
    if (providers.length === 0) return null;
    const placeholders = providers.map(() => '?').join(', ');
    const value = this.connection
      // The leases held: the range of tasks_due_at past the never-leased queue (-1), for each provider.
      .statement(
        `SELECT MIN(IFNULL(lease_expires_at, -1)) FROM tasks WHERE status IN ('pending', 'processing') AND provider IN (${placeholders}) AND IFNULL(lease_expires_at, -1) >= 0`,
      )
      .pluck()
      .get(...providers) as number | null;
    return value ?? null;
  }

  async countUnfinishedTasks(): Promise<Array<{ provider: string; status: TaskRecord['status']; count: number }>> {
    return this.s.unfinished.all() as Array<{ provider: string; status: TaskRecord['status']; count: number }>;
  }

  async listExpiredResults(now: number, limit: number): Promise<TaskRecord[]> {
    return (this.s.expiredResults.all(now, limit) as TaskRow[]).map(toTask);
  }

  async markResultsCollected(id: string): Promise<void> {
    this.s.markCollected.run(id);
  }
}
