import { randomInt } from 'node:crypto';
import type { ModelId } from '../contract/models.js';
import type { TaskRequest } from '../contract/submit.js';
import type { Provider, Refusal } from './types.js';
import type { CostTable } from '../billing/upstream-cost.js';

/** How a channel takes part in routing: which models, and its place in line. */
export interface Routing {
  /** The models it serves, or '*' for all. */
  models: '*' | ReadonlySet<ModelId>;
  /** Higher first. */
  priority: number;
  /** Share among channels of equal priority. */
  weight: number;
  /** What its upstream charges (README: Configuration, `cost`); absent when not declared. */
  cost?: CostTable;
  /** Upstream cost (micro-USD) a UTC day may count before the channel takes no new task; absent: no budget. */
  dailyBudgetMicros?: number;
}

/** Which kind of provider a channel is (the configuration's `provider`). */
export type ChannelKind = 'local' | 'ark' | 'apimart' | 'fal' | 'replicate';

interface Channel {
  provider: Provider;
  routing: Routing;
  kind: ChannelKind;
}

/** A channel as the admin API shows it. */
export interface ChannelInfo {
  name: string;
  kind: ChannelKind;
  models: '*' | ModelId[];
  priority: number;
  weight: number;
  /** Its tasks one instance holds at once (running or parked on the upstream). */
  maxInFlight: number;
  /** See `Provider.pausedUntil`: this process's own view. */
  pausedUntil: number | null;
  /** `Routing.cost` and `Routing.dailyBudgetMicros`. */
  cost?: CostTable;
  dailyBudgetMicros?: number;
}

const EVERYTHING: Routing = { models: '*', priority: 0, weight: 1 };

/**
 * The channels a task can go to. A channel is a provider instance with its credentials (its name is
 * the provider's name); routing picks the highest priority that serves the model, sharing by weight
 * among equals, and failover takes the next one the task has not tried.
 */
export class ProviderRegistry {
  private readonly channels = new Map<string, Channel>();

  register(provider: Provider, routing: Routing = EVERYTHING, kind: ChannelKind = 'local'): this {
    if (this.channels.has(provider.name)) throw new Error(`channel ${provider.name} is registered twice`);
    this.channels.set(provider.name, { provider, routing, kind });
    return this;
  }

  /** Every channel in the order of registration (the configuration's). */
  describe(): ChannelInfo[] {
    return [...this.channels.values()].map(({ provider, routing, kind }) => ({
      name: provider.name,
      kind,
      models: routing.models === '*' ? '*' : [...routing.models],
      priority: routing.priority,
      weight: routing.weight,
      maxInFlight: provider.concurrency,
      pausedUntil: provider.pausedUntil?.() ?? null,
      cost: routing.cost,
      dailyBudgetMicros: routing.dailyBudgetMicros,
    }));
  }

  /** The channels that could take this task, skipping those already tried (forModel's candidates), for tasks/channel-router.ts. */
  eligible(request: TaskRequest, tried: readonly string[] = []): Array<{ provider: Provider; routing: Routing }> {
    return this.candidates(request.model, tried, request).map(({ provider, routing }) => ({ provider, routing }));
  }

  /** The upstream cost a channel declares (README: Configuration, `cost`), if any. */
  costOf(name: string): CostTable | undefined {
    return this.channels.get(name)?.routing.cost;
  }

  get(name: string): Provider | undefined {
    return this.channels.get(name)?.provider;
  }

  all(): Provider[] {
    return [...this.channels.values()].map((c) => c.provider);
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.all().map((p) => p.close?.()));
  }

  /**
   * The channel for a new task of this model, skipping channels already tried and, given the task,
   * channels that cannot do it (`Provider.refusal`); undefined if none is left.
   */
  forModel(model: ModelId, tried: readonly string[] = [], request?: TaskRequest): Provider | undefined {
    const candidates = this.candidates(model, tried, request);
    if (candidates.length === 0) return undefined;
    const top = Math.max(...candidates.map((c) => c.routing.priority));
    return pickByWeight(candidates.filter((c) => c.routing.priority === top)).provider;
  }

  /** Why each channel serving the task's model cannot do it: what a submit no channel takes is refused with. */
  refusals(request: TaskRequest): Array<Refusal & { channel: string }> {
    return this.candidates(request.model, []).flatMap((c) => {
      const refused = c.provider.refusal?.(request);
      return refused ? [{ channel: c.provider.name, ...refused }] : [];
    });
  }

  private candidates(model: ModelId, tried: readonly string[], request?: TaskRequest): Channel[] {
    return [...this.channels.values()].filter(
      (c) => !tried.includes(c.provider.name) && (c.routing.models === '*' || c.routing.models.has(model)) && !(request && c.provider.refusal?.(request)),
    );
  }
}

function pickByWeight(channels: Channel[]): Channel {
  const total = channels.reduce((sum, c) => sum + Math.max(0, c.routing.weight), 0);
  if (total <= 0) return channels[0]!;
  let ticket = randomInt(0, total);
  for (const channel of channels) {
    ticket -= Math.max(0, channel.routing.weight);
    if (ticket < 0) return channel;
  }
  return channels[channels.length - 1]!;
}
