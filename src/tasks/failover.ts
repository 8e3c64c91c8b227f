import type { LeaseGuard, TaskRecord } from '../store/types.js';
import type { ChannelUnavailableError, Provider } from '../providers/types.js';
import type { TaskOutcome } from '../observability/metrics.js';
import type { DispatcherOptions } from './dispatcher-options.js';
import type { LogFields } from './task-run.js';
import { ChannelRouter } from './channel-router.js';

/**
 * What the dispatcher keeps per task (its provider state): the channels tried so far, how often
 * every channel was found busy and the task put back to wait, and the current channel's own data.
 */
export interface DispatchState {
  tried: string[];
  waits?: number;
  data: unknown;
}

export function dispatchState(stored: unknown): DispatchState {
  const s = stored as Partial<DispatchState> | null;
  return {
    tried: Array.isArray(s?.tried) ? s.tried.filter((t) => typeof t === 'string') : [],
    waits: Number.isInteger(s?.waits) ? s!.waits : 0,
    data: s?.data ?? null,
  };
}

const BUSY_RETRY_CAP_MS = 60_000;

type FailoverOptions = Pick<DispatcherOptions, 'store' | 'providers' | 'owner' | 'logger' | 'clock' | 'busyRetryMs' | 'busyMaxWaitMs' | 'router'>;

/**
 * A channel could not take the task: hand it to the next one. When none is left and the last was
 * only busy (429), the task waits in the queue and starts over from the first channel, for a
 * while (`busyMaxWaitMs`); otherwise it fails.
 */
export class Failover {
  /** Channels are chosen as at submit: budgets spent today are skipped, and `routing: cost` ranks by cost. */
  private readonly router: ChannelRouter;

  constructor(private readonly o: FailoverOptions) {
    this.router = o.router ?? new ChannelRouter({ registry: o.providers, clock: o.clock });
  }

  async channelUnavailable(task: TaskRecord, provider: Provider, err: ChannelUnavailableError, log: LogFields): Promise<TaskOutcome> {
    const guard: LeaseGuard = { id: task.id, owner: this.o.owner.id };
    const previous = dispatchState(task.providerState);
    const tried = [...previous.tried, provider.name];
    const { provider: next, upstreamCostMicros, overBudget } = await this.router.choose(task.request, tried);
    if (next && (await this.o.store.moveTask(guard, next.name, { tried, waits: previous.waits, data: null }, undefined, upstreamCostMicros))) {
      this.o.logger.warn({ ...log, reason: err.detail, next: next.name }, 'channel unavailable; task moved to the next channel');
      return 'moved';
    }
    const first = await this.router.choose(task.request, []);
    const now = this.o.clock();
    const waits = previous.waits ?? 0;
    const delay = Math.min(BUSY_RETRY_CAP_MS, (this.o.busyRetryMs ?? 5_000) * 2 ** waits);
    if (err.busy && first.provider && now + delay - task.createdAt <= (this.o.busyMaxWaitMs ?? 0)) {
      if (await this.o.store.moveTask(guard, first.provider.name, { tried: [], waits: waits + 1, data: null }, now + delay, first.upstreamCostMicros)) {
        this.o.logger.warn({ ...log, reason: err.detail, retryInMs: delay }, 'every channel is busy; task waits in the queue');
        return 'deferred';
      }
    }
    this.o.logger.warn({ ...log, reason: err.detail, tried }, 'no channel left for the task');
    const spent = overBudget.length ? `; ${overBudget.join(', ')} spent ${overBudget.length === 1 ? 'its' : 'their'} daily budget` : '';
    const detail = `no channel could take the task (tried ${tried.join(', ')}${waits ? `, busy for ${Math.round((now - task.createdAt) / 1000)} s` : ''}${spent}): ${err.detail}`;
    await this.o.store.failTask(guard, { code: 'provider_error', params: { detail } }, this.o.clock());
    return 'failed';
  }
}
