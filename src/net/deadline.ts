/**
 * A signal that aborts when `parent` does or after `ms`, whichever comes first; `dispose()` ends
 * it. Cheaper than `AbortSignal.any([parent, AbortSignal.timeout(ms)])`, whose WeakRefs and
 * timers linger until collected: thousands of upstream calls a minute add up.
 */
export interface Deadline {
  readonly signal: AbortSignal;
  /** True when it was the time that ran out. */
  readonly expired: boolean;
  dispose(): void;
}

export function deadline(ms: number, parent?: AbortSignal): Deadline {
  const controller = new AbortController();
  let expired = false;
  const onParentAbort = () => controller.abort(parent!.reason);
  const timer = setTimeout(() => {
    expired = true;
    controller.abort(new DOMException(`no answer within ${ms} ms`, 'TimeoutError'));
  }, ms);
  if (parent?.aborted) onParentAbort();
  else parent?.addEventListener('abort', onParentAbort, { once: true });
  return {
    signal: controller.signal,
    get expired() {
      return expired;
    },
    dispose() {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onParentAbort);
    },
  };
}
