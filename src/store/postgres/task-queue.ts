import { margin, refundableMicros, settlement, submitRefusal } from '../../billing/money-rules.js';
import type { TaskFailure } from '../../contract/failures.js';
import type { TaskChange } from '../change-feed.js';
import { type TaskRow, toTask } from '../sql/task-row.js';
import { taskListFilters } from '../sql/task-list.js';
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
  TaskStatus,
} from '../task-queue-store.js';
import { announcement, announceTasks } from './change-feed.js';
import type { PgConnection, PgQueries } from './connection.js';
import type { PgLedgerWriter } from './ledger-writer.js';
import { insertDeliveries, outboxArrays, deliveriesOf, type PgOutbox, type TaskRowWithHook } from './outbox.js';

const UNFINISHED = `status IN ('pending', 'processing')`;
/** Fenced by the lease owner ($1 the task, $2 the owner): a worker whose lease was taken over writes nothing. */
const HELD = `id = $1 AND ${UNFINISHED} AND lease_owner = $2`;

/**
 * The tasks table and the queue it is, shared by every vidgate process on the database. Claims take
 * rows with FOR NO KEY UPDATE SKIP LOCKED, so concurrent dispatchers never wait on or take the same
 * task (and rows that only another transaction's foreign-key check holds are not skipped).
 * Money moves in the transaction of the change through `PgLedgerWriter`; rows are locked in one
 * order everywhere (task, then account, then key) so that concurrent transactions queue instead of
 * deadlocking. Every committed change is announced to the other processes (`announceTasks`).
 */
export class PgTaskQueue implements TaskQueueStore {
  constructor(
    private readonly connection: PgConnection,
    private readonly money: PgLedgerWriter,
    private readonly outbox: PgOutbox,
    /** This process, so it does not hear its own announcements. */
    private readonly origin: string,
  ) {}

  private announce(tx: PgQueries, change: TaskChange, ids: readonly string[]): Promise<void> {
    return announceTasks(tx, this.origin, change, ids);
  }

  async submitTask(task: NewTask, o: SubmitOptions): Promise<SubmitOutcome> {
    return this.connection.transaction(async (tx): Promise<SubmitOutcome> => {
      // The account row is the lock every submit of the account takes first (the key's with it):
      // the idempotency check, the balance and the key's counters are then read by one submit at a
      // time, on any instance.
      const funds = await tx.row<{ unlimited: number; balance_micros: number; in_flight: number; spend_cap_micros: number | null; key_spent_micros: number }>(
        // The account first, then the key, as every other transaction takes them (MATERIALIZED makes
        // the account's lock come first; a join would lock in whatever order its plan reads). NO KEY
        // UPDATE is the lock an UPDATE takes: the key-share locks that foreign-key checks of other
        // transactions' inserts hold on these rows (a ledger row names its account and key) do not
        // block it, where FOR UPDATE would wait on them and deadlock with those transactions' updates.
        `WITH account AS MATERIALIZED (SELECT unlimited, balance_micros FROM accounts WHERE id = $1 FOR NO KEY UPDATE)
         SELECT account.unlimited, account.balance_micros, api_keys.in_flight, api_keys.spend_cap_micros, api_keys.spent_micros AS key_spent_micros
         FROM account, api_keys WHERE api_keys.id = $2 AND api_keys.account_id = $1
         FOR NO KEY UPDATE OF api_keys`,
        [task.accountId, task.keyId],
      );
      if (!funds) throw new Error(`key ${task.keyId} of account ${task.accountId} does not exist`);
      if (o.idempotency) {
        // Read after the lock, in a statement of its own: its snapshot then includes what the submit
        // that held the lock before committed (a join in the locking statement would not see it).
        const seen = await tx.row<{ body_hash: string; task_id: string; created_at: number }>(
          'SELECT body_hash, task_id, created_at FROM idempotency_keys WHERE account_id = $1 AND idem_key = $2',
          [task.accountId, o.idempotency.key],
        );
        if (seen && seen.created_at >= o.idempotency.since) {
          return seen.body_hash === o.idempotency.bodyHash ? { kind: 'replayed', taskId: seen.task_id } : { kind: 'idempotency_conflict' };
        }
      }
      if (o.replayOnly) return { kind: 'not_replayed' };
      const refusal = submitRefusal({
        account: { unlimited: funds.unlimited === 1, balanceMicros: funds.balance_micros },
        key: { inFlight: funds.in_flight, spendCapMicros: funds.spend_cap_micros, spentMicros: funds.key_spent_micros },
        costMicros: task.costMicros,
        inFlightLimit: o.inFlightLimit,
      });
      if (refusal) return refusal;
      // The task, its place in the key's count, the idempotency record and the announcement, in one statement.
      const row = (await tx.row<TaskRow>(
        `WITH flight AS (UPDATE api_keys SET in_flight = in_flight + 1 WHERE id = $3),
           remembered AS (
             INSERT INTO idempotency_keys (account_id, idem_key, body_hash, task_id, created_at)
             SELECT $2, $12, $13, $1, $10 WHERE $12::text IS NOT NULL
             ON CONFLICT (account_id, idem_key) DO UPDATE SET body_hash = excluded.body_hash, task_id = excluded.task_id, created_at = excluded.created_at),
           announced AS (SELECT pg_notify($14, $15))
         INSERT INTO tasks (id, account_id, key_id, status, model, request, seed, provider, estimated_seconds, cost_micros, reserved_micros, created_at, callback_url,
           upstream_cost_micros)
         SELECT $1, $2, $3, 'pending', $4, $5, $6, $7, $8, $9, $9, $10, $11, $16::bigint FROM announced
         RETURNING *`,
        [
          task.id,
          task.accountId,
          task.keyId,
          task.request.model,
          JSON.stringify(task.request),
          task.seed,
          task.provider,
          task.estimatedSeconds,
          task.costMicros,
          task.createdAt,
          task.callbackUrl ?? null,
          o.idempotency?.key ?? null,
          o.idempotency?.bodyHash ?? null,
          ...announcement(this.origin, 'queued', [task.id]),
          task.upstreamCostMicros ?? null,
        ],
      ))!;
      await this.money.move(tx, {
        accountId: task.accountId,
        keyId: task.keyId,
        taskId: task.id,
        kind: 'reserve',
        amountMicros: -task.costMicros,
        note: null,
        now: task.createdAt,
      });
      return { kind: 'created', task: toTask(row) };
    });
  }

  async getTask(id: string): Promise<TaskRecord | null> {
    const row = await this.connection.row<TaskRow>('SELECT * FROM tasks WHERE id = $1', [id]);
    return row ? toTask(row) : null;
  }

  async listTasks(q: TaskListQuery): Promise<TaskRecord[]> {
    const params: unknown[] = [q.accountId];
    const where = ['account_id = $1'];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      where.push(`${sql} $${params.length}`);
    };
    for (const [condition, value] of taskListFilters(q)) add(condition, value);
    params.push(q.limit);
    const rows = await this.connection.rows<TaskRow>(
      `SELECT * FROM tasks WHERE ${where.join(' AND ')} ORDER BY id ${q.order === 'asc' ? 'ASC' : 'DESC'} LIMIT $${params.length}`,
      params,
    );
    return rows.map(toTask);
  }

  async claimTasks(o: ClaimOptions): Promise<TaskRecord[]> {
    if (o.limit <= 0 || o.providers.length === 0) return [];
    const which = o.interrupted === 'only' ? ' AND open_run > 0' : o.interrupted === 'exclude' ? ' AND open_run = 0' : '';
    const start = o.markProcessing !== false;
    return this.connection.transaction(async (tx) => {
      // SET reads the row as it was: a run still open then is one that never ended.
      const rows = await tx.rows<TaskRow & { previous_status: TaskStatus }>(
        `WITH picked AS (
           SELECT id, status FROM tasks
           WHERE provider = ANY($1) AND ${UNFINISHED} AND (lease_expires_at IS NULL OR lease_expires_at <= $2)${which}
           ORDER BY id LIMIT $3 FOR NO KEY UPDATE SKIP LOCKED)
         UPDATE tasks SET status = CASE WHEN $4 THEN 'processing' ELSE tasks.status END,
           started_at = CASE WHEN $4 THEN COALESCE(tasks.started_at, $2) ELSE tasks.started_at END,
           lease_owner = $5, lease_expires_at = $6, attempts = tasks.attempts + 1,
           interrupted_runs = tasks.interrupted_runs + (tasks.open_run > 0)::int,
           interrupted_alone = tasks.interrupted_alone + (tasks.open_run = 2)::int,
           open_run = $7
         FROM picked WHERE tasks.id = picked.id
         RETURNING tasks.*, picked.status AS previous_status`,
        [o.providers, o.now, o.limit, start, o.owner, o.now + o.leaseMs, o.alone ? 2 : 1],
      );
      const started = rows.filter((r) => r.status !== r.previous_status).map((r) => ({ id: r.id, before: r.previous_status }));
      await this.outbox.record(tx, started, o.now);
      if (started.length)
        await this.announce(
          tx,
          'claimed',
          started.map((s) => s.id),
        );
      return rows.sort((a, b) => (a.id < b.id ? -1 : 1)).map(toTask);
    });
  }

  async hasInterruptedTask(providers: readonly string[], now: number): Promise<boolean> {
    if (providers.length === 0) return false;
    const row = await this.connection.row(
      `SELECT 1 FROM tasks WHERE open_run > 0 AND provider = ANY($1) AND ${UNFINISHED} AND (lease_expires_at IS NULL OR lease_expires_at <= $2) LIMIT 1`,
      [providers, now],
    );
    return row !== undefined;
  }

  async setRunOpen(g: LeaseGuard, open: 'alone' | 'shared' | false): Promise<boolean> {
    // An attempt is a run that never ended: opening a run takes one, ending it (parked) gives it back.
    const sql = `UPDATE tasks SET attempts = GREATEST(attempts + CASE WHEN open_run = 0 AND $3::int > 0 THEN 1 WHEN open_run > 0 AND $3::int = 0 THEN -1 ELSE 0 END, 0),
        open_run = $3::int
      WHERE ${HELD}`;
    return (await this.connection.run(sql, [g.id, g.owner, open === 'alone' ? 2 : open === 'shared' ? 1 : 0])) === 1;
  }

  async renewLease(g: LeaseGuard, expiresAt: number): Promise<boolean> {
    return (await this.connection.run(`UPDATE tasks SET lease_expires_at = $3 WHERE ${HELD}`, [g.id, g.owner, expiresAt])) === 1;
  }

  async renewLeases(owner: string, expiresAt: number): Promise<string[]> {
    const rows = await this.connection.rows<{ id: string }>(`UPDATE tasks SET lease_expires_at = $2 WHERE lease_owner = $1 AND ${UNFINISHED} RETURNING id`, [
      owner,
      expiresAt,
    ]);
    return rows.map((r) => r.id);
  }

  async reportProgress(g: LeaseGuard, progress: number): Promise<boolean> {
    return (await this.reportProgressMany([{ guard: g, progress }])).length === 1;
  }

  async reportProgressMany(updates: ReadonlyArray<{ guard: LeaseGuard; progress: number }>): Promise<string[]> {
    if (updates.length === 0) return [];
    return this.connection.transaction(async (tx) => {
      const rows = await tx.rows<{ id: string }>(
        `UPDATE tasks SET progress = u.progress
         FROM unnest($1::text[], $2::text[], $3::int[]) AS u(id, owner, progress)
         WHERE tasks.id = u.id AND tasks.${UNFINISHED} AND tasks.lease_owner = u.owner AND tasks.progress < u.progress
         RETURNING tasks.id`,
        [updates.map((u) => u.guard.id), updates.map((u) => u.guard.owner), updates.map((u) => Math.max(0, Math.min(99, Math.floor(u.progress))))],
      );
      const ids = rows.map((r) => r.id);
      if (ids.length) await this.announce(tx, 'progress', ids);
      return ids;
    });
  }

  async markProcessing(g: LeaseGuard, now: number): Promise<boolean> {
    return this.connection.transaction(async (tx) => {
      const changed = await tx.run(`UPDATE tasks SET status = 'processing', started_at = COALESCE(started_at, $3) WHERE ${HELD} AND status = 'pending'`, [
        g.id,
        g.owner,
        now,
      ]);
      if (changed !== 1) return false;
      await this.outbox.record(tx, [{ id: g.id, before: 'pending' }], now);
      await this.announce(tx, 'claimed', [g.id]);
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
    return this.connection.transaction(async (tx) => {
      const row = await tx.row<TaskRowWithHook>(
        `UPDATE tasks SET status = 'completed', progress = 100, result = $3, result_expires_at = $4, finished_at = $5,
           lease_owner = NULL, lease_expires_at = NULL, open_run = 0
         FROM api_keys WHERE tasks.id = $1 AND tasks.${UNFINISHED} AND tasks.lease_owner = $2 AND api_keys.id = tasks.key_id
         RETURNING tasks.*, api_keys.callback_url AS key_callback_url`,
        [g.id, g.owner, JSON.stringify(result), result.expiresAt, finishedAt],
      );
      if (!row) return false;
      const task = toTask(row);
      const { costMicros, giveBackMicros } = settlement(task.reservedMicros, finalCostMicros);
      if (giveBackMicros > 0) {
        await this.money.move(tx, {
          accountId: task.accountId,
          keyId: task.keyId,
          taskId: task.id,
          kind: 'settle',
          amountMicros: giveBackMicros,
          note: 'settled to the exact price',
          now: finishedAt,
        });
      }
      await this.ended(
        tx,
        { ...row, cost_micros: costMicros, upstream_cost_micros: upstreamCostMicros, margin_micros: margin(costMicros, upstreamCostMicros) },
        finishedAt,
      );
      return true;
    });
  }

  /**
   * The rest of a task's end, in one statement: its final cost (upstream cost and margin with it),
   * out of its key's flight, its webhook deliveries (by the shared outbox rule, from the row as it
   * ends) and the announcement.
   */
  private async ended(tx: PgQueries, row: TaskRowWithHook, now: number): Promise<void> {
    await tx.run(
      `WITH cost AS (UPDATE tasks SET cost_micros = $2, upstream_cost_micros = $14::bigint, margin_micros = $15::bigint WHERE id = $1),
         flight AS (UPDATE api_keys SET in_flight = in_flight - 1 WHERE id = $3),
         outbox AS (${insertDeliveries(6)})
       SELECT pg_notify($4, $5)`,
      [
        row.id,
        row.cost_micros,
        row.key_id,
        ...announcement(this.origin, 'settled', [row.id]),
        ...outboxArrays(deliveriesOf([row], () => null, now)),
        row.upstream_cost_micros ?? null,
        row.margin_micros ?? null,
      ],
    );
  }

  async failTask(g: LeaseGuard, failure: TaskFailure, finishedAt: number): Promise<boolean> {
    return this.endHeldTask(g, 'failed', failure, finishedAt);
  }

  async cancelHeldTask(g: LeaseGuard, reason: TaskFailure, finishedAt: number): Promise<boolean> {
    return this.endHeldTask(g, 'cancelled', reason, finishedAt);
  }

  /** Ends a held task without a result: the status, its reason, refunded and out of flight, together. */
  private endHeldTask(g: LeaseGuard, status: 'failed' | 'cancelled', reason: TaskFailure, finishedAt: number): Promise<boolean> {
    return this.connection.transaction(async (tx) => {
      const row = await tx.row<TaskRowWithHook>(
        `UPDATE tasks SET status = $3, error = $4, finished_at = $5, lease_owner = NULL, lease_expires_at = NULL, open_run = 0, upstream_cost_micros = NULL
         FROM api_keys WHERE tasks.id = $1 AND tasks.${UNFINISHED} AND tasks.lease_owner = $2 AND api_keys.id = tasks.key_id
         RETURNING tasks.*, api_keys.callback_url AS key_callback_url`,
        [g.id, g.owner, status, JSON.stringify(reason), finishedAt],
      );
      if (!row) return false;
      const refunded = await this.refundInside(tx, toTask(row), finishedAt, `task ${status}: ${reason.code}`);
      await this.ended(tx, refunded ? { ...row, cost_micros: 0 } : row, finishedAt);
      return true;
    });
  }

  async cancelTask(id: string, accountId: string, now: number): Promise<CancelOutcome> {
    return this.connection.transaction(async (tx): Promise<CancelOutcome> => {
      const row = await tx.row<TaskRowWithHook>(
        `UPDATE tasks SET status = 'cancelled', finished_at = $3, lease_owner = NULL, lease_expires_at = NULL, upstream_cost_micros = NULL
         FROM api_keys WHERE tasks.id = $1 AND tasks.account_id = $2 AND tasks.${UNFINISHED} AND api_keys.id = tasks.key_id
         RETURNING tasks.*, api_keys.callback_url AS key_callback_url`,
        [id, accountId, now],
      );
      if (row) {
        const refunded = await this.refundInside(tx, toTask(row), now, 'task cancelled');
        const final = refunded ? { ...row, cost_micros: 0 } : row;
        await this.ended(tx, final, now);
        return { kind: 'cancelled', task: toTask(final) };
      }
      const current = await tx.row<TaskRow>('SELECT * FROM tasks WHERE id = $1', [id]);
      if (!current || current.account_id !== accountId) return { kind: 'not_found' };
      return { kind: 'already_finished', status: current.status };
    });
  }

  async refundTask(id: string, now: number, note: string): Promise<number> {
    return this.connection.transaction(async (tx) => {
      const row = await tx.row<TaskRow>('SELECT * FROM tasks WHERE id = $1 FOR NO KEY UPDATE', [id]);
      const refunded = row ? await this.refundInside(tx, toTask(row), now, note) : 0;
      if (refunded) await tx.run('UPDATE tasks SET cost_micros = 0 WHERE id = $1', [id]);
      return refunded;
    });
  }

  /**
   * Gives back what is still held for the task; the ledger's unique index makes a second refund a
   * no-op. The caller sets the task's cost to 0 when something was given back.
   */
  private async refundInside(tx: PgQueries, task: TaskRecord, now: number, note: string): Promise<number> {
    const amountMicros = refundableMicros(task);
    if (amountMicros === 0) return 0;
    const moved = await this.money.move(tx, { accountId: task.accountId, keyId: task.keyId, taskId: task.id, kind: 'refund', amountMicros, note, now });
    return moved ? amountMicros : 0;
  }

  /** A clean hand-back (shutdown) was not an interrupted attempt: it does not count. */
  async releaseTask(g: LeaseGuard, options?: { keepStatus?: boolean }): Promise<boolean> {
    const status = options?.keepStatus ? '' : `status = 'pending', `;
    return this.heldChange(g, `${status}lease_owner = NULL, lease_expires_at = NULL, open_run = 0, attempts = GREATEST(attempts - 1, 0)`, [], 'queued');
  }

  async saveProviderState(g: LeaseGuard, state: unknown): Promise<boolean> {
    return (await this.connection.run(`UPDATE tasks SET provider_state = $3 WHERE ${HELD}`, [g.id, g.owner, JSON.stringify(state)])) === 1;
  }

  async moveTask(g: LeaseGuard, provider: string, state: unknown, notBefore?: number, upstreamCostMicros: number | null = null): Promise<boolean> {
    return this.heldChange(
      g,
      `status = 'pending', provider = $3, provider_state = $4, attempts = 0, lease_owner = NULL, lease_expires_at = $5, open_run = 0,
       upstream_cost_micros = $6::bigint`,
      [provider, JSON.stringify(state), notBefore ?? null, upstreamCostMicros],
      'queued',
    );
  }

  async expireLease(g: LeaseGuard): Promise<boolean> {
    return this.heldChange(g, 'lease_expires_at = 0', [], 'queued');
  }

  /** A fenced update of a held task ($3… are `params`) announced to the other processes. */
  private heldChange(g: LeaseGuard, set: string, params: unknown[], change: TaskChange): Promise<boolean> {
    return this.connection.transaction(async (tx) => {
      if ((await tx.run(`UPDATE tasks SET ${set} WHERE ${HELD}`, [g.id, g.owner, ...params])) !== 1) return false;
      await this.announce(tx, change, [g.id]);
      return true;
    });
  }

  async listLeasedBy(ownerPrefix: string): Promise<Array<{ id: string; owner: string }>> {
    const pattern = `${ownerPrefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    return this.connection.rows(`SELECT id, lease_owner AS owner FROM tasks WHERE ${UNFINISHED} AND lease_owner LIKE $1 ESCAPE '\\'`, [pattern]);
  }

  async nextLeaseExpiry(providers: readonly string[]): Promise<number | null> {
    if (providers.length === 0) return null;
    const row = await this.connection.row<{ at: number | null }>(`SELECT MIN(lease_expires_at) AS at FROM tasks WHERE ${UNFINISHED} AND provider = ANY($1)`, [
      providers,
    ]);
    return row?.at ?? null;
  }

  async countUnfinishedTasks(): Promise<Array<{ provider: string; status: TaskRecord['status']; count: number }>> {
    return this.connection.rows(`SELECT provider, status, COUNT(*) AS count FROM tasks WHERE ${UNFINISHED} GROUP BY provider, status`);
  }

  async listExpiredResults(now: number, limit: number): Promise<TaskRecord[]> {
    const rows = await this.connection.rows<TaskRow>(
      `SELECT * FROM tasks WHERE results_collected = 0 AND result_expires_at IS NOT NULL AND result_expires_at <= $1
       ORDER BY result_expires_at LIMIT $2`,
      [now, limit],
    );
    return rows.map(toTask);
  }

  async markResultsCollected(id: string): Promise<void> {
    await this.connection.run('UPDATE tasks SET results_collected = 1 WHERE id = $1', [id]);
  }
}
