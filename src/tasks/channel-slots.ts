import type { Provider } from '../providers/types.js';

/** Running and parked tasks per channel: both count against its concurrency. */
export class ChannelSlots {
  private readonly busy = new Map<string, number>();

  take(provider: Provider): void {
    this.busy.set(provider.name, (this.busy.get(provider.name) ?? 0) + 1);
  }

  free(provider: Provider): void {
    this.busy.set(provider.name, (this.busy.get(provider.name) ?? 1) - 1);
  }

  /** How many more tasks the channel may start now; an upstream channel may also be short of submit room. */
  freeFor(provider: Provider): number {
    const free = provider.concurrency - (this.busy.get(provider.name) ?? 0);
    return provider.startable ? Math.min(free, provider.startable()) : free;
  }

  withRoom(providers: readonly Provider[]): Provider[] {
    return providers.filter((p) => this.freeFor(p) > 0);
  }
}
