import type { DispatcherOptions } from './dispatcher-options.js';
import type { Parking } from './parking.js';
import { LeaseLost } from './stop-reasons.js';

type LeaseRenewalOptions = Pick<DispatcherOptions, 'store' | 'owner' | 'logger' | 'clock' | 'leaseMs'>;

export interface LeaseRenewalHost {
  running: ReadonlyMap<string, { controller: AbortController }>;
  parking: Parking;
  /** A parked task left because its lease was gone. */
  settled: (taskId: string) => void;
}

/**
 * Every third of a lease, one write extends every lease this process holds, running or parked. A
 * running task whose lease is gone (taken over after a stall, or the task was cancelled) is
 * stopped; a parked one is dropped.
 */
export class LeaseRenewal {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly o: LeaseRenewalOptions,
    private readonly host: LeaseRenewalHost,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.renew(), Math.max(500, Math.floor(this.o.leaseMs / 3)));
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async renew(): Promise<void> {
    const { running, parking } = this.host;
    if (running.size === 0 && parking.size === 0) return;
    // As they were when the write went out: a task claimed meanwhile is not in its answer.
    const before = new Map(running);
    const parkedBefore = [...parking.entries()].map(([id]) => id);
    try {
      const held = new Set(await this.o.store.renewLeases(this.o.owner.id, this.o.clock() + this.o.leaseMs));
      for (const [id, run] of before) {
        if (!held.has(id) && running.get(id) === run && !run.controller.signal.aborted) run.controller.abort(new LeaseLost('lease lost'));
      }
      for (const id of parkedBefore) {
        if (!held.has(id) && parking.unpark(id, 'released')) {
          this.o.logger.warn({ task: id }, 'lease lost while parked; another worker owns the task');
          this.host.settled(id);
        }
      }
    } catch (err) {
      this.o.logger.warn({ err }, 'lease renewal failed');
    }
  }
}
