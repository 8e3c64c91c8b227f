import type { ModelId, Resolution } from '../contract/models.js';
import { MAX_REFERENCE_VIDEO_SECONDS, microsToUsd, usdToMicros, type PriceRow } from '../contract/prices.js';
import type { TaskRequest } from '../contract/submit.js';

/**
 * What a channel's upstream charges the operator (README: Configuration, `cost`), in the shape of
 * the price book's rows: micro-USD per output second by model and resolution, and per input + output
 * second with a reference video. A model, resolution or kind left out is not declared: tasks of it
 * have no known upstream cost on that channel. No I/O.
 */
export type CostTable = Partial<Record<ModelId, PriceRow>>;

/** The configuration file's `cost` of a channel: USD per second, rates first, then model, then resolution. */
export interface CostDeclaration {
  per_second?: Partial<Record<string, Partial<Record<string, number>>>>;
  per_second_with_reference_video?: Partial<Record<string, Partial<Record<string, number>>>>;
}

const micros = (row: Partial<Record<string, number>> | undefined): Partial<Record<Resolution, number>> =>
  Object.fromEntries(Object.entries(row ?? {}).map(([resolution, usd]) => [resolution, usdToMicros(usd ?? 0)])) as Partial<Record<Resolution, number>>;

/** The declaration as a table in micro-USD; undefined when the channel declares none. */
export function costTable(declared: CostDeclaration | undefined): CostTable | undefined {
  if (!declared) return undefined;
  const table: CostTable = {};
  const models = new Set([...Object.keys(declared.per_second ?? {}), ...Object.keys(declared.per_second_with_reference_video ?? {})]) as Set<ModelId>;
  for (const model of models) {
    table[model] = { perSecond: micros(declared.per_second?.[model]), perSecondWithVideo: micros(declared.per_second_with_reference_video?.[model]) };
  }
  return table;
}

type UsdRates = Record<string, Record<string, number>>;

/** The table as the admin API shows it: the configuration's shape, in USD. */
export function costDeclaration(table: CostTable): { per_second: UsdRates; per_second_with_reference_video: UsdRates } {
  const usd = (pick: (row: PriceRow) => Partial<Record<Resolution, number>>): UsdRates =>
    Object.fromEntries(
      Object.entries(table)
        .map(([model, row]) => [model, Object.fromEntries(Object.entries(pick(row!)).map(([r, m]) => [r, microsToUsd(m)]))] as const)
        .filter(([, rates]) => Object.keys(rates).length > 0),
    );
  return { per_second: usd((row) => row.perSecond), per_second_with_reference_video: usd((row) => row.perSecondWithVideo) };
}

/**
 * What the task costs upstream on a channel with this table, by the price book's formula: the
 * output seconds at the resolution's rate, or with a reference video its input + output seconds at
 * that rate (`referenceVideoSeconds` null: the longest the rules allow, as a reservation). Null
 * when the table declares no rate for the task's model, resolution and kind.
 */
export function upstreamCostMicros(table: CostTable | null | undefined, request: TaskRequest, referenceVideoSeconds: number | null): number | null {
  const row = table?.[request.model];
  if (!row) return null;
  if (!request.media.some((m) => m.kind === 'video')) {
    const rate = row.perSecond[request.resolution];
    return rate === undefined ? null : Math.round(rate * request.duration);
  }
  const rate = row.perSecondWithVideo[request.resolution];
  return rate === undefined ? null : Math.round(rate * ((referenceVideoSeconds ?? MAX_REFERENCE_VIDEO_SECONDS) + request.duration));
}

const DAY_MS = 86_400_000;

/** The first millisecond of the UTC day `now` falls in: daily budgets start over then. */
export const utcDayStart = (now: number): number => Math.floor(now / DAY_MS) * DAY_MS;
/** The next 00:00 UTC after `now`. */
export const nextUtcDayStart = (now: number): number => utcDayStart(now) + DAY_MS;

/**
 * What counts against a channel's daily budget (README: Configuration, `daily_budget_usd`), read
 * from the database: the upstream cost of its tasks completed today (UTC), and the expected cost of
 * its unfinished ones, which have been given to it and will be paid for if they complete.
 */
export interface ChannelSpend {
  provider: string;
  /** Upstream cost of its tasks completed since the start of the day. */
  settledMicros: number;
  /** Expected upstream cost of its pending and processing tasks (a reference video at the longest the rules allow). */
  inFlightMicros: number;
  /** Its pending and processing tasks (busy when they reach its max_in_flight). */
  unfinished: number;
}

export const spentMicros = (spend: ChannelSpend | undefined): number => (spend ? spend.settledMicros + spend.inFlightMicros : 0);

/** A channel takes no new task once what counts against its budget reaches it. */
export const budgetSpent = (spend: ChannelSpend | undefined, budgetMicros: number | undefined): boolean =>
  budgetMicros !== undefined && spentMicros(spend) >= budgetMicros;

/** A channel's `cost` and `daily_budget_usd` as its routing keeps them (src/providers/registry.ts `Routing`). */
export function costRouting(c: { cost?: CostDeclaration; daily_budget_usd?: number }): { cost?: CostTable; dailyBudgetMicros?: number } {
  const cost = costTable(c.cost);
  return { ...(cost ? { cost } : {}), ...(c.daily_budget_usd === undefined ? {} : { dailyBudgetMicros: usdToMicros(c.daily_budget_usd) }) };
}
