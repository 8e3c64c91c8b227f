import type { QueueDepth, UsageBucket, UsageGrouping } from '../usage-store.js';

/** Usage buckets and queue rows as both SQL stores aggregate them. */

const DAY_MS = 86_400_000;

/**
 * The column a usage query groups by. Days are counted in SQL as whole days since the epoch (an
 * integer division of unix ms, so UTC whatever the server's time zone) and named here.
 */
export const USAGE_KEY_COLUMN: Record<UsageGrouping, string> = {
  day: `created_at / ${DAY_MS}`,
  model: 'model',
  account: 'account_id',
  channel: 'provider',
};

export interface UsageRow {
  key: string | number;
  tasks: number;
  completed: number;
  failed: number;
  cancelled: number;
  spent_micros: number;
  output_seconds: number;
  upstream_cost_micros: number;
  margin_micros: number;
}

/** `2026-12-01` for the day that many days after the epoch. */
export const dayKey = (daysSinceEpoch: number): string => new Date(daysSinceEpoch * DAY_MS).toISOString().slice(0, 10);

export const toUsageBucket = (row: UsageRow, groupBy: UsageGrouping): UsageBucket => ({
  key: groupBy === 'day' ? dayKey(Number(row.key)) : String(row.key),
  tasks: Number(row.tasks),
  completed: Number(row.completed ?? 0),
  failed: Number(row.failed ?? 0),
  cancelled: Number(row.cancelled ?? 0),
  spentMicros: Number(row.spent_micros ?? 0),
  outputSeconds: Number(row.output_seconds ?? 0),
  upstreamCostMicros: Number(row.upstream_cost_micros ?? 0),
  marginMicros: Number(row.margin_micros ?? 0),
});

/** What counts against a channel's budget, as both SQL stores read it. */
export interface ChannelSpendRow {
  settled_micros: number | null;
  in_flight_micros: number | null;
  unfinished: number | null;
}

export const toChannelSpend = (
  provider: string,
  settled: Pick<ChannelSpendRow, 'settled_micros'> | undefined,
  flight: Omit<ChannelSpendRow, 'settled_micros'> | undefined,
) => ({
  provider,
  settledMicros: Number(settled?.settled_micros ?? 0),
  inFlightMicros: Number(flight?.in_flight_micros ?? 0),
  unfinished: Number(flight?.unfinished ?? 0),
});

/** Ordered by key in code units, the same on both stores whatever the database's collation. */
export const byKey = <T extends { key: string }>(a: T, b: T): number => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

export interface QueueRow {
  provider: string;
  model: string;
  pending: number;
  processing: number;
  oldest_pending_at: number | null;
}

export const toQueueDepth = (row: QueueRow): QueueDepth => ({
  provider: row.provider,
  model: row.model,
  pending: Number(row.pending ?? 0),
  processing: Number(row.processing ?? 0),
  oldestPendingAt: row.oldest_pending_at === null ? null : Number(row.oldest_pending_at),
});

export const byChannelAndModel = (a: QueueDepth, b: QueueDepth): number =>
  a.provider < b.provider ? -1 : a.provider > b.provider ? 1 : a.model < b.model ? -1 : a.model > b.model ? 1 : 0;
