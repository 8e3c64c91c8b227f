import { mkdirSync } from 'node:fs';
import { rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { LeaseGuard, TaskRecord } from '../store/types.js';
import { ChannelUnavailableError, PARKED, TaskCancelledError, TaskFailureError, type Provider } from '../providers/types.js';
import { clientSafeDetail, type TaskFailure } from '../contract/failures.js';
import type { TaskOutcome } from '../observability/metrics.js';
import type { DispatcherOptions } from './dispatcher-options.js';
import type { ProgressWriter } from './progress-writer.js';
import { dispatchState, type Failover } from './failover.js';
import type { Parking } from './parking.js';
import type { Suspects } from './suspects.js';
import { Cancelled, LeaseLost, ShuttingDown } from './stop-reasons.js';
import { upstreamCostMicros } from '../billing/upstream-cost.js';

/** What every log line about a task run carries. */
export interface LogFields {
  task: string;
  attempt: number;
  provider: string;
}

type TaskRunOptions = Pick<
  DispatcherOptions,
  'store' | 'storage' | 'owner' | 'logger' | 'clock' | 'resultTtlMs' | 'prices' | 'onRunEnded' | 'onTaskChanged' | 'providers'
>;

export interface TaskRunHost {
  /** This process's work directory; each run gets its own inside. */
  workDir: string;
  progress: ProgressWriter;
  failover: Failover;
  parking: Parking;
  suspects: Suspects;
}

/**
 * Runs one claimed (or resumed) task on its channel and writes how it ended — completed and
 * charged, failed, cancelled, moved, handed back — each write fenced by the task's lease, so a task
 * another process took over is never finished twice.
 */
export class TaskRun {
  constructor(
    private readonly o: TaskRunOptions,
    private readonly host: TaskRunHost,
  ) {}

  async run(task: TaskRecord, provider: Provider, controller: AbortController, resumed: boolean): Promise<void> {
    const guard: LeaseGuard = { id: task.id, owner: this.o.owner.id };
    // Plain fields, not a child logger: a child costs as much to make as to use, even when its level is off.
    const log: LogFields = { task: task.id, attempt: task.attempts, provider: provider.name };
    if (await this.host.suspects.givenUp(task, log)) return;
    const startedAt = this.o.clock();
    let outcome: TaskOutcome | null = null;
    let parkedHere = false;
    // Made when the provider first asks for it: a run that submits to an upstream and parks never
    // writes a file, and an mkdir and an rm through the thread pool would cost it more than the rest
    // of its work. One mkdir of a folder inside an existing one is a single short system call.
    let workDir: string | null = null;
    const madeWorkDir = () => {
      if (workDir === null) {
        // Unique per run: a task moved to another channel may start here again before this run cleaned up.
        const dir = join(this.host.workDir, `${task.id}.${randomBytes(4).toString('hex')}`);
        mkdirSync(dir, { recursive: true });
        workDir = dir;
      }
      return workDir;
    };
    try {
      // A resumed run is a run again: if the process dies during it, the task is a suspect.
      if (resumed) await this.o.store.setRunOpen(guard, 'shared');
      this.o.logger.info(log, 'task started');
      const state = dispatchState(task.providerState);
      const output = await provider.run(
        { taskId: task.id, request: task.request, seed: task.seed, accountId: task.accountId, state: state.data },
        {
          signal: controller.signal,
          get workDir() {
            return madeWorkDir();
          },
          reportProgress: this.host.progress.reporter(guard),
          park: () => {
            parkedHere = true;
            return this.host.parking.handle(task.id, provider);
          },
          markProcessing: async () => {
            if (await this.o.store.markProcessing(guard, this.o.clock())) this.o.onTaskChanged?.(task.id, 'claimed');
          },
          checkpoint: async (data) => {
            if (!(await this.o.store.saveProviderState(guard, { tried: state.tried, waits: state.waits, data }))) {
              controller.abort(new LeaseLost('lease lost'));
              throw controller.signal.reason;
            }
          },
        },
      );
      // Parked just as the run was stopped (lease lost, shutdown): the provider must not watch it here.
      if (output === PARKED && controller.signal.aborted) provider.forget?.(task.id, 'released');
      controller.signal.throwIfAborted();
      if (output === PARKED) {
        if (!parkedHere) throw new Error(`${provider.name} returned PARKED without parking the task`);
        outcome = await this.host.parking.runParked(guard, provider);
        return;
      }
      const kept = await this.o.storage.keep(task.id, { video: output.video, lastFrame: output.lastFrame ?? null });
      const { video, lastFrame } = kept;
      const finishedAt = this.o.clock();
      const completed = await this.o.store.completeTask(
        guard,
        { video: video!, lastFrame: lastFrame ?? null, expiresAt: finishedAt + this.o.resultTtlMs },
        finishedAt,
        this.o.prices.finalPrice(task.request, output.usage),
        // What its upstream charged, by the channel's declared cost (null: none declared), for the margin.
        upstreamCostMicros(this.o.providers.costOf(provider.name), task.request, output.usage?.referenceVideoSeconds ?? null),
      );
      if (!completed) {
        await kept.discard();
        this.o.logger.warn(log, 'lease lost before completion; another worker owns the task');
        return;
      }
      this.o.logger.info({ ...log, ms: finishedAt - startedAt }, 'task completed');
      outcome = 'completed';
    } catch (err) {
      outcome =
        err instanceof ChannelUnavailableError && !controller.signal.aborted
          ? await this.host.failover.channelUnavailable(task, provider, err, log)
          : await this.settleFailure(guard, err, controller.signal, provider, log);
    } finally {
      // A resumed task's time counts from when it started upstream, not from this last short run.
      const since = resumed ? (task.startedAt ?? task.createdAt) : startedAt;
      if (outcome) this.o.onRunEnded?.(provider.name, outcome, (this.o.clock() - since) / 1000);
      // Usually empty by now (the results were moved out): one rmdir, else the whole tree.
      const dir: string | null = workDir;
      if (dir !== null) await rmdir(dir).catch(() => rm(dir, { recursive: true, force: true }).catch(() => undefined));
    }
  }

  /** The run threw or was stopped: why it was stopped decides, else the error is the task's failure. */
  private async settleFailure(guard: LeaseGuard, err: unknown, signal: AbortSignal, provider: Provider, log: LogFields): Promise<TaskOutcome | null> {
    const reason: unknown = signal.aborted ? signal.reason : undefined;
    if (reason instanceof ShuttingDown) {
      await this.o.store.releaseTask(guard, { keepStatus: provider.queuesElsewhere === true });
      this.o.logger.info(log, 'task returned to the queue for shutdown');
      return 'requeued';
    }
    if (reason instanceof Cancelled) {
      this.o.logger.info(log, 'task cancelled while running; its work was stopped');
      return null;
    }
    if (reason instanceof LeaseLost) {
      this.o.logger.warn(log, 'lease lost while running; another worker owns the task');
      return null;
    }
    if (err instanceof TaskCancelledError) {
      this.o.logger.info({ ...log, reason: err.failure }, 'task cancelled by its channel');
      await this.o.store.cancelHeldTask(guard, err.failure, this.o.clock());
      return 'cancelled';
    }
    const failure: TaskFailure = err instanceof TaskFailureError ? err.failure : { code: 'render_failed', params: { detail: errorDetail(err) } };
    if (!(err instanceof TaskFailureError)) this.o.logger.error({ ...log, err }, 'task failed');
    else this.o.logger.info({ ...log, failure }, 'task failed');
    await this.o.store.failTask(guard, failure, this.o.clock());
    return 'failed';
  }
}

/** Clients read this in the task's error; the log has the whole error (stack, ffmpeg's stderr). */
function errorDetail(err: unknown): string {
  return clientSafeDetail(err instanceof Error ? err.message : String(err));
}
