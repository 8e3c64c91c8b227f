import type { TaskRequest } from '../contract/submit.js';
import type { Provider } from '../providers/types.js';
import type { TaskEventStore } from '../store/types.js';

export interface EstimateOptions {
  /** How many of the latest completed tasks of the same shape count. */
  sample: number;
  /** Fewer than this and the channel's own estimate is used. */
  minSample: number;
  /** How long one answer is reused (completions in this process refresh it at once). */
  ttlMs: number;
}

const DEFAULTS: EstimateOptions = { sample: 20, minSample: 3, ttlMs: 10_000 };

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * `estimated_time` from experience: the median `actual_time` (submit to completion) of the latest
 * completed tasks with the same model, resolution and duration on the same channel, falling back to
 * the channel's own estimate until there are enough of them.
 */
export class RunTimeEstimates {
  private readonly cache = new Map<string, { seconds: number | null; until: number }>();
  private readonly o: EstimateOptions;

  constructor(
    private readonly store: TaskEventStore,
    private readonly clock: () => number,
    options: Partial<EstimateOptions> = {},
  ) {
    this.o = { ...DEFAULTS, ...options };
  }

  async estimate(provider: Provider, request: TaskRequest): Promise<number> {
    const shape = { provider: provider.name, model: request.model, resolution: request.resolution, duration: request.duration };
    const key = `${shape.provider}\n${shape.model}\n${shape.resolution}\n${shape.duration}`;
    const now = this.clock();
    let entry = this.cache.get(key);
    if (!entry || entry.until <= now) {
      const times = await this.store.recentRunTimes({ ...shape, limit: this.o.sample });
      entry = { seconds: times.length >= this.o.minSample ? Math.max(1, Math.round(median(times) / 1000)) : null, until: now + this.o.ttlMs };
      this.cache.set(key, entry);
    }
    return entry.seconds ?? provider.estimateSeconds(request);
  }

  /** A task finished here: the next estimate reads the history again. */
  forget(): void {
    this.cache.clear();
  }
}
