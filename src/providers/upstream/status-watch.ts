import type { UpstreamAdapter, UpstreamStatus } from './adapter.js';
import { UpstreamError } from './upstream-error.js';
import { Slots } from '../../concurrency/slots.js';

export interface StatusWatchOptions {
  /** First look this long after the task was submitted (or resumed). */
  firstPollMs: number;
  /** The interval grows by half each round up to this. */
  maxPollMs: number;
  /** Consecutive failed looks before a task is given up. */
  maxPollErrors: number;
  /** Due tasks gathered over this long share one round of list calls. */
  windowMs: number;
  /** List calls one channel keeps open at once. */
  maxConcurrentCalls: number;
  clock: () => number;
}

/** How watching one upstream task ended. */
export type WatchOutcome =
  | { kind: 'finished'; status: UpstreamStatus }
  | { kind: 'lost' }
  | { kind: 'unreachable'; errors: number; message: string }
  | { kind: 'timeout' };

export interface WatchRequest {
  id: string;
  apiKey: string;
  /** Give up at this time. */
  deadline: number;
  /** Every answer that is not final yet. */
  onStatus(status: UpstreamStatus): void;
}

/** One watched task; a class, so that ten thousand of them share one shape. */
class Watched {
  errors = 0;
  inFlight = false;

  constructor(
    readonly id: string,
    readonly apiKey: string,
    readonly deadline: number,
    readonly onStatus: (status: UpstreamStatus) => void,
    readonly settle: (outcome: WatchOutcome) => void,
    public dueAt: number,
    public interval: number,
  ) {}
}

const watchKey = (apiKey: string, id: string) => `${apiKey}\n${id}`;

const finalStates: ReadonlySet<UpstreamStatus['state']> = new Set(['completed', 'failed', 'cancelled']);

/**
 * Watches every upstream task of one channel with one timer: each round it looks up the tasks that
 * are due in list calls of up to `batchSize` ids per API key, topping the last call of a key up with
 * tasks that would be due soon (the call is made anyway). Intervals grow per task from
 * `firstPollMs` to `maxPollMs`; errors back off exponentially. Thousands of tasks in flight cost a
 * few list calls per round, not a timer and a request each.
 */
export class StatusWatch {
  private readonly watched = new Map<string, Watched>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private lastRound = 0;
  private readonly calls: Slots;

  constructor(
    private readonly adapter: UpstreamAdapter,
    private readonly o: StatusWatchOptions,
    private readonly lifetime: AbortSignal,
  ) {
    this.calls = new Slots(o.maxConcurrentCalls);
    lifetime.addEventListener('abort', () => clearTimeout(this.timer), { once: true });
  }

  get size(): number {
    return this.watched.size;
  }

  /** Resolves when the task ends upstream or cannot be watched any more. */
  watch(request: WatchRequest): Promise<WatchOutcome> {
    return new Promise((resolve) => {
      const key = watchKey(request.apiKey, request.id);
      const now = this.o.clock();
      const settle = (outcome: WatchOutcome) => {
        if (this.watched.get(key) === entry) this.watched.delete(key);
        resolve(outcome);
      };
      const entry = new Watched(request.id, request.apiKey, request.deadline, request.onStatus, settle, now + this.o.firstPollMs, this.o.firstPollMs);
      this.watched.get(key)?.settle({ kind: 'lost' });
      this.watched.set(key, entry);
      this.arm(entry.dueAt);
    });
  }

  /** Stops watching a task; its `watch` promise never settles. */
  unwatch(id: string, apiKey: string): boolean {
    return this.watched.delete(watchKey(apiKey, id));
  }

  private arm(at: number): void {
    if (this.lifetime.aborted) return;
    const when = Math.max(at, this.lastRound + this.o.windowMs);
    if (when >= this.timerAt) return;
    clearTimeout(this.timer);
    this.timerAt = when;
    this.timer = setTimeout(() => this.round(), Math.max(0, when - this.o.clock()));
  }

  private round(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = this.o.clock();
    this.lastRound = now;
    const byKey = new Map<string, Watched[]>();
    const keysDue = new Set<string>();
    let next = Infinity;
    for (const entry of this.watched.values()) {
      if (entry.inFlight) continue;
      if (now >= entry.deadline) {
        entry.settle({ kind: 'timeout' });
        continue;
      }
      if (entry.dueAt <= now) keysDue.add(entry.apiKey);
      const list = byKey.get(entry.apiKey);
      if (list) list.push(entry);
      else byKey.set(entry.apiKey, [entry]);
    }
    for (const [apiKey, entries] of byKey) {
      if (!keysDue.has(apiKey)) {
        for (const e of entries) next = Math.min(next, e.dueAt);
        continue;
      }
      entries.sort((a, b) => a.dueAt - b.dueAt);
      for (let i = 0; i < entries.length; i += this.adapter.batchSize) {
        const chunk = entries.slice(i, i + this.adapter.batchSize);
        // A call is worth making only for a task that is due; the rest of its room is free.
        if (chunk[0]!.dueAt > now) {
          next = Math.min(next, chunk[0]!.dueAt);
          break;
        }
        const batch: Watched[] = [];
        for (const e of chunk) {
          if (e.dueAt <= now + e.interval / 2) {
            e.inFlight = true;
            batch.push(e);
          } else next = Math.min(next, e.dueAt);
        }
        void this.look(apiKey, batch);
      }
    }
    if (next < Infinity) this.arm(next);
  }

  /** One task alone is read directly (`GET …/{id}`), several with the upstream's list call. */
  private async lookUp(ids: string[], apiKey: string): Promise<Map<string, UpstreamStatus | UpstreamError>> {
    if (ids.length > 1) return this.adapter.pollMany(ids, apiKey, this.lifetime);
    const status = await this.adapter.pollOne(ids[0]!, apiKey, this.lifetime);
    return status ? new Map([[ids[0]!, status]]) : new Map();
  }

  private async look(apiKey: string, batch: Watched[]): Promise<void> {
    let answer: Map<string, UpstreamStatus | UpstreamError> | undefined;
    let failure = '';
    try {
      const ids = batch.map((e) => e.id);
      answer = await this.calls.with(undefined, () => this.lookUp(ids, apiKey));
    } catch (err) {
      failure = (err as Error).message;
    }
    const now = this.o.clock();
    let next = Infinity;
    for (const entry of batch) {
      entry.inFlight = false;
      if (this.watched.get(watchKey(apiKey, entry.id)) !== entry) continue;
      const status = answer?.get(entry.id);
      if (!answer || status instanceof UpstreamError) {
        // The whole call failed, or the answer said something unreadable about this one task.
        entry.errors++;
        if (entry.errors >= this.o.maxPollErrors) {
          entry.settle({ kind: 'unreachable', errors: entry.errors, message: status instanceof UpstreamError ? status.message : failure });
          continue;
        }
        entry.dueAt = now + Math.min(this.o.maxPollMs * 4, entry.interval * 2 ** entry.errors);
      } else {
        if (!status) {
          entry.settle({ kind: 'lost' });
          continue;
        }
        if (finalStates.has(status.state)) {
          entry.settle({ kind: 'finished', status });
          continue;
        }
        entry.errors = 0;
        entry.onStatus(status);
        entry.interval = Math.min(this.o.maxPollMs, Math.round(entry.interval * 1.5));
        entry.dueAt = now + entry.interval;
      }
      next = Math.min(next, entry.dueAt);
    }
    if (next < Infinity) this.arm(next);
  }
}
