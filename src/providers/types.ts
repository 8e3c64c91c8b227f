import type { TaskRequest } from '../contract/submit.js';
import type { TaskFailure } from '../contract/failures.js';
import type { OutputFile } from '../storage/result-storage.js';
import type { Usage } from '../billing/price-book.js';

export interface RunContext {
  signal: AbortSignal;
  /** Private scratch folder for this attempt; removed afterwards. */
  workDir: string;
  /** 0..1; the dispatcher keeps the stored progress monotonic. */
  reportProgress(fraction: number): void;
  /**
   * The work really starts now: the task turns `processing`. Only for providers that claim tasks as
   * `queuesElsewhere`; others are `processing` from the moment they are claimed.
   */
  markProcessing(): Promise<void>;
  /**
   * Sets the task aside while someone else works on it (an upstream): `run` then returns `PARKED`,
   * the run ends, and the task stays leased to this process, held by nothing but the handle, until
   * the provider calls `resume()`; the next `run` finishes it.
   */
  park(): ParkedTask;
  /**
   * Stores what this channel needs to resume the task after a restart (e.g. the upstream task id),
   * before anything that cannot be undone happens next. Rejects when the task's lease was lost.
   */
  checkpoint(state: unknown): Promise<void>;
}

export interface RunInput {
  taskId: string;
  request: TaskRequest;
  seed: number;
  accountId: string;
  /** The last checkpoint of this channel for this task, or null on a first run. */
  state: unknown;
}

/** What a parked task can still do: its provider reports through this, then resumes it. */
export interface ParkedTask {
  reportProgress(fraction: number): void;
  markProcessing(): Promise<void>;
  /** Runs the task again, soon, through `Provider.run` with its last checkpoint. */
  resume(): void;
}

/** `run` parked the task (see `RunContext.park`). */
export const PARKED: unique symbol = Symbol('parked');

export interface RunOutput {
  video: OutputFile;
  lastFrame: OutputFile | null;
  /** What the price depends on beyond the request (input video seconds). */
  usage?: Usage;
}

/** What of a task a channel cannot do: the submit field it comes from, and why. */
export interface Refusal {
  param: string;
  message: string;
}

/** One way of turning a task into a video. Each provider lives in its own folder. */
export interface Provider {
  readonly name: string;
  /** How many of its tasks one instance runs at once. */
  readonly concurrency: number;
  /**
   * Claimed tasks wait in another queue first (an upstream's): they stay `pending` until the run
   * calls `ctx.markProcessing()`, and a shutdown hands them back without resetting their status.
   */
  readonly queuesElsewhere?: boolean;
  /**
   * How many more tasks it can start right now, when that is fewer than its free slots (an upstream
   * channel submits a few at a time): the dispatcher claims no more, so unstarted tasks stay in the
   * queue (and free for other instances) instead of waiting in this process's memory.
   */
  startable?(): number;
  /** Called whenever `startable()` may have grown. */
  onStartable?(listener: () => void): void;
  /**
   * Until when (unix ms) this channel starts nothing in this process because its upstream said it
   * is full (HTTP 429) moments ago; null when it takes work. Read-only, for the admin API.
   */
  pausedUntil?(): number | null;
  estimateSeconds(request: TaskRequest): number;
  /**
   * Why this channel cannot do the task at all (a mode or value its upstream's API lacks), or null
   * when it can. Routing skips a channel that refuses (README: Configuration, what each provider
   * refuses); a submit no channel can take is a 400 naming the reasons. Absent: it takes everything.
   */
  refusal?(request: TaskRequest): Refusal | null;
  run(input: RunInput, ctx: RunContext): Promise<RunOutput | typeof PARKED>;
  /**
   * Stop watching a parked task: it was cancelled (also stop the work where it runs), or this
   * process no longer holds it (lease lost, shutting down).
   */
  forget?(taskId: string, reason: 'cancelled' | 'released'): void;
  /**
   * The task ended without its run (cancelled while another instance, or none, held it; given up
   * after its runs died): stop its work where it runs, known from its last checkpoint. Best effort.
   */
  abandon?(checkpoint: unknown): Promise<void>;
  /** Releases what the channel holds beyond single runs (shared pollers, connections). */
  close?(): Promise<void>;
}

export { TaskFailureError } from '../contract/failures.js';

/** The upstream cancelled the task on its own: it ends `cancelled`, refunded, with the reason kept. */
export class TaskCancelledError extends Error {
  constructor(readonly failure: TaskFailure) {
    super(`${failure.code}: ${JSON.stringify(failure.params)}`);
    this.name = 'TaskCancelledError';
  }
}

/**
 * The channel cannot take the task right now (connection refused, timeout, 429, 5xx at submit):
 * the task moves to the next channel that serves its model, or fails when none is left.
 */
export class ChannelUnavailableError extends Error {
  /** `busy`: the channel is up but full (429): worth waiting for when no other channel can take the task. */
  constructor(
    readonly detail: string,
    readonly busy = false,
  ) {
    super(detail);
    this.name = 'ChannelUnavailableError';
  }
}
