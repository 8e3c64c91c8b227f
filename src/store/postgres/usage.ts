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
import type { PgConnection } from './connection.js';

/**
 * Operator reads of the tasks and ledger tables, aggregated in SQL, as the SQLite store does them
 * (migration 3's indexes). SUM of a BIGINT is NUMERIC, which pg hands over as text: every sum is
 * cast back to BIGINT, read as a number.
 */
export class PgUsage implements UsageStore {
  constructor(private readonly connection: PgConnection) {}

  async usage(q: UsageQuery): Promise<UsageBucket[]> {
    const key = USAGE_KEY_COLUMN[q.groupBy];
    const params: unknown[] = [q.from, q.until];
    if (q.accountId !== undefined) params.push(q.accountId);
    const sql = `
      SELECT ${key} AS key, COUNT(*) AS tasks,
        COUNT(*) FILTER (WHERE status = 'completed') AS completed,
        COUNT(*) FILTER (WHERE status = 'failed') AS failed,
        COUNT(*) FILTER (WHERE status = 'cancelled') AS cancelled,
        COALESCE(SUM((SELECT -SUM(amount_micros) FROM ledger WHERE ledger.task_id = tasks.id)), 0)::bigint AS spent_micros,
        COALESCE(SUM((request::jsonb ->> 'duration')::bigint) FILTER (WHERE status = 'completed'), 0)::bigint AS output_seconds,
        COALESCE(SUM(upstream_cost_micros) FILTER (WHERE status = 'completed'), 0)::bigint AS upstream_cost_micros,
        COALESCE(SUM(margin_micros) FILTER (WHERE status = 'completed'), 0)::bigint AS margin_micros
      FROM tasks
      WHERE ${q.accountId === undefined ? '' : 'account_id = $3 AND '}created_at >= $1 AND created_at < $2
      GROUP BY 1`;
    const rows = await this.connection.rows<UsageRow>(sql, params);
    return rows.map((r) => toUsageBucket(r, q.groupBy)).sort(byKey);
  }

  async limitedBalanceMicros(): Promise<number> {
    const row = await this.connection.row<{ total: number }>('SELECT COALESCE(SUM(balance_micros), 0)::bigint AS total FROM accounts WHERE unlimited = 0');
    return row?.total ?? 0;
  }

  async queueDepth(): Promise<QueueDepth[]> {
    const rows = await this.connection.rows<QueueRow>(
      `SELECT provider, model, COUNT(*) FILTER (WHERE status = 'pending') AS pending, COUNT(*) FILTER (WHERE status = 'processing') AS processing,
         MIN(created_at) FILTER (WHERE status = 'pending') AS oldest_pending_at
       FROM tasks WHERE status IN ('pending', 'processing')
       GROUP BY provider, model`,
    );
    return rows.map(toQueueDepth).sort(byChannelAndModel);
  }

  async channelActivity(q: { providers: readonly string[]; since: number; sampleLimit: number }): Promise<ChannelActivity[]> {
    // One channel at a time: each reads its own range of the (provider, finished_at) index.
    return Promise.all(
      q.providers.map(async (provider) => {
        const counts = await this.connection.row<{ completed: number; failed: number; cancelled: number }>(
          `SELECT COUNT(*) FILTER (WHERE status = 'completed') AS completed, COUNT(*) FILTER (WHERE status = 'failed') AS failed,
             COUNT(*) FILTER (WHERE status = 'cancelled') AS cancelled
           FROM tasks WHERE provider = $1 AND finished_at >= $2`,
          [provider, q.since],
        );
        const runs = await this.connection.rows<{ ms: number }>(
          `SELECT finished_at - created_at AS ms FROM tasks
           WHERE provider = $1 AND finished_at >= $2 AND status = 'completed'
           ORDER BY finished_at DESC LIMIT $3`,
          [provider, q.since, q.sampleLimit],
        );
        return { provider, completed: counts?.completed ?? 0, failed: counts?.failed ?? 0, cancelled: counts?.cancelled ?? 0, runMs: runs.map((r) => r.ms) };
      }),
    );
  }

  async channelSpend(q: { providers: readonly string[]; since: number }): Promise<ChannelSpend[]> {
    // Daily budgets: migration 5's index holds exactly the completed tasks with a cost; the unfinished ones are few.
    return Promise.all(
      q.providers.map(async (provider) => {
        const [settled, flight] = await Promise.all([
          this.connection.row<ChannelSpendRow>(
            `SELECT SUM(upstream_cost_micros)::bigint AS settled_micros FROM tasks
             WHERE provider = $1 AND status = 'completed' AND upstream_cost_micros IS NOT NULL AND finished_at >= $2`,
            [provider, q.since],
          ),
          this.connection.row<ChannelSpendRow>(
            `SELECT SUM(upstream_cost_micros)::bigint AS in_flight_micros, COUNT(*)::int AS unfinished FROM tasks
             WHERE provider = $1 AND status IN ('pending', 'processing')`,
            [provider],
          ),
        ]);
        return toChannelSpend(provider, settled, flight);
      }),
    );
  }
}
