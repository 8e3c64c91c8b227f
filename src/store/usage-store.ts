import type { ChannelSpend } from '../billing/upstream-cost.js';

export type { ChannelSpend } from '../billing/upstream-cost.js';

/** How usage is split into buckets: by the UTC day the task was created, its model, account or channel. */
export type UsageGrouping = 'day' | 'model' | 'account' | 'channel';

export interface UsageQuery {
  /** One account's tasks; all accounts when absent. */
  accountId?: string;
  /** Unix ms: tasks created at or after this… */
  from: number;
  /** …and before this (exclusive). */
  until: number;
  groupBy: UsageGrouping;
}

/** The tasks created in one bucket, and what they cost. */
export interface UsageBucket {
  /** The UTC date `YYYY-MM-DD` (by day), else the model id, account id or channel name. */
  key: string;
  tasks: number;
  completed: number;
  failed: number;
  cancelled: number;
  /**
   * What the ledger says these tasks cost, net: their reservations minus what settlement and
   * refunds gave back, as it stands now (an unfinished task counts its reservation; a failed or
   * cancelled one 0). The same sum, over every task, is the account's `spentMicros`.
   */
  spentMicros: number;
  /** Seconds of video delivered: the duration of the completed tasks. */
  outputSeconds: number;
  /**
   * What the upstreams charged for the completed tasks, on channels that declare a cost
   * (README: Configuration, `cost`); the operator's figure, never shown to an account.
   */
  upstreamCostMicros: number;
  /** The sum of those tasks' margins: price charged minus upstream cost. */
  marginMicros: number;
}

/** Unfinished tasks of one channel and model. */
export interface QueueDepth {
  provider: string;
  model: string;
  pending: number;
  processing: number;
  /** Unix ms of the oldest pending task's creation; null when none is pending. */
  oldestPendingAt: number | null;
}

/** What one channel finished since a moment. */
export interface ChannelActivity {
  provider: string;
  completed: number;
  failed: number;
  cancelled: number;
  /** Milliseconds from creation to completion of its latest completed tasks (at most the sample limit), newest first. */
  runMs: number[];
}

/** Reads for operators: usage and spend by bucket, the queue, how the channels fare. SQL aggregates only, nothing loaded whole. */
export interface UsageStore {
  usage(query: UsageQuery): Promise<UsageBucket[]>;
  /** Money held by limited accounts, in all (unlimited accounts hold none). */
  limitedBalanceMicros(): Promise<number>;
  /** Pending and processing tasks per channel and model. */
  queueDepth(): Promise<QueueDepth[]>;
  /** Per channel: tasks finished at or after `since` (unix ms), and the run times of the latest `sampleLimit` completed ones. */
  channelActivity(query: { providers: readonly string[]; since: number; sampleLimit: number }): Promise<ChannelActivity[]>;
  /**
   * Per channel, what counts against its daily budget (README: Configuration, `daily_budget_usd`):
   * the upstream cost of its tasks completed at or after `since` (unix ms, the UTC day's start), the
   * expected cost of its unfinished tasks, and how many are unfinished. One row per channel asked.
   */
  channelSpend(query: { providers: readonly string[]; since: number }): Promise<ChannelSpend[]>;
}
