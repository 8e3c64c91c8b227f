import type { LeaseGuard, TaskRecord } from '../store/types.js';
import type { Provider } from '../providers/types.js';
import { dispatchState } from './failover.js';
import type { DispatcherOptions } from './dispatcher-options.js';
import type { ChannelSlots } from './channel-slots.js';
import type { LogFields } from './task-run.js';

type SuspectsOptions = Pick<DispatcherOptions, 'store' | 'providers' | 'owner' | 'logger' | 'clock' | 'leaseMs' | 'maxAttempts' | 'crashesAlone'>;

export interface SuspectsHost {
  slots: ChannelSlots;
  runningCount: () => number;
  isStopping: () => boolean;
  launch: (task: TaskRecord, provider: Provider) => void;
  /** The suspect ended: parked tasks that came due meanwhile go on (parking.ts). */
  aloneEnded: () => void;
}

/**
 * A task whose last run never ended is a suspect: it may be what killed that run's process, and so
 * every task beside it. It runs alone, so that if the process dies again the task is known to be
 * the cause; a task that stopped the process twice, once alone, is failed without running again.
 */
export class Suspects {
  /** The suspect running alone now: nothing else starts here until it ends. */
  private aloneTask: string | null = null;

  constructor(
    private readonly o: SuspectsOptions,
    private readonly host: SuspectsHost,
  ) {}

  get runningAlone(): boolean {
    return this.aloneTask !== null;
  }

  /**
   * Before claiming anything else: true while a suspect keeps other work waiting. It waits until
   * what runs now has finished, then starts, and nothing else starts until it ends.
   */
  async holdForSuspect(): Promise<boolean> {
    if (this.aloneTask) return true;
    if (this.host.isStopping()) return false;
    const withRoom = this.host.slots.withRoom(this.o.providers.all());
    if (
      !(await this.o.store.hasInterruptedTask(
        withRoom.map((p) => p.name),
        this.o.clock(),
      ))
    )
      return false;
    if (this.host.runningCount() > 0) return true;
    for (const provider of withRoom) {
      const [task] = await this.o.store.claimTasks({
        owner: this.o.owner.id,
        now: this.o.clock(),
        leaseMs: this.o.leaseMs,
        limit: 1,
        providers: [provider.name],
        markProcessing: !provider.queuesElsewhere,
        interrupted: 'only',
        alone: true,
      });
      if (task) {
        this.aloneTask = task.id;
        this.o.logger.warn(
          { task: task.id, provider: provider.name, interruptedRuns: task.interruptedRuns },
          'a run of this task never ended: running it alone',
        );
        this.host.launch(task, provider);
        return true;
      }
    }
    // Another process took it first.
    return false;
  }

  runEnded(taskId: string): void {
    if (this.aloneTask !== taskId) return;
    this.aloneTask = null;
    this.host.aloneEnded();
  }

  /**
   * The verdict on a claimed task before it runs: true when it was failed instead. Two runs never
   * ended, one of them alone in its process: the task itself stops the process. Or it was claimed
   * more often than `maxAttempts` (a run handed back for shutdown does not count).
   */
  /** A task given up may still run upstream (submitted before its runs died): stop it there, not pay for it. */
  private abandon(task: TaskRecord): void {
    void this.o.providers.get(task.provider)?.abandon?.(dispatchState(task.providerState).data);
  }

  async givenUp(task: TaskRecord, log: LogFields): Promise<boolean> {
    const guard: LeaseGuard = { id: task.id, owner: this.o.owner.id };
    if (task.interruptedRuns >= 2 && task.interruptedAlone >= (this.o.crashesAlone ?? 1)) {
      // Logged once written, so a reader of the log finds the task failed.
      if (await this.o.store.failTask(guard, { code: 'run_crashed', params: {} }, this.o.clock())) this.abandon(task);
      this.o.logger.error({ ...log, interruptedRuns: task.interruptedRuns }, 'task given up: its runs stopped the process twice, once running alone');
      return true;
    }
    if (task.attempts > this.o.maxAttempts) {
      if (await this.o.store.failTask(guard, { code: 'attempts_exhausted', params: { attempts: task.attempts - 1 } }, this.o.clock())) this.abandon(task);
      this.o.logger.warn(log, 'task given up after repeated interruptions');
      return true;
    }
    return false;
  }
}
