import { z } from 'zod';
import { invalid } from './invalid-request.js';
import { microsToUsd } from './prices.js';

/**
 * Usage answers (`GET /v1/usage`, `GET /admin/v1/usage`): the range a query names, and the answer
 * built from the store's buckets. No I/O.
 */

const DAY_MS = 86_400_000;
export const MAX_USAGE_DAYS = 400;
export const DEFAULT_USAGE_DAYS = 30;
/** 9999-12-31T23:59:59Z: unix seconds beyond it are no date. */
const MAX_UNIX_SECONDS = 253_402_300_799;

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const UNIX = /^\d{1,12}$/;

const bound = (name: 'from' | 'to', description: string) =>
  z
    .string()
    .max(20)
    .regex(/^(\d{4}-\d{2}-\d{2}|\d{1,12})$/, { error: () => `${name} must be a date YYYY-MM-DD (UTC) or unix seconds` })
    .optional()
    .meta({ description, examples: [name === 'from' ? '2026-12-01' : '2026-12-31'] });

/** The query fields both usage routes share. */
export const UsageRangeQuery = {
  from: bound('from', `first day (UTC date YYYY-MM-DD) or moment (unix seconds) counted; default: ${DEFAULT_USAGE_DAYS - 1} days before \`to\``),
  to: bound('to', 'last day counted, inclusive (UTC date), or the last second counted (unix seconds, inclusive); default: today (UTC)'),
};

export interface UsageRange {
  /** Unix ms, inclusive. */
  start: number;
  /** Unix ms, exclusive. */
  end: number;
}

const dayOf = (ms: number) => Math.floor(ms / DAY_MS);
const dateOf = (day: number) => new Date(day * DAY_MS).toISOString().slice(0, 10);

/** The instant a bound names: a date's first millisecond (or, as an end, the next day's), a second's (or the next second's). */
function instant(value: string, param: 'from' | 'to', edge: 'start' | 'end'): number {
  const date = DATE.exec(value);
  if (date) {
    const [year, month, day] = [Number(date[1]), Number(date[2]), Number(date[3])];
    const ms = Date.UTC(year, month - 1, day);
    if (month < 1 || month > 12 || dateOf(dayOf(ms)) !== value) throw invalid(`${param} is not a calendar date: ${value}`, param);
    return edge === 'start' ? ms : ms + DAY_MS;
  }
  if (!UNIX.test(value) || Number(value) > MAX_UNIX_SECONDS) throw invalid(`${param} must be a date YYYY-MM-DD (UTC) or unix seconds`, param);
  const seconds = Number(value);
  return edge === 'start' ? seconds * 1000 : (seconds + 1) * 1000;
}

/**
 * The range a query names, `to` inclusive. Without `to` it ends with today (UTC); without `from` it
 * starts `DEFAULT_USAGE_DAYS - 1` days before the day of `to`. Refused (400 naming the field) when
 * `to` is before `from` or the range touches more than `MAX_USAGE_DAYS` days.
 */
export function usageRange(query: { from?: string; to?: string }, now: number): UsageRange {
  const end = query.to === undefined ? (dayOf(now) + 1) * DAY_MS : instant(query.to, 'to', 'end');
  const start = query.from === undefined ? (dayOf(end - 1) - (DEFAULT_USAGE_DAYS - 1)) * DAY_MS : instant(query.from, 'from', 'start');
  if (end <= start) {
    const toText = query.to ?? `today (${dateOf(dayOf(now))})`;
    throw invalid(`to (${toText}) is before from (${query.from}): the range would be empty`, query.to === undefined ? 'from' : 'to');
  }
  const days = dayOf(end - 1) - dayOf(start) + 1;
  if (days > MAX_USAGE_DAYS) {
    throw invalid(
      `the range from ${dateOf(dayOf(start))} to ${dateOf(dayOf(end - 1))} covers ${days} days; at most ${MAX_USAGE_DAYS} can be asked at once`,
      query.from === undefined ? 'to' : 'from',
    );
  }
  return { start, end };
}

const counts = {
  tasks: z.number().int().meta({ description: 'tasks created in the bucket, whatever their status' }),
  completed: z.number().int(),
  failed: z.number().int(),
  cancelled: z.number().int(),
  spent: z.number().meta({
    description:
      'USD actually charged for the tasks created in the bucket, net, as the ledger stands now: their reservations minus what ' +
      'settlement to the exact price and refunds gave back. A task still running counts its reservation; a failed or cancelled ' +
      'task counts 0 (its refund included). Summed over all time this is the account’s `spent`, so with no top-ups in between ' +
      'the balance falls by exactly the `spent` of the tasks created meanwhile, once they have finished.',
  }),
  output_seconds: z.number().int().meta({ description: 'seconds of video delivered: the durations of the completed tasks' }),
};

/** The operator's own figures (`GET /admin/v1/usage` only; an account never sees them). */
const costs = {
  upstream_cost: z.number().meta({
    description:
      'USD the upstreams charged for the completed tasks of the bucket, by the cost their channels declare (README: Configuration, ' +
      '`cost`); tasks completed on a channel without a declared cost, unfinished, failed and cancelled tasks count 0.',
  }),
  margin: z.number().meta({
    description:
      'USD kept on those same tasks: the sum of each one’s price charged minus its upstream cost (each task’s margin, set when it ' +
      'completed). Tasks without a declared cost count in neither figure, so it is not spent − upstream_cost when there are any.',
  }),
};

export const UsageBucketView = z
  .object({
    key: z.string().meta({
      description:
        'group_by=day: the UTC date (every day of the range, zeros included, oldest first); otherwise the model id, account id or channel name (ascending)',
      examples: ['2026-12-01'],
    }),
    ...counts,
  })
  .meta({ id: 'UsageBucket' });

export const UsageView = z
  .object({
    account_id: z.string().nullable().meta({ description: 'the account counted; null for the whole service' }),
    from: z.string().meta({ description: 'UTC date of the first day of the range', examples: ['2026-12-01'] }),
    to: z.string().meta({ description: 'UTC date of the last day of the range (inclusive)', examples: ['2026-12-30'] }),
    start: z.number().int().meta({ description: 'unix seconds: tasks created at or after it are counted' }),
    end: z.number().int().meta({ description: 'unix seconds: tasks created before it are counted (exclusive)' }),
    group_by: z.enum(['day', 'model', 'account', 'channel']),
    currency: z.literal('USD'),
    balance: z.number().nullable().meta({
      description: 'USD the account holds now; null for an unlimited account. For the whole service: what all limited accounts hold.',
    }),
    total: z.object(counts).meta({ description: 'the sum of the buckets' }),
    buckets: z.array(UsageBucketView),
  })
  .meta({ id: 'Usage' });
export type UsageView = z.infer<typeof UsageView>;

export const AdminUsageBucketView = UsageBucketView.extend(costs).meta({ id: 'AdminUsageBucket' });

export const AdminUsageView = UsageView.extend({
  total: z.object({ ...counts, ...costs }).meta({ description: 'the sum of the buckets' }),
  buckets: z.array(AdminUsageBucketView),
}).meta({ id: 'AdminUsage' });
export type AdminUsageView = z.infer<typeof AdminUsageView>;

/** What the store reports per bucket (micro-USD). */
export interface UsageCounts {
  key: string;
  tasks: number;
  completed: number;
  failed: number;
  cancelled: number;
  spentMicros: number;
  outputSeconds: number;
  /** The operator's figures; only the admin answer shows them. */
  upstreamCostMicros?: number;
  marginMicros?: number;
}

const zero = (key: string): UsageCounts => ({
  key,
  tasks: 0,
  completed: 0,
  failed: 0,
  cancelled: 0,
  spentMicros: 0,
  outputSeconds: 0,
  upstreamCostMicros: 0,
  marginMicros: 0,
});
const view = (b: UsageCounts) => ({
  tasks: b.tasks,
  completed: b.completed,
  failed: b.failed,
  cancelled: b.cancelled,
  spent: microsToUsd(b.spentMicros),
  output_seconds: b.outputSeconds,
});

const withCosts = (b: UsageCounts) => ({ ...view(b), upstream_cost: microsToUsd(b.upstreamCostMicros ?? 0), margin: microsToUsd(b.marginMicros ?? 0) });

interface UsageAnswerInput {
  accountId: string | null;
  range: UsageRange;
  groupBy: UsageView['group_by'];
  balanceMicros: number | null;
  buckets: readonly UsageCounts[];
}

/** The buckets to show (by day every day of the range in order: a chart needs no gap filling) and their total. */
function filled(o: UsageAnswerInput) {
  const first = dayOf(o.range.start);
  const last = dayOf(o.range.end - 1);
  let buckets = [...o.buckets];
  if (o.groupBy === 'day') {
    const found = new Map(buckets.map((b) => [b.key, b]));
    buckets = Array.from({ length: last - first + 1 }, (_, i) => {
      const key = dateOf(first + i);
      return found.get(key) ?? zero(key);
    });
  }
  const total = buckets.reduce(
    (sum, b) => ({
      key: '',
      tasks: sum.tasks + b.tasks,
      completed: sum.completed + b.completed,
      failed: sum.failed + b.failed,
      cancelled: sum.cancelled + b.cancelled,
      spentMicros: sum.spentMicros + b.spentMicros,
      outputSeconds: sum.outputSeconds + b.outputSeconds,
      upstreamCostMicros: (sum.upstreamCostMicros ?? 0) + (b.upstreamCostMicros ?? 0),
      marginMicros: (sum.marginMicros ?? 0) + (b.marginMicros ?? 0),
    }),
    zero(''),
  );
  const header = {
    account_id: o.accountId,
    from: dateOf(first),
    to: dateOf(last),
    start: Math.floor(o.range.start / 1000),
    end: Math.ceil(o.range.end / 1000),
    group_by: o.groupBy,
    currency: 'USD' as const,
    balance: o.balanceMicros === null ? null : microsToUsd(o.balanceMicros),
  };
  return { header, buckets, total };
}

/** The account's answer (`GET /v1/usage`): what it was charged, never what the upstreams cost the operator. */
export function usageAnswer(o: UsageAnswerInput): UsageView {
  const { header, buckets, total } = filled(o);
  return { ...header, total: view(total), buckets: buckets.map((b) => ({ key: b.key, ...view(b) })) };
}

/** The operator's answer (`GET /admin/v1/usage`): the same, each bucket and the total with `upstream_cost` and `margin`. */
export function adminUsageAnswer(o: UsageAnswerInput): AdminUsageView {
  const { header, buckets, total } = filled(o);
  return { ...header, total: withCosts(total), buckets: buckets.map((b) => ({ key: b.key, ...withCosts(b) })) };
}
