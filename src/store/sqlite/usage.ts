import type { ChannelActivity, ChannelSpend, QueueDepth, UsageBucket, UsageQuery, UsageStore } from '../usage-store.js';
import {
  byChannelAndModel,
  byKey,
  type ChannelSpendRow,
  type QueueRow,
  toChannelSpend,
  toQueueDepth,
  toUsageBucket,
  USAGE_KEY_COLUMN,
  type UsageRow,
} from '../sql/usage-rows.js';
import type { SqliteConnection } from './connection.js';

/**
 * Operator reads of the tasks and ledger tables, aggregated in SQL. Tasks are found by the indexes
 * of migration 10 (by account and creation, by creation, by channel and finish); each task's net
 * charge is the sum of its own ledger rows, read through the ledger's (task_id, kind) index.
 */
export class SqliteUsage implements UsageStore {
  private readonly s;

  constructor(private readonly connection: SqliteConnection) {
    const db = connection.db;
    this.s = {
      limitedBalance: db.prepare('SELECT COALESCE(SUM(balance_micros), 0) FROM accounts WHERE unlimited = 0').pluck(),
      queue: db.prepare(`
        SELECT provider, model, SUM(status = 'pending') AS pending, SUM(status = 'processing') AS processing,
          MIN(CASE WHEN status = 'pending' THEN created_at END) AS oldest_pending_at
        FROM tasks WHERE status IN ('pending', 'processing')
        GROUP BY provider, model`),
      finished: db.prepare(`
        SELECT COALESCE(SUM(status = 'completed'), 0) AS completed, COALESCE(SUM(status = 'failed'), 0) AS failed,
          COALESCE(SUM(status = 'cancelled'), 0) AS cancelled
        FROM tasks WHERE provider = @provider AND finished_at >= @since`),
      runTimes: db
        .prepare(`
          SELECT finished_at - created_at FROM tasks
          WHERE provider = @provider AND finished_at >= @since AND status = 'completed'
          ORDER BY finished_at DESC LIMIT @limit`)
        .pluck(),
      // Daily budgets: migration 12's index holds exactly the completed tasks with a cost; the unfinished ones are few.
      settledCost: db.prepare(`
        SELECT SUM(upstream_cost_micros) AS settled_micros FROM tasks
        WHERE provider = @provider AND status = 'completed' AND upstream_cost_micros IS NOT NULL AND finished_at >= @since`),
      inFlightCost: db.prepare(`
        SELECT SUM(upstream_cost_micros) AS in_flight_micros, COUNT(*) AS unfinished FROM tasks
        WHERE provider = @provider AND status IN ('pending', 'processing')`),
    };
  }

  async usage(q: UsageQuery): Promise<UsageBucket[]> {
    const key = USAGE_KEY_COLUMN[q.groupBy];
    const sql = `
      SELECT ${key} AS key, COUNT(*) AS tasks,
        SUM(status = 'completed') AS completed, SUM(status = 'failed') AS failed, SUM(status = 'cancelled') AS cancelled,
        COALESCE(SUM((SELECT -SUM(amount_micros) FROM ledger WHERE ledger.task_id = tasks.id)), 0) AS spent_micros,
        COALESCE(SUM(CASE WHEN status = 'completed' THEN json_extract(request, '$.duration') END), 0) AS output_seconds,
        COALESCE(SUM(CASE WHEN status = 'completed' THEN upstream_cost_micros END), 0) AS upstream_cost_micros,
        COALESCE(SUM(CASE WHEN status = 'completed' THEN margin_micros END), 0) AS margin_micros
      FROM tasks
      WHERE ${q.accountId === undefined ? '' : 'account_id = @accountId AND '}created_at >= @from AND created_at < @until
      GROUP BY 1`;
    const rows = this.connection.statement(sql).all({ from: q.from, until: q.until, ...(q.accountId === undefined ? {} : { accountId: q.accountId }) });
    return (rows as UsageRow[]).map((r) => toUsageBucket(r, q.groupBy)).sort(byKey);
  }

  async limitedBalanceMicros(): Promise<number> {
    return this.s.limitedBalance.get() as number;
  }

  async queueDepth(): Promise<QueueDepth[]> {
    return (this.s.queue.all() as QueueRow[]).map(toQueueDepth).sort(byChannelAndModel);
  }

  async channelActivity(q: { providers: readonly string[]; since: number; sampleLimit: number }): Promise<ChannelActivity[]> {
    // One channel at a time: each reads its own range of the (provider, finished_at) index.
    return q.providers.map((provider) => {
      const counts = this.s.finished.get({ provider, since: q.since }) as { completed: number; failed: number; cancelled: number };
      const runMs = this.s.runTimes.all({ provider, since: q.since, limit: q.sampleLimit }) as number[];
      return { provider, ...counts, runMs };
    });
  }

  async channelSpend(q: { providers: readonly string[]; since: number }): Promise<ChannelSpend[]> {
    return q.providers.map((provider) =>
      toChannelSpend(
        provider,
        this.s.settledCost.get({ provider, since: q.since }) as ChannelSpendRow | undefined,
        this.s.inFlightCost.get({ provider }) as ChannelSpendRow | undefined,
      ),
    );
  }
}
