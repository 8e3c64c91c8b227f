import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { TaskRecord } from '../store/types.js';
import type { Provider } from '../providers/types.js';
import type { DispatcherOptions } from './dispatcher-options.js';
import { ChannelSlots } from './channel-slots.js';
import { ClaimLoop } from './claim-loop.js';
import { recoverFromDeadProcesses } from './crash-recovery.js';
import { Failover } from './failover.js';
import { LeaseRenewal } from './lease-renewal.js';
import { Parking } from './parking.js';
import { ProgressWriter } from './progress-writer.js';
import { Cancelled, ShuttingDown } from './stop-reasons.js';
import { Suspects } from './suspects.js';
import { TaskClaims } from './task-claims.js';
import { TaskRun } from './task-run.js';

export type { DispatcherOptions } from './dispatcher-options.js';

interface Running {
  controller: AbortController;
  done: Promise<void>;
  provider: string;
}

/**
 * The tasks table is the queue. The dispatcher claims due tasks under a lease (claim-loop.ts,
 * task-claims.ts), runs them with a bounded number per channel (channel-slots.ts, task-run.ts;
 * failover.ts when a channel cannot take one), keeps their leases (lease-renewal.ts) and holds the
 * tasks an upstream renders (parking.ts). After a crash it takes back dead processes' tasks
 * (crash-recovery.ts) and runs suspects alone (suspects.ts). This file puts them together and
 * keeps what they share: the running tasks, and who is told when one settles.
 */
export class Dispatcher {
  private readonly running = new Map<string, Running>();
  private readonly slots = new ChannelSlots();
  private readonly workDir: string;
  private readonly loop: ClaimLoop;
  private readonly progress: ProgressWriter;
  private readonly suspects: Suspects;
  private readonly parking: Parking;
  private readonly taskRun: TaskRun;
  private readonly renewal: LeaseRenewal;
  /** Told whenever a task finishes; tests and shutdown await it instead of sleeping. */
  private readonly listeners = new Set<(task: string) => void>();

  constructor(private readonly o: DispatcherOptions) {
    this.workDir = join(o.workRoot, encodeURIComponent(o.owner.id));
    const isStopping = () => this.loop.stopping;
    this.progress = new ProgressWriter({
      store: o.store,
      logger: o.logger,
      isHeld: (taskId) => this.running.has(taskId) || this.parking.has(taskId),
      onWritten: (taskId) => o.onTaskChanged?.(taskId, 'progress'),
    });
    this.suspects = new Suspects(o, {
      slots: this.slots,
      runningCount: () => this.running.size,
      isStopping,
      launch: (task, provider) => this.launch(task, provider),
      aloneEnded: () => this.parking.resumeHeldBack(),
    });
    this.parking = new Parking(o, {
      progress: this.progress,
      isRunning: (taskId) => this.running.has(taskId),
      isStopping,
      isRunningAlone: () => this.suspects.runningAlone,
      launchResumed: (task, provider) => this.launch(task, provider, true),
      freeSlot: (provider) => this.slots.free(provider),
      poke: () => this.poke(),
    });
    const claims = new TaskClaims(o, { slots: this.slots, suspects: this.suspects, isStopping, launch: (task, provider) => this.launch(task, provider) });
    this.loop = new ClaimLoop({
      logger: o.logger,
      claim: () => claims.claimDue(),
      wakeIn: () => claims.wakeIn(),
      messages: { claimFailed: 'dispatcher could not claim tasks', timerFailed: 'dispatcher timer failed' },
    });
    const failover = new Failover(o);
    this.taskRun = new TaskRun(o, { workDir: this.workDir, progress: this.progress, failover, parking: this.parking, suspects: this.suspects });
    this.renewal = new LeaseRenewal(o, { running: this.running, parking: this.parking, settled: (taskId) => this.settledNow(taskId) });
  }

  /** A suspect runs alone here (suspects.ts): this process starts nothing else until it ends. */
  get runningAlone(): boolean {
    return this.suspects.runningAlone;
  }

  get activeCount(): number {
    return this.running.size + this.parking.size;
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
    for (const [, provider] of this.parking.entries()) add(provider.name, 'parked');
    return [...counts.values()];
  }

  async start(): Promise<void> {
    await recoverFromDeadProcesses(this.o);
    await mkdir(this.workDir, { recursive: true });
    this.loop.start();
    for (const provider of this.o.providers.all()) provider.onStartable?.(() => this.poke());
    this.renewal.start();
  }

  /** Something may be due: look now (coalesced). */
  poke(): void {
    this.loop.poke();
  }

  /** The task was cancelled (and refunded) in the store: stop its work here if it runs here. */
  /** Whether this process runs the task now or watches it parked. */
  holds(taskId: string): boolean {
    return this.running.has(taskId) || this.parking.has(taskId);
  }

  cancel(taskId: string): void {
    this.running.get(taskId)?.controller.abort(new Cancelled('task cancelled'));
    if (this.parking.unpark(taskId, 'cancelled')) this.settledNow(taskId);
  }

  onTaskSettled(listener: (taskId: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stops claiming, lets running tasks finish within `graceMs`, then gives the rest back to the queue. */
  async stop(graceMs: number): Promise<void> {
    this.loop.stop();
    await this.parking.releaseAll();
    const all = () => Promise.all([...this.running.values()].map((r) => r.done));
    if (this.running.size > 0 && graceMs > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([all(), new Promise((r) => (timer = setTimeout(r, graceMs)))]);
      clearTimeout(timer);
    }
    for (const r of this.running.values()) r.controller.abort(new ShuttingDown('server is shutting down'));
    await all();
    // A run that parked its task while the first hand-back ran (its own write still on the way)
    // left it parked here: hand that back too.
    await this.parking.releaseAll();
    this.renewal.stop();
    await this.progress.flush();
  }

  /** A resumed task still holds the slot it took when first claimed. */
  private launch(task: TaskRecord, provider: Provider, resumed = false): void {
    const controller = new AbortController();
    const done = this.taskRun
      .run(task, provider, controller, resumed)
      // A run that could not settle (the store closed under a run resumed during shutdown) keeps its
      // lease until it lapses; whoever claims the task next takes it up. Nothing waits on this promise then.
      .catch((err: unknown) => this.o.logger.error({ err, task: task.id }, 'a task run could not settle: its lease will lapse and the task be taken up again'))
      .finally(() => {
        this.running.delete(task.id);
        this.suspects.runEnded(task.id);
        // Parked: it keeps its slot, and is not settled, until it is resumed or let go (parking.ts).
        if (this.parking.has(task.id)) return;
        this.parking.runEnded(task.id);
        this.slots.free(provider);
        this.settledNow(task.id);
        this.poke();
      });
    this.running.set(task.id, { controller, done, provider: provider.name });
    if (resumed) return;
    this.slots.take(provider);
    if (!provider.queuesElsewhere) this.o.onTaskChanged?.(task.id, 'claimed');
  }

  private settledNow(taskId: string): void {
    for (const listener of this.listeners) listener(taskId);
  }
}
