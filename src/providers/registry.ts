import { randomInt } from 'node:crypto';
import type { ModelId } from '../contract/models.js';
import type { Provider } from './types.js';

/** How a channel takes part in routing: which models, and its place in line. */
export interface Routing {
  /** The models it serves, or '*' for all. */
  models: '*' | ReadonlySet<ModelId>;
  /** Higher first. */
  priority: number;
  /** Share among channels of equal priority. */
  weight: number;
}

/** Which kind of provider a channel is (the configuration's `provider`). */
export type ChannelKind = 'local' | 'ark' | 'apimart';

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
    }));
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

  /** The channel for a new task of this model, skipping channels already tried; undefined if none is left. */
  forModel(model: ModelId, tried: readonly string[] = []): Provider | undefined {
    const candidates = this.candidates(model, tried);
    if (candidates.length === 0) return undefined;
    const top = Math.max(...candidates.map((c) => c.routing.priority));
    return pickByWeight(candidates.filter((c) => c.routing.priority === top)).provider;
  }

  private candidates(model: ModelId, tried: readonly string[]): Channel[] {
    return [...this.channels.values()].filter((c) => !tried.includes(c.provider.name) && (c.routing.models === '*' || c.routing.models.has(model)));
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
