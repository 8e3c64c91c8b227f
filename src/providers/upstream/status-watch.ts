import type { UpstreamAdapter, UpstreamStatus } from './adapter.js';
import { UpstreamError } from './upstream-error.js';
import { Slots } from '../../concurrency/slots.js';

export interface StatusWatchOptions {
  /** First look this long after the task was submitted (or resumed). */
  firstPollMs: number;
  /**
   * Upstreams read one task per call: the interval grows by half each round up to this. Upstreams
   * that list many per call keep polling every `firstPollMs` (see StatusWatch).
   */
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

/**
 * One watched upstream task. The caller subclasses it with what it keeps per task (so a parked task
 * is one object here, not an entry plus closures and a promise): the watch calls `onStatus` with every
 * answer that is not final and `onEnd` once, when the task ends upstream or cannot be watched any more.
 */
export abstract class Watched {
  /** Consecutive failed looks. */
  errors = 0;
  inFlight = false;
  /** When it is next looked at, and the wait after that (set by `StatusWatch.watch`). */
  dueAt = 0;
  interval = 0;

  constructor(
    /** The upstream's task id. */
    readonly id: string,
    readonly apiKey: string,
    /** Give up at this time. */
    readonly deadline: number,
  ) {}

  abstract onStatus(status: UpstreamStatus): void;
  abstract onEnd(outcome: WatchOutcome): void;
}

/** `watch(request)`'s entry: the request's callback and the promise's resolve. */
class PromisedWatch extends Watched {
  constructor(
    request: WatchRequest,
    private readonly status: (status: UpstreamStatus) => void,
    private readonly resolve: (outcome: WatchOutcome) => void,
  ) {
    super(request.id, request.apiKey, request.deadline);
  }

  onStatus(status: UpstreamStatus): void {
    this.status(status);
  }

  onEnd(outcome: WatchOutcome): void {
    this.resolve(outcome);
  }
}

const finalStates: ReadonlySet<UpstreamStatus['state']> = new Set(['completed', 'failed', 'cancelled']);

const byDueAt = (a: Watched, b: Watched) => a.dueAt - b.dueAt;

/**
 * Watches every upstream task of one channel with one timer: each round it looks up the tasks that
 * are due, per API key, in calls of up to `batchSize` ids, filling the room left in the last call of
 * a key with the tasks due next (the call is made anyway). Thousands of tasks in flight cost a few
 * list calls per round, not a timer and a request each.
 *
 * How often a task is looked at depends on what a look costs. An upstream that lists many tasks per
 * call (`batchSize` > 1) is asked about each task every `firstPollMs` for as long as it runs: a look
 * is a share of a list call (about 1/166 of one for Ark's ids and 7 000-character URLs), so a
 * finished task is noticed within `firstPollMs` for little more than one call per 166 tasks per
 * round. An upstream read one task per call gets intervals that grow by half from `firstPollMs` up
 * to `maxPollMs`. Failed looks back off exponentially in both.
 */
export class StatusWatch {
  /** API key → upstream id → entry: a round groups by key anyway. */
  private readonly keys = new Map<string, Map<string, Watched>>();
  private count = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private lastRound = 0;
  private readonly calls: Slots;
  /** The longest wait between two good looks at a task. */
  private readonly ceilingMs: number;

  constructor(
    private readonly adapter: UpstreamAdapter,
    private readonly o: StatusWatchOptions,
    private readonly lifetime: AbortSignal,
  ) {
    this.calls = new Slots(o.maxConcurrentCalls);
    this.ceilingMs = adapter.batchSize > 1 ? Math.min(o.firstPollMs, o.maxPollMs) : o.maxPollMs;
    lifetime.addEventListener('abort', () => clearTimeout(this.timer), { once: true });
  }

  get size(): number {
    return this.count;
  }

  /** Watches `entry`; one already watched under the same key and id ends `lost`. */
  watch(entry: Watched): void;
  /** Resolves when the task ends upstream or cannot be watched any more. */
  watch(request: WatchRequest): Promise<WatchOutcome>;
  watch(what: Watched | WatchRequest): Promise<WatchOutcome> | undefined {
    if (what instanceof Watched) {
      this.add(what);
      return undefined;
    }
    return new Promise((resolve) => this.add(new PromisedWatch(what, what.onStatus, resolve)));
  }

  /** Stops watching a task; its `onEnd` is never called (a promise from `watch` never settles). */
  unwatch(id: string, apiKey: string): boolean {
    const entries = this.keys.get(apiKey);
    if (!entries?.delete(id)) return false;
    this.count--;
    if (entries.size === 0) this.keys.delete(apiKey);
    return true;
  }

  private add(entry: Watched): void {
    let entries = this.keys.get(entry.apiKey);
    if (!entries) this.keys.set(entry.apiKey, (entries = new Map()));
    const earlier = entries.get(entry.id);
    if (earlier) this.end(earlier, entries, { kind: 'lost' });
    entry.interval = this.o.firstPollMs;
    entry.dueAt = this.o.clock() + this.o.firstPollMs;
    entries.set(entry.id, entry);
    this.count++;
    this.arm(entry.dueAt);
  }

  /** Takes the entry out (if it is still the one watched) and tells it how it ended. */
  private end(entry: Watched, entries: Map<string, Watched> | undefined, outcome: WatchOutcome): void {
    if (entries?.get(entry.id) === entry) {
      entries.delete(entry.id);
      this.count--;
      if (entries.size === 0) this.keys.delete(entry.apiKey);
    }
    entry.onEnd(outcome);
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
    const batchSize = this.adapter.batchSize;
    let next = Infinity;
    for (const [apiKey, entries] of this.keys) {
      // Due now, and due within half their interval: the latter may fill the last call's room.
      const due: Watched[] = [];
      const soon: Watched[] = [];
      const timedOut: Watched[] = [];
      for (const entry of entries.values()) {
        if (entry.inFlight) continue;
        if (now >= entry.deadline) timedOut.push(entry);
        else if (entry.dueAt <= now) due.push(entry);
        else if (entry.dueAt <= now + entry.interval / 2) soon.push(entry);
        else next = Math.min(next, entry.dueAt);
      }
      for (const entry of timedOut) this.end(entry, entries, { kind: 'timeout' });
      if (due.length === 0) {
        for (const e of soon) next = Math.min(next, e.dueAt);
        continue;
      }
      const room = Math.ceil(due.length / batchSize) * batchSize - due.length;
      if (soon.length > room) {
        soon.sort(byDueAt);
        for (let i = room; i < soon.length; i++) next = Math.min(next, soon[i]!.dueAt);
        soon.length = room;
      }
      // The most overdue go first: calls wait for a free slot in this order.
      due.sort(byDueAt);
      const all = soon.length ? due.concat(soon) : due;
      for (let i = 0; i < all.length; i += batchSize) {
        const batch = all.slice(i, i + batchSize);
        for (const e of batch) e.inFlight = true;
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
    const entries = this.keys.get(apiKey);
    let next = Infinity;
    for (const entry of batch) {
      entry.inFlight = false;
      if (entries?.get(entry.id) !== entry) continue;
      const status = answer?.get(entry.id);
      if (!answer || status instanceof UpstreamError) {
        // The whole call failed, or the answer said something unreadable about this one task.
        entry.errors++;
        if (entry.errors >= this.o.maxPollErrors) {
          this.end(entry, entries, { kind: 'unreachable', errors: entry.errors, message: status instanceof UpstreamError ? status.message : failure });
          continue;
        }
        entry.dueAt = now + Math.min(this.o.maxPollMs * 4, entry.interval * 2 ** entry.errors);
      } else {
        if (!status) {
          this.end(entry, entries, { kind: 'lost' });
          continue;
        }
        if (finalStates.has(status.state)) {
          this.end(entry, entries, { kind: 'finished', status });
          continue;
        }
        entry.errors = 0;
        entry.onStatus(status);
        entry.interval = Math.min(this.ceilingMs, Math.round(entry.interval * 1.5));
        entry.dueAt = now + entry.interval;
      }
      next = Math.min(next, entry.dueAt);
    }
    if (next < Infinity) this.arm(next);
  }
}
