import type { UpstreamAdapter, UpstreamStatus } from './adapter.js';
import { UpstreamError } from './upstream-error.js';

interface Waiter {
  id: string;
  resolve: (status: UpstreamStatus | undefined) => void;
  reject: (err: unknown) => void;
}

/**
 * Polls upstream tasks in batches: every task asking within the same short window is looked up in
 * one call per API key (up to the adapter's batch size), instead of one request per task.
 */
export class BatchPoller {
  private readonly queued = new Map<string, Waiter[]>();
  private flushTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly adapter: UpstreamAdapter,
    private readonly windowMs: number,
    private readonly signal: AbortSignal,
  ) {}

  /** Resolves with the task's status, or undefined when the upstream does not know it. */
  poll(id: string, apiKey: string): Promise<UpstreamStatus | undefined> {
    return new Promise((resolve, reject) => {
      const list = this.queued.get(apiKey) ?? [];
      list.push({ id, resolve, reject });
      this.queued.set(apiKey, list);
      this.flushTimer ??= setTimeout(() => void this.flush(), this.windowMs);
    });
  }

  private async flush(): Promise<void> {
    this.flushTimer = undefined;
    const batches = [...this.queued.entries()];
    this.queued.clear();
    await Promise.all(
      batches.flatMap(([apiKey, waiters]) => chunks(waiters, this.adapter.batchSize).map((chunk) => this.pollChunk(apiKey, chunk))),
    );
  }

  private async pollChunk(apiKey: string, waiters: Waiter[]): Promise<void> {
    try {
      const ids = [...new Set(waiters.map((w) => w.id))];
      const statuses = await this.adapter.pollMany(ids, apiKey, this.signal);
      for (const w of waiters) w.resolve(statuses.get(w.id));
    } catch (err) {
      const failure = err instanceof UpstreamError ? err : new UpstreamError('unavailable', null, 'poll_failed', (err as Error).message);
      for (const w of waiters) w.reject(failure);
    }
  }
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
