import { mkdir, rm, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Store, TaskRecord, LeaseGuard } from '../store/types.js';
import type { ProviderRegistry } from '../providers/registry.js';
import { ChannelUnavailableError, PARKED, TaskCancelledError, TaskFailureError, type ParkedTask, type Provider } from '../providers/types.js';
import type { ResultStorage } from '../storage/result-storage.js';
import { clientSafeDetail, type TaskFailure } from '../contract/failures.js';
import type { PriceBook } from '../billing/price-book.js';
import type { TaskOutcome } from '../observability/metrics.js';
import { isDeadLocalOwner, type LeaseOwner } from './lease-owner.js';
import { ProgressWriter } from './progress-writer.js';

export interface DispatcherOptions {
  store: Store;
  providers: ProviderRegistry;
  storage: ResultStorage;
  owner: LeaseOwner;
  logger: Logger;
  clock: () => number;
  leaseMs: number;
  maxAttempts: number;
  /** Every channel busy (429): wait this long before trying again, doubling up to a minute… */
  busyRetryMs?: number;
  /** …while the task is younger than this; then it fails. */
  busyMaxWaitMs?: number;
  resultTtlMs: number;
  workRoot: string;
  prices: PriceBook;
  /** Told how each run ended, for metrics. */
  onRunEnded?: (provider: string, outcome: TaskOutcome, seconds: number) => void;
  /** Told when a task was claimed (now processing) or its progress rose, for live events; settling is `onTaskSettled`. */
  onTaskChanged?: (taskId: string, change: 'claimed' | 'progress') => void;
  /** Safety net for tasks another process queued; local submits wake the dispatcher directly. */
  idlePollMs?: number;
}

class LeaseLost extends Error {
  override name = 'LeaseLost';
}
class ShuttingDown extends Error {
  override name = 'ShuttingDown';
}
class Cancelled extends Error {
  override name = 'Cancelled';
}

/**
 * What the dispatcher keeps per task: the channels tried so far, how often every channel was found
 * busy and the task put back to wait, and the current channel's own data.
 */
interface DispatchState {
  tried: string[];
  waits?: number;
  data: unknown;
}

function dispatchState(stored: unknown): DispatchState {
  const s = stored as Partial<DispatchState> | null;
  return {
    tried: Array.isArray(s?.tried) ? s.tried.filter((t) => typeof t === 'string') : [],
    waits: Number.isInteger(s?.waits) ? s!.waits : 0,
    data: s?.data ?? null,
  };
}

const BUSY_RETRY_CAP_MS = 60_000;

interface Running {
  controller: AbortController;
  done: Promise<void>;
  provider: string;
}

/** What every log line about a task run carries. */
interface LogFields {
  task: string;
  attempt: number;
  provider: string;
}


/**
 * The tasks table is the queue. The dispatcher claims due tasks under a lease, runs them with a
 * bounded number per provider, renews the lease while they run, and writes every outcome fenced by
 * its lease, so a task whose lease passed to another process can never be finished twice.
 */
export class Dispatcher {
  private readonly running = new Map<string, Running>();
  /** Tasks a provider set aside (see RunContext.park): leased to us, run by nobody until resumed. */
  private readonly parked = new Map<string, Provider>();
  /** Resumed before their run had finished parking them. */
  private readonly resumeEarly = new Set<string>();
  /** Running and parked tasks per provider: both count against its concurrency. */
  private readonly busy = new Map<string, number>();
  private readonly progress: ProgressWriter;
  /**
   * A task whose last run never ended (its process died) runs alone: nothing else starts here until
   * it ends, so that if the process dies again, the task is known to be the cause.
   */
  private aloneTask: string | null = null;
  /** Parked tasks that came due while a task ran alone; resumed once it ends. */
  private readonly resumeAfterAlone = new Map<string, Provider>();
  private renewalTimer: NodeJS.Timeout | undefined;
  private pumping = false;
  private pumpAgain = false;
  private started = false;
  private stopping = false;
  private wakeTimer: NodeJS.Timeout | undefined;
  private readonly workDir: string;
  /** Settles whenever a task finishes; tests and shutdown await it instead of sleeping. */
  private readonly listeners = new Set<(task: string) => void>();

  constructor(private readonly o: DispatcherOptions) {
    this.workDir = join(o.workRoot, encodeURIComponent(o.owner.id));
    this.progress = new ProgressWriter({
      store: o.store,
      logger: o.logger,
      isHeld: (taskId) => this.running.has(taskId) || this.parked.has(taskId),
      onWritten: (taskId) => o.onTaskChanged?.(taskId, 'progress'),
    });
  }

  get activeCount(): number {
    return this.running.size + this.parked.size;
  }

  /** For metrics: tasks held here per channel, running or parked. */
  heldCounts(): Array<{ provider: string; state: 'running' | 'parked'; count: number }> {
    const counts = new Map<string, { provider: string; state: 'running' | 'parked'; count: number }>();
    const add = (provider: string, state: 'running' | 'parked') => {
      const key = `${state}\n${provider}`;
      const row = counts.get(key) ?? { provider, state, count: 0 };
      row.count++;
      counts.set(key, row);
    };
    for (const run of this.running.values()) add(run.provider, 'running');
    for (const provider of this.parked.values()) add(provider.name, 'parked');
    return [...counts.values()];
  }

  async start(): Promise<void> {
    await this.reclaimFromDeadProcesses();
    await this.removeStaleWorkDirs();
    await mkdir(this.workDir, { recursive: true });
    this.started = true;
    for (const provider of this.o.providers.all()) provider.onStartable?.(() => this.poke());
    this.renewalTimer = setInterval(() => void this.renewLeases(), Math.max(500, Math.floor(this.o.leaseMs / 3)));
    this.renewalTimer.unref();
    this.poke();
  }

  /** Something may be due: look now (coalesced). */
  poke(): void {
    if (!this.started || this.stopping) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    setImmediate(() => void this.pump());
  }

  /** The task was cancelled (and refunded) in the store: stop its work here if it runs here. */
  cancel(taskId: string): void {
    this.running.get(taskId)?.controller.abort(new Cancelled('task cancelled'));
    if (this.unpark(taskId, 'cancelled')) this.settledNow(taskId);
  }

  onTaskSettled(listener: (taskId: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stops claiming, lets running tasks finish within `graceMs`, then gives the rest back to the queue. */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    clearTimeout(this.wakeTimer);
    // Parked tasks lose nothing by stopping: their work goes on elsewhere, and whoever claims them next resumes it.
    for (const [taskId, provider] of [...this.parked]) {
      this.unpark(taskId, 'released');
      await this.o.store.releaseTask({ id: taskId, owner: this.o.owner.id }, { keepStatus: provider.queuesElsewhere === true });
    }
    const all = () => Promise.all([...this.running.values()].map((r) => r.done));
    if (this.running.size > 0 && graceMs > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([all(), new Promise((r) => (timer = setTimeout(r, graceMs)))]);
      clearTimeout(timer);
    }
    for (const r of this.running.values()) r.controller.abort(new ShuttingDown('server is shutting down'));
    await all();
    clearInterval(this.renewalTimer);
    await this.progress.flush();
  }

  private async pump(): Promise<void> {
    try {
      do {
        this.pumpAgain = false;
        if (this.aloneTask || (await this.runInterruptedAlone())) break;
        for (const provider of this.o.providers.all()) await this.claimFor(provider);
      } while (this.pumpAgain && !this.stopping);
    } catch (err) {
      this.o.logger.error({ err }, 'dispatcher could not claim tasks');
    } finally {
      this.pumping = false;
      await this.armWakeTimer().catch((err) => this.o.logger.error({ err }, 'dispatcher timer failed'));
    }
  }

  private freeSlots(provider: Provider): number {
    const free = provider.concurrency - (this.busy.get(provider.name) ?? 0);
    return provider.startable ? Math.min(free, provider.startable()) : free;
  }

  private async claimFor(provider: Provider): Promise<void> {
    const limit = this.freeSlots(provider);
    if (limit <= 0 || this.stopping) return;
    const claimed = await this.o.store.claimTasks({
      owner: this.o.owner.id,
      now: this.o.clock(),
      leaseMs: this.o.leaseMs,
      limit,
      providers: [provider.name],
      markProcessing: !provider.queuesElsewhere,
      interrupted: 'exclude',
    });
    for (const task of claimed) this.launch(task, provider);
  }

  /**
   * A due task whose last run never ended may be what killed that run's process, and so every task
   * beside it. It runs alone: no new work starts here until what runs now has finished, then the
   * suspect starts, and nothing else until it ends. True while such a task keeps other work waiting.
   */
  private async runInterruptedAlone(): Promise<boolean> {
    if (this.stopping) return false;
    const withRoom = this.o.providers.all().filter((p) => this.freeSlots(p) > 0);
    if (!(await this.o.store.hasInterruptedTask(withRoom.map((p) => p.name), this.o.clock()))) return false;
    if (this.running.size > 0) return true;
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
        this.o.logger.warn({ task: task.id, provider: provider.name, interruptedRuns: task.interruptedRuns }, 'a run of this task never ended: running it alone');
        this.launch(task, provider);
        return true;
      }
    }
    // Another process took it first.
    return false;
  }

  private endAloneRun(): void {
    this.aloneTask = null;
    for (const [taskId, provider] of [...this.resumeAfterAlone]) {
      this.resumeAfterAlone.delete(taskId);
      void this.resume(taskId, provider);
    }
  }

  /** Wakes up when the next abandoned lease runs out, and now and then for tasks queued elsewhere. */
  private async armWakeTimer(): Promise<void> {
    clearTimeout(this.wakeTimer);
    if (this.stopping) return;
    const withRoom = this.o.providers.all().filter((p) => this.freeSlots(p) > 0).map((p) => p.name);
    if (withRoom.length === 0) return;
    const idle = this.o.idlePollMs ?? 5000;
    const expiry = await this.o.store.nextLeaseExpiry(withRoom);
    const delay = expiry === null ? idle : Math.min(idle, Math.max(0, expiry - this.o.clock()) + 5);
    this.wakeTimer = setTimeout(() => this.poke(), delay);
    this.wakeTimer.unref();
  }

  private launch(task: TaskRecord, provider: Provider, resumed = false): void {
    const controller = new AbortController();
    const done = this.execute(task, provider, controller, resumed).finally(() => {
      this.running.delete(task.id);
      if (this.aloneTask === task.id) this.endAloneRun();
      if (this.parked.has(task.id)) return;
      this.resumeEarly.delete(task.id);
      this.freeSlot(provider);
      this.settledNow(task.id);
      this.poke();
    });
    this.running.set(task.id, { controller, done, provider: provider.name });
    if (resumed) return;
    this.busy.set(provider.name, (this.busy.get(provider.name) ?? 0) + 1);
    if (!provider.queuesElsewhere) this.o.onTaskChanged?.(task.id, 'claimed');
  }

  private freeSlot(provider: Provider): void {
    this.busy.set(provider.name, (this.busy.get(provider.name) ?? 1) - 1);
  }

  private settledNow(taskId: string): void {
    for (const listener of this.listeners) listener(taskId);
  }

  /** The handle a provider keeps for a task it parks; it holds the task's id, not its run. */
  private parkedHandle(taskId: string, provider: Provider): ParkedTask {
    const guard: LeaseGuard = { id: taskId, owner: this.o.owner.id };
    return {
      reportProgress: this.progress.reporter(guard),
      markProcessing: async () => {
        if (this.parked.has(taskId) && (await this.o.store.markProcessing(guard, this.o.clock()))) this.o.onTaskChanged?.(taskId, 'claimed');
      },
      resume: () => void this.resume(taskId, provider),
    };
  }

  /** Runs a parked task again, if this process still holds it. */
  private async resume(taskId: string, provider: Provider): Promise<void> {
    if (this.parked.get(taskId) !== provider) {
      if (this.running.has(taskId)) this.resumeEarly.add(taskId);
      return;
    }
    if (this.aloneTask) {
      this.resumeAfterAlone.set(taskId, provider);
      return;
    }
    this.parked.delete(taskId);
    try {
      const task = await this.o.store.getTask(taskId);
      if (this.stopping || !task || task.leaseOwner !== this.o.owner.id || (task.status !== 'pending' && task.status !== 'processing')) {
        provider.forget?.(taskId, 'released');
        if (this.stopping && task?.leaseOwner === this.o.owner.id) {
          await this.o.store.releaseTask({ id: taskId, owner: this.o.owner.id }, { keepStatus: provider.queuesElsewhere === true });
        }
        this.freeSlot(provider);
        this.poke();
        return;
      }
      this.launch(task, provider, true);
    } catch (err) {
      this.o.logger.error({ err, task: taskId }, 'could not resume a parked task');
      provider.forget?.(taskId, 'released');
      this.freeSlot(provider);
    }
  }

  /** Stops keeping a parked task here; true when it was parked. */
  private unpark(taskId: string, reason: 'cancelled' | 'released'): boolean {
    const provider = this.parked.get(taskId);
    if (!provider) return false;
    this.parked.delete(taskId);
    provider.forget?.(taskId, reason);
    this.freeSlot(provider);
    this.poke();
    return true;
  }

  private async execute(task: TaskRecord, provider: Provider, controller: AbortController, resumed: boolean): Promise<void> {
    const guard: LeaseGuard = { id: task.id, owner: this.o.owner.id };
    // Plain fields, not a child logger: a child costs as much to make as to use, even when its level is off.
    const log: LogFields = { task: task.id, attempt: task.attempts, provider: provider.name };
    // Two runs never ended, one of them alone in its process: the task itself stops the process.
    if (task.interruptedRuns >= 2 && task.interruptedAlone >= 1) {
      this.o.logger.error({ ...log, interruptedRuns: task.interruptedRuns }, 'task given up: its runs stopped the process twice, once running alone');
      await this.o.store.failTask(guard, { code: 'run_crashed', params: {} }, this.o.clock());
      return;
    }
    if (task.attempts > this.o.maxAttempts) {
      this.o.logger.warn(log, 'task given up after repeated interruptions');
      await this.o.store.failTask(guard, { code: 'attempts_exhausted', params: { attempts: task.attempts - 1 } }, this.o.clock());
      return;
    }
    // Unique per run: a task moved to another channel may start here again before this run cleaned up.
    const workDir = join(this.workDir, `${task.id}.${randomBytes(4).toString('hex')}`);
    const startedAt = this.o.clock();
    let outcome: TaskOutcome | null = null;
    let parkedHere = false;
    try {
      // A resumed run is a run again: if the process dies during it, the task is a suspect.
      if (resumed) await this.o.store.setRunOpen(guard, 'shared');
      await mkdir(workDir, { recursive: true });
      this.o.logger.info(log, 'task started');
      const state = dispatchState(task.providerState);
      const output = await provider.run(
        { taskId: task.id, request: task.request, seed: task.seed, accountId: task.accountId, state: state.data },
        {
          signal: controller.signal,
          workDir,
          reportProgress: this.progress.reporter(guard),
          park: () => {
            parkedHere = true;
            return this.parkedHandle(task.id, provider);
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
        if (this.stopping) {
          provider.forget?.(task.id, 'released');
          await this.o.store.releaseTask(guard, { keepStatus: provider.queuesElsewhere === true });
          outcome = 'requeued';
        } else {
          // Its code is done until it is resumed: a death in between is not this run's doing.
          await this.o.store.setRunOpen(guard, false);
          this.parked.set(task.id, provider);
          if (this.resumeEarly.delete(task.id)) setImmediate(() => void this.resume(task.id, provider));
        }
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
          ? await this.failOver(task, provider, err, log)
          : await this.settleFailure(guard, err, controller.signal, provider, log);
    } finally {
      // A resumed task's time counts from when it started upstream, not from this last short run.
      const since = resumed ? (task.startedAt ?? task.createdAt) : startedAt;
      if (outcome) this.o.onRunEnded?.(provider.name, outcome, (this.o.clock() - since) / 1000);
      await rm(workDir, { recursive: true, force: true }).catch(() => undefined);
    }
  }

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
    const failure: TaskFailure =
      err instanceof TaskFailureError ? err.failure : { code: 'render_failed', params: { detail: errorDetail(err) } };
    if (!(err instanceof TaskFailureError)) this.o.logger.error({ ...log, err }, 'task failed');
    else this.o.logger.info({ ...log, failure }, 'task failed');
    await this.o.store.failTask(guard, failure, this.o.clock());
    return 'failed';
  }

  /**
   * The channel could not take the task: hand it to the next one. When none is left and the last was
   * only busy (429), the task waits in the queue and starts over from the first channel, for a
   * while; otherwise it fails.
   */
  private async failOver(task: TaskRecord, provider: Provider, err: ChannelUnavailableError, log: LogFields): Promise<TaskOutcome> {
    const guard: LeaseGuard = { id: task.id, owner: this.o.owner.id };
    const previous = dispatchState(task.providerState);
    const tried = [...previous.tried, provider.name];
    const next = this.o.providers.forModel(task.request.model, tried);
    if (next && (await this.o.store.moveTask(guard, next.name, { tried, waits: previous.waits, data: null }))) {
      this.o.logger.warn({ ...log, reason: err.detail, next: next.name }, 'channel unavailable; task moved to the next channel');
      return 'moved';
    }
    const first = this.o.providers.forModel(task.request.model, []);
    const now = this.o.clock();
    const waits = previous.waits ?? 0;
    const delay = Math.min(BUSY_RETRY_CAP_MS, (this.o.busyRetryMs ?? 5_000) * 2 ** waits);
    if (err.busy && first && now + delay - task.createdAt <= (this.o.busyMaxWaitMs ?? 0)) {
      if (await this.o.store.moveTask(guard, first.name, { tried: [], waits: waits + 1, data: null }, now + delay)) {
        this.o.logger.warn({ ...log, reason: err.detail, retryInMs: delay }, 'every channel is busy; task waits in the queue');
        return 'deferred';
      }
    }
    this.o.logger.warn({ ...log, reason: err.detail, tried }, 'no channel left for the task');
    const detail = `no channel could take the task (tried ${tried.join(', ')}${waits ? `, busy for ${Math.round((now - task.createdAt) / 1000)} s` : ''}): ${err.detail}`;
    await this.o.store.failTask(guard, { code: 'provider_error', params: { detail } }, this.o.clock());
    return 'failed';
  }

  /**
   * One write extends every lease this process holds; a running task whose lease is gone (taken
   * over after a stall, or the task was cancelled) is stopped.
   */
  private async renewLeases(): Promise<void> {
    if (this.running.size === 0 && this.parked.size === 0) return;
    const before = new Map(this.running);
    const parkedBefore = [...this.parked.keys()];
    try {
      const held = new Set(await this.o.store.renewLeases(this.o.owner.id, this.o.clock() + this.o.leaseMs));
      for (const [id, run] of before) {
        if (!held.has(id) && this.running.get(id) === run && !run.controller.signal.aborted) run.controller.abort(new LeaseLost('lease lost'));
      }
      for (const id of parkedBefore) {
        if (!held.has(id) && this.unpark(id, 'released')) {
          this.o.logger.warn({ task: id }, 'lease lost while parked; another worker owns the task');
          this.settledNow(id);
        }
      }
    } catch (err) {
      this.o.logger.warn({ err }, 'lease renewal failed');
    }
  }

  /** After kill -9, our host's dead processes still hold leases: end them so their tasks run now. */
  private async reclaimFromDeadProcesses(): Promise<void> {
    for (const held of await this.o.store.listLeasedBy(`${this.o.owner.host}/`)) {
      if (isDeadLocalOwner(held.owner, this.o.owner) && (await this.o.store.expireLease(held))) {
        this.o.logger.info({ task: held.id, previousOwner: held.owner }, 'reclaiming task from a process that died');
      }
    }
  }

  private async removeStaleWorkDirs(): Promise<void> {
    const entries = await readdir(this.o.workRoot).catch(() => [] as string[]);
    for (const name of entries) {
      const owner = safeDecode(name);
      if (isDeadLocalOwner(owner, this.o.owner)) await rm(join(this.o.workRoot, name), { recursive: true, force: true });
    }
  }
}

function safeDecode(name: string): string {
  try {
    return decodeURIComponent(name);
  } catch {
    return name;
  }
}

/** Clients read this in the task's error; the log has the whole error (stack, ffmpeg's stderr). */
function errorDetail(err: unknown): string {
  return clientSafeDetail(err instanceof Error ? err.message : String(err));
}
