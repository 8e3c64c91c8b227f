import { randomInt } from 'node:crypto';
import type { TaskRequest } from '../contract/submit.js';
import type { Provider } from '../providers/types.js';
import type { ProviderRegistry, Routing } from '../providers/registry.js';
import { budgetSpent, type ChannelSpend, upstreamCostMicros, utcDayStart } from '../billing/upstream-cost.js';

/** The configuration's `routing` (README: Configuration). */
export type RoutingMode = 'priority' | 'cost';

/** Where budgets and loads are read: the database, so that every instance counts the same (UsageStore.channelSpend). */
export interface ChannelSpendReader {
  channelSpend(query: { providers: readonly string[]; since: number }): Promise<ChannelSpend[]>;
}

export interface ChannelRouterOptions {
  registry: ProviderRegistry;
  /** Default `priority`. */
  mode?: RoutingMode;
  /** Without it no budget is counted and no channel is busy (tests of the queue alone). */
  spend?: ChannelSpendReader;
  clock?: () => number;
}

/** Where a task goes. */
export interface Route {
  /** Undefined when no channel can take it. */
  provider: Provider | undefined;
  /** What it is expected to cost on that channel (a reference video at the longest the rules allow); null when the channel declares no cost for it. */
  upstreamCostMicros: number | null;
  /** Channels that serve the task but were left out because their daily budget is spent. */
  overBudget: string[];
}

interface Candidate {
  provider: Provider;
  routing: Routing;
}

/**
 * Picks the channel of a new task (submit) and of a task moving on (failover), among the channels
 * that can take it and it has not tried:
 *
 * - a channel whose daily budget is spent (`budgetSpent`: its upstream cost completed today, UTC,
 *   plus the expected cost of its unfinished tasks, has reached `daily_budget_usd`) takes nothing;
 * - `priority`: the registry's rule, unchanged: the highest priority, shared by weight among equals;
 * - `cost`: the cheapest for this task (declared costs before undeclared ones), among the healthy
 *   channels if any is: not paused (its upstream answered 429 moments ago) and not busy (its
 *   unfinished tasks in the database reach its max_in_flight); ties go by priority, then weight.
 *
 * Budgets and loads are read from the database at each decision; nothing is locked, so decisions
 * made at the same moment on one or several instances may together pass a budget by those tasks.
 */
export class ChannelRouter {
  private readonly mode: RoutingMode;
  private readonly clock: () => number;

  constructor(private readonly o: ChannelRouterOptions) {
    this.mode = o.mode ?? 'priority';
    this.clock = o.clock ?? Date.now;
  }

  async choose(request: TaskRequest, tried: readonly string[] = []): Promise<Route> {
    const candidates = this.o.registry.eligible(request, tried);
    if (candidates.length === 0) return { provider: undefined, upstreamCostMicros: null, overBudget: [] };
    const budgeted = candidates.some((c) => c.routing.dailyBudgetMicros !== undefined);
    const spend = this.o.spend && (budgeted || this.mode === 'cost') ? await this.spendOf(candidates) : new Map<string, ChannelSpend>();
    const overBudget = candidates.filter((c) => budgetSpent(spend.get(c.provider.name), c.routing.dailyBudgetMicros)).map((c) => c.provider.name);
    const open = candidates.filter((c) => !overBudget.includes(c.provider.name));
    let chosen: Candidate | undefined;
    if (this.mode === 'priority') {
      const provider = this.o.registry.forModel(request.model, [...tried, ...overBudget], request);
      chosen = open.find((c) => c.provider === provider);
    } else {
      chosen = this.cheapest(open, request, spend);
    }
    return {
      provider: chosen?.provider,
      upstreamCostMicros: chosen ? upstreamCostMicros(chosen.routing.cost, request, null) : null,
      overBudget,
    };
  }

  private async spendOf(candidates: readonly Candidate[]): Promise<Map<string, ChannelSpend>> {
    const rows = await this.o.spend!.channelSpend({ providers: candidates.map((c) => c.provider.name), since: utcDayStart(this.clock()) });
    return new Map(rows.map((r) => [r.provider, r]));
  }

  private cheapest(open: readonly Candidate[], request: TaskRequest, spend: ReadonlyMap<string, ChannelSpend>): Candidate | undefined {
    if (open.length === 0) return undefined;
    const healthy = open.filter((c) => c.provider.pausedUntil?.() == null && (spend.get(c.provider.name)?.unfinished ?? 0) < c.provider.concurrency);
    const ranked = (healthy.length > 0 ? healthy : open).map((c) => ({ c, cost: upstreamCostMicros(c.routing.cost, request, null) }));
    // Known costs first, cheapest first; then the higher priority.
    const order = (a: (typeof ranked)[number], b: (typeof ranked)[number]) =>
      (a.cost === null ? 1 : 0) - (b.cost === null ? 1 : 0) || (a.cost ?? 0) - (b.cost ?? 0) || b.c.routing.priority - a.c.routing.priority;
    ranked.sort(order);
    const best = ranked[0]!;
    return pickByWeight(ranked.filter((r) => order(r, best) === 0).map((r) => r.c));
  }
}

/** Shares among equals by weight, as the registry does (a weight of 0 takes a share only when all are 0). */
function pickByWeight(channels: readonly Candidate[]): Candidate {
  const total = channels.reduce((sum, c) => sum + Math.max(0, c.routing.weight), 0);
  if (total <= 0) return channels[0]!;
  let ticket = randomInt(0, total);
  for (const channel of channels) {
    ticket -= Math.max(0, channel.routing.weight);
    if (ticket < 0) return channel;
  }
  return channels[channels.length - 1]!;
}
