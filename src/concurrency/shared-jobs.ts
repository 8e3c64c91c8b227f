/**
 * Small concurrency helpers for the intake: bounded parallel mapping, one shared job per key, and
 * waiting on a promise only as long as a signal allows.
 */

/** Resolves like `promise`, or rejects with the signal's reason as soon as it aborts. */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * Maps with at most `limit` calls running, results in input order. On the first failure no new
 * call starts, `onFailure` runs (to abort the running ones), and the first error is thrown once
 * every running call has settled, so none is left writing files behind the caller's back.
 */
export async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
  onFailure: (err: unknown) => void = () => {},
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed: { err: unknown } | null = null;
  const worker = async () => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        results[index] = await fn(items[index]!, index);
      } catch (err) {
        if (!failed) {
          failed = { err };
          onFailure(err);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failed) throw (failed as { err: unknown }).err;
  return results;
}

/**
 * One running job per key, shared by everyone who asks for the key meanwhile. Each caller waits
 * with its own signal; the job itself is aborted only when every caller has given up, so one
 * cancelled task does not fail another that wanted the same file.
 */
export class SharedJobs<T> {
  private readonly running = new Map<string, { promise: Promise<T>; controller: AbortController; waiters: number }>();

  async run(key: string, signal: AbortSignal, job: (signal: AbortSignal) => Promise<T>): Promise<T> {
    signal.throwIfAborted();
    let flight = this.running.get(key);
    if (!flight) {
      const controller = new AbortController();
      const started = { promise: job(controller.signal), controller, waiters: 0 };
      started.promise.then(
        () => this.forget(key, started),
        () => this.forget(key, started),
      );
      flight = started;
      this.running.set(key, flight);
    }
    flight.waiters++;
    try {
      return await untilAborted(flight.promise, signal);
    } finally {
      flight.waiters--;
      if (flight.waiters === 0 && signal.aborted) {
        // The last one waiting left: stop the work, and let the next asker start afresh.
        this.forget(key, flight);
        flight.controller.abort(signal.reason);
      }
    }
  }

  get size(): number {
    return this.running.size;
  }

  private forget(key: string, flight: { promise: Promise<T> }): void {
    if (this.running.get(key) === flight) this.running.delete(key);
  }
}
