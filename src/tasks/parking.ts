import type { LeaseGuard, TaskRecord } from '../store/types.js';
import type { ParkedTask, Provider } from '../providers/types.js';
import type { TaskOutcome } from '../observability/metrics.js';
import type { DispatcherOptions } from './dispatcher-options.js';
import type { ProgressWriter } from './progress-writer.js';

type ParkingOptions = Pick<DispatcherOptions, 'store' | 'owner' | 'logger' | 'clock' | 'onTaskChanged'>;

/** What parking needs from the dispatcher around it. */
export interface ParkingHost {
  progress: ProgressWriter;
  isRunning: (taskId: string) => boolean;
  isStopping: () => boolean;
  /** A suspect runs alone (suspects.ts): resumed tasks wait until it ends. */
  isRunningAlone: () => boolean;
  /** Runs a resumed task; it still holds the channel slot it had while parked. */
  launchResumed: (task: TaskRecord, provider: Provider) => void;
  freeSlot: (provider: Provider) => void;
  poke: () => void;
}

/**
 * Tasks a provider set aside (see RunContext.park), typically while an upstream renders them: leased
 * to this process (lease-renewal.ts keeps them), run by nobody, holding their channel slot, until
 * the provider resumes them to copy the result and complete.
 */
export class Parking {
  private readonly parked = new Map<string, Provider>();
  /** Resumed before their run had finished parking them. */
  private readonly resumeEarly = new Set<string>();
  /** Parked tasks that came due while a suspect ran alone; resumed once it ends. */
  private readonly resumeAfterAlone = new Map<string, Provider>();

  constructor(
    private readonly o: ParkingOptions,
    private readonly host: ParkingHost,
  ) {}

  get size(): number {
    return this.parked.size;
  }

  has(taskId: string): boolean {
    return this.parked.has(taskId);
  }

  /** Parked task ids with their channels. */
  entries(): IterableIterator<[string, Provider]> {
    return this.parked.entries();
  }

  /** The handle a provider keeps for a task it parks; it holds the task's id, not its run. */
  handle(taskId: string, provider: Provider): ParkedTask {
    return new ParkedHandle(this, taskId, provider);
  }

  /** ParkedHandle's: a progress report of a parked task whose last kept percent was `last`. */
  reportProgress(taskId: string, fraction: number, last: number): number {
    return this.host.progress.report(taskId, this.o.owner.id, fraction, last);
  }

  /** ParkedHandle's: the upstream runs the task now. */
  async markProcessing(taskId: string): Promise<void> {
    if (this.parked.has(taskId) && (await this.o.store.markProcessing({ id: taskId, owner: this.o.owner.id }, this.o.clock()))) {
      this.o.onTaskChanged?.(taskId, 'claimed');
    }
  }

  /** The run returned PARKED: keep the task here, or hand it back when shutting down. */
  async runParked(guard: LeaseGuard, provider: Provider): Promise<TaskOutcome | null> {
    if (this.host.isStopping()) {
      provider.forget?.(guard.id, 'released');
      await this.o.store.releaseTask(guard, { keepStatus: provider.queuesElsewhere === true });
      return 'requeued';
    }
    // Its code is done until it is resumed: a death in between is not this run's doing.
    await this.o.store.setRunOpen(guard, false);
    this.parked.set(guard.id, provider);
    if (this.resumeEarly.delete(guard.id)) setImmediate(() => void this.resume(guard.id, provider));
    return null;
  }

  /** The task's run ended without parking it: a resume that came during the run is moot. */
  runEnded(taskId: string): void {
    this.resumeEarly.delete(taskId);
  }

  /** Runs a parked task again, if this process still holds it. */
  async resume(taskId: string, provider: Provider): Promise<void> {
    if (this.parked.get(taskId) !== provider) {
      if (this.host.isRunning(taskId)) this.resumeEarly.add(taskId);
      return;
    }
    if (this.host.isRunningAlone()) {
      this.resumeAfterAlone.set(taskId, provider);
      return;
    }
    this.parked.delete(taskId);
    try {
      const task = await this.o.store.getTask(taskId);
      const stopping = this.host.isStopping();
      if (stopping || !task || task.leaseOwner !== this.o.owner.id || (task.status !== 'pending' && task.status !== 'processing')) {
        provider.forget?.(taskId, 'released');
        if (stopping && task?.leaseOwner === this.o.owner.id) {
          await this.o.store.releaseTask({ id: taskId, owner: this.o.owner.id }, { keepStatus: provider.queuesElsewhere === true });
        }
        this.host.freeSlot(provider);
        this.host.poke();
        return;
      }
      this.host.launchResumed(task, provider);
    } catch (err) {
      this.o.logger.error({ err, task: taskId }, 'could not resume a parked task');
      provider.forget?.(taskId, 'released');
      this.host.freeSlot(provider);
    }
  }

  /** The suspect that ran alone ended: resume what came due meanwhile. */
  resumeHeldBack(): void {
    for (const [taskId, provider] of [...this.resumeAfterAlone]) {
      this.resumeAfterAlone.delete(taskId);
      void this.resume(taskId, provider);
    }
  }

  /** Stops keeping a parked task here; true when it was parked. */
  unpark(taskId: string, reason: 'cancelled' | 'released'): boolean {
    const provider = this.parked.get(taskId);
    if (!provider) return false;
    this.parked.delete(taskId);
    provider.forget?.(taskId, reason);
    this.host.freeSlot(provider);
    this.host.poke();
    return true;
  }

  /** Shutdown: parked tasks lose nothing, their work goes on elsewhere and whoever claims them next resumes it. */
  async releaseAll(): Promise<void> {
    for (const [taskId, provider] of [...this.parked]) {
      this.unpark(taskId, 'released');
      await this.o.store.releaseTask({ id: taskId, owner: this.o.owner.id }, { keepStatus: provider.queuesElsewhere === true });
    }
  }
}

/**
 * A parked task's handle: its id, channel and last progress, and no closures, since a process may
 * hold tens of thousands of them while their upstream works.
 */
class ParkedHandle implements ParkedTask {
  private lastPercent = 0;

  constructor(
    private readonly parking: Parking,
    private readonly taskId: string,
    private readonly provider: Provider,
  ) {}

  reportProgress(fraction: number): void {
    this.lastPercent = this.parking.reportProgress(this.taskId, fraction, this.lastPercent);
  }

  markProcessing(): Promise<void> {
    return this.parking.markProcessing(this.taskId);
  }

  resume(): void {
    void this.parking.resume(this.taskId, this.provider);
  }
}
