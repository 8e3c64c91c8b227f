import { setMaxListeners } from 'node:events';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { ModelId } from '../../contract/models.js';
import type { MediaInput, TaskRequest } from '../../contract/submit.js';
import type { MediaIntake } from '../../media/media-intake.js';
import type { SafeFetcher } from '../../media/safe-fetch.js';
import type { FfmpegBinary } from '../../render/ffmpeg.js';
import {
  ChannelUnavailableError,
  PARKED,
  TaskCancelledError,
  TaskFailureError,
  type ParkedTask,
  type Provider,
  type Refusal,
  type RunContext,
  type RunInput,
  type RunOutput,
} from '../types.js';
import type { SubmitInput, UpstreamAdapter, UpstreamStatus } from './adapter.js';
import { StatusWatch, Watched, type WatchOutcome } from './status-watch.js';
import { checkVideo, lastFrameAsPng } from './result-files.js';
import { Slots } from '../../concurrency/slots.js';
import { UpstreamError } from './upstream-error.js';

export interface UpstreamChannelOptions {
  name: string;
  /** Tasks this instance keeps at the upstream at once (an upstream account queues at most 120). */
  concurrency: number;
  apiKeys: readonly string[];
  /** vidgate model → the upstream's model id. */
  models: ReadonlyMap<ModelId, string>;
  /** Typical time an upstream task takes; drives progress, estimates and the polling pace. */
  expectedSeconds: number;
  firstPollMs: number;
  maxPollMs: number;
  /** Consecutive failed polls before the task is given up. */
  maxPollErrors: number;
  /** From submit to result, at most. */
  timeoutMs: number;
  requestTimeoutMs: number;
}

/** What survives a restart: enough to find the upstream task again instead of submitting twice. */
interface UpstreamState {
  upstreamId: string;
  keyIndex: number;
  submittedAt: number;
  referenceVideoSeconds: number | null;
}

/** Signed public URLs for asset:// references, which an upstream cannot read otherwise. */
export interface AssetLinks {
  publicUrl(input: MediaInput & { assetId: string }, accountId: string): Promise<string>;
}

/**
 * Submissions one channel has open at once. Thousands of tasks may be claimed together; each open
 * request holds its body, headers and timers, so the rest wait for a slot instead.
 */
const SUBMITS_AT_ONCE = 16;
/**
 * Result downloads one channel runs at once. One poll round can find hundreds of tasks finished, and
 * a download mostly waits (the upstream, the disk, a busy machine): 16 at a time fell behind 180
 * completions a second on a loaded 2-core machine, queueing results for seconds. Each one streams to
 * disk, holding a socket chunk or two, not its file.
 */
const DOWNLOADS_AT_ONCE = 64;
/**
 * After the upstream says it is full (429), this channel submits nothing for this long: tasks
 * waiting for a submission slot go back to the queue at once instead of each hearing 429 again.
 */
const FULL_PAUSE_MS = 2_000;
/** Tasks coming due within this window share a round of list calls. */
const POLL_WINDOW_MS = 100;
const RESULT_MAX_BYTES = 2 * 1024 * 1024 * 1024;
const DOWNLOAD_TRIES = 3;

const failure = (detail: string) => new TaskFailureError({ code: 'provider_error', params: { detail } });

function isState(value: unknown): value is UpstreamState {
  const s = value as UpstreamState | null;
  return typeof s?.upstreamId === 'string' && Number.isInteger(s.keyIndex) && typeof s.submittedAt === 'number';
}

/**
 * A channel in front of a real upstream: submit once (the upstream id is checkpointed at once, so a
 * restart resumes polling instead of paying twice), poll in batches at a pace that starts quick and
 * backs off, then copy the result into vidgate's storage — upstream links expire within a day.
 */
export class UpstreamProvider implements Provider {
  readonly name: string;
  readonly concurrency: number;
  readonly queuesElsewhere = true;
  private nextKey = 0;
  private readonly lifetime = new AbortController();
  private readonly watch: StatusWatch;
  private readonly submits = new Slots(SUBMITS_AT_ONCE);
  private readonly downloads = new Slots(DOWNLOADS_AT_ONCE);
  /** Runs that have not finished submitting yet (waiting for a slot included). */
  private starting = 0;
  private readonly startableListeners: Array<() => void> = [];
  /** Set when the upstream answered 429: no submissions before then. */
  private fullUntil = 0;
  /** Parked tasks being watched, by vidgate task id. */
  private readonly watching = new Map<string, ParkedWatch>();
  /** How watching ended, kept for the run that resumes the task. */
  private readonly ended = new Map<string, WatchOutcome>();

  constructor(
    private readonly adapter: UpstreamAdapter,
    private readonly o: UpstreamChannelOptions,
    private readonly deps: { intake: MediaIntake; fetcher: SafeFetcher; assets: AssetLinks; ffmpeg: FfmpegBinary; clock: () => number },
  ) {
    this.name = o.name;
    this.concurrency = o.concurrency;
    // Every upstream call in flight listens on it (and stops listening when done): dozens at once
    // are normal, not a leak.
    setMaxListeners(0, this.lifetime.signal);
    this.watch = new StatusWatch(
      adapter,
      {
        firstPollMs: o.firstPollMs,
        maxPollMs: o.maxPollMs,
        maxPollErrors: o.maxPollErrors,
        windowMs: POLL_WINDOW_MS,
        maxConcurrentCalls: 8,
        clock: deps.clock,
      },
      this.lifetime.signal,
    );
  }

  /** Two rounds of submissions ahead; the rest wait in the queue, where they cost nothing. */
  startable(): number {
    if (this.deps.clock() < this.fullUntil) return 0;
    return Math.max(0, SUBMITS_AT_ONCE * 2 - this.starting);
  }

  pausedUntil(): number | null {
    return this.deps.clock() < this.fullUntil ? this.fullUntil : null;
  }

  private noteFull(): void {
    this.fullUntil = this.deps.clock() + FULL_PAUSE_MS;
    setTimeout(() => {
      for (const listener of this.startableListeners) listener();
    }, FULL_PAUSE_MS + 5).unref();
  }

  onStartable(listener: () => void): void {
    this.startableListeners.push(listener);
  }

  estimateSeconds(): number {
    return this.o.expectedSeconds;
  }

  refusal(request: TaskRequest): Refusal | null {
    return this.adapter.refusal?.(request) ?? null;
  }

  /**
   * First run: submit and park the task while the upstream works on it (a parked task costs one
   * small entry in the channel's watch, not a run). The run after `resume` collects the result.
   */
  async run(input: RunInput, ctx: RunContext): Promise<RunOutput | typeof PARKED> {
    const state = isState(input.state) ? input.state : await this.submit(input, ctx);
    const apiKey = this.o.apiKeys[state.keyIndex % this.o.apiKeys.length]!;
    const outcome = this.ended.get(input.taskId);
    if (!outcome) {
      this.watchParked(input.taskId, state.upstreamId, state.submittedAt, apiKey, ctx.park());
      return PARKED;
    }
    this.ended.delete(input.taskId);
    return this.collect(this.finalStatus(outcome, state, apiKey), input.request, state, ctx);
  }

  async abandon(checkpoint: unknown): Promise<void> {
    if (!isState(checkpoint)) return;
    await this.adapter.cancel(checkpoint.upstreamId, this.o.apiKeys[checkpoint.keyIndex % this.o.apiKeys.length]!).catch(() => undefined);
  }

  forget(taskId: string, reason: 'cancelled' | 'released'): void {
    this.ended.delete(taskId);
    const watched = this.watching.get(taskId);
    if (!watched) return;
    this.watching.delete(taskId);
    this.watch.unwatch(watched.id, watched.apiKey);
    if (reason === 'cancelled') this.adapter.cancel(watched.id, watched.apiKey).catch(() => undefined);
  }

  private async submit(input: RunInput, ctx: RunContext): Promise<UpstreamState> {
    this.starting++;
    try {
      return await this.submits.with(ctx.signal, () => this.submitNow(input, ctx));
    } finally {
      this.starting--;
      for (const listener of this.startableListeners) listener();
    }
  }

  private async submitNow(input: RunInput, ctx: RunContext): Promise<UpstreamState> {
    // Routing already skips such a channel; a task queued here before the configuration changed moves on.
    const refused = this.refusal(input.request);
    if (refused) throw new ChannelUnavailableError(`${this.name}: ${refused.message}`);
    // Nothing to fetch or check: skip the intake, whose combined signals (AbortSignal.any, held by
    // WeakRefs) outlive the submit and keep the run's own signal alive with them.
    const media = input.request.media.length ? await this.deps.intake.prepare(input.request.media, { signal: ctx.signal, accountId: input.accountId }) : [];
    const videos = media.filter((m) => m.input.kind === 'video');
    const referenceVideoSeconds = videos.length ? videos.reduce((sum, m) => sum + (m.probe.durationSec ?? 0), 0) : null;
    const upstreamModel = this.o.models.get(input.request.model);
    if (!upstreamModel) throw failure(`channel ${this.name} does not serve ${input.request.model}`);
    const request = await this.withReachableUrls(input.request, input.accountId);
    const keyIndex = this.nextKey++ % this.o.apiKeys.length;
    const apiKey = this.o.apiKeys[keyIndex]!;
    ctx.signal.throwIfAborted();
    if (this.deps.clock() < this.fullUntil) throw new ChannelUnavailableError(`${this.name}: the upstream said it is full (HTTP 429) moments ago`, true);
    let upstreamId: string;
    try {
      // Not aborted by a cancel or shutdown once sent: an upstream that accepted the task would run
      // (and bill) it with nobody knowing its id. The request has its own timeout.
      upstreamId = await this.submitOnce({ taskId: input.taskId, request, seed: input.seed, upstreamModel, apiKey });
    } catch (err) {
      if (!(err instanceof UpstreamError)) throw err;
      if (err.kind === 'rejected') throw failure(`${err.code}: ${err.message}`);
      if (err.status === 429) this.noteFull();
      throw new ChannelUnavailableError(`${this.name}: ${err.status ? `HTTP ${err.status} ` : ''}${err.message}`, err.status === 429);
    }
    if ((ctx.signal.reason as Error | undefined)?.name === 'Cancelled') {
      // Cancelled while the submit was on its way: stop it upstream too.
      this.adapter.cancel(upstreamId, apiKey).catch(() => undefined);
      throw ctx.signal.reason;
    }
    const state: UpstreamState = { upstreamId, keyIndex, submittedAt: this.deps.clock(), referenceVideoSeconds };
    try {
      await ctx.checkpoint(state);
    } catch (err) {
      // The id could not be kept (the task passed to another worker, which will submit again):
      // stop this upstream twin rather than pay for it twice.
      this.adapter.cancel(upstreamId, apiKey).catch(() => undefined);
      throw err;
    }
    return state;
  }

  /**
   * Sends the submit; when its answer was lost on the way (connection dropped or timed out) and the
   * upstream deduplicates by task id, asks once more, so the task the upstream may already have made
   * is found instead of another channel being paid for a second one.
   */
  private async submitOnce(input: SubmitInput): Promise<string> {
    try {
      return await this.adapter.submit(input, this.lifetime.signal);
    } catch (err) {
      if (!(err instanceof UpstreamError) || err.status !== null || err.kind !== 'unavailable' || !this.adapter.idempotentSubmit) throw err;
      await delay(200);
      return this.adapter.submit(input, this.lifetime.signal);
    }
  }

  private async withReachableUrls(request: TaskRequest, accountId: string): Promise<TaskRequest> {
    if (!request.media.some((m) => m.assetId)) return request;
    const media = await Promise.all(
      request.media.map(async (m) => (m.assetId ? { ...m, url: await this.deps.assets.publicUrl({ ...m, assetId: m.assetId }, accountId) } : m)),
    );
    return { ...request, media };
  }

  /**
   * Watches the upstream task with all others of the channel. The task is shown `pending` while the
   * upstream queues it and `processing` from the first answer that says it runs.
   */
  private watchParked(taskId: string, upstreamId: string, submittedAt: number, apiKey: string, parked: ParkedTask): void {
    // A watch left from an earlier run of this task here must not end this one.
    const earlier = this.watching.get(taskId);
    if (earlier) this.watch.unwatch(earlier.id, earlier.apiKey);
    const entry = new ParkedWatch(this, taskId, upstreamId, apiKey, submittedAt + this.o.timeoutMs, submittedAt, parked);
    this.watching.set(taskId, entry);
    this.watch.watch(entry);
  }

  /**
   * ParkedWatch's: the upstream said the task runs. It is shown `processing`, with progress
   * estimated from the time spent, reported at most once per `max_poll_ms` however often the task
   * is polled (each report is a write).
   */
  parkedRunning(entry: ParkedWatch): void {
    entry.running ??= entry.parked.markProcessing().catch(() => undefined);
    const now = this.deps.clock();
    if (now - entry.progressAt < this.o.maxPollMs) return;
    entry.progressAt = now;
    // Upstreams tell the state, not the progress: estimate it from the time spent against the usual time.
    const waited = now - entry.submittedAt;
    entry.parked.reportProgress(0.05 + 0.9 * Math.min(1, waited / (this.o.expectedSeconds * 1000)));
  }

  /** ParkedWatch's: watching ended. Keep how, and resume the task once its `processing` write is done. */
  async parkedEnded(entry: ParkedWatch, outcome: WatchOutcome): Promise<void> {
    await entry.running;
    if (this.watching.get(entry.taskId) !== entry) return;
    this.watching.delete(entry.taskId);
    this.ended.set(entry.taskId, outcome);
    entry.parked.resume();
  }

  private finalStatus(outcome: WatchOutcome, state: UpstreamState, apiKey: string): UpstreamStatus {
    switch (outcome.kind) {
      case 'finished':
        return outcome.status;
      case 'lost':
        throw failure(`the upstream no longer knows task ${state.upstreamId}`);
      case 'unreachable':
        throw failure(`lost contact with the upstream after ${outcome.errors} failed polls: ${outcome.message}`);
      case 'timeout':
        this.adapter.cancel(state.upstreamId, apiKey).catch(() => undefined);
        throw new TaskFailureError({ code: 'timeout', params: { seconds: Math.round(this.o.timeoutMs / 1000) } });
    }
  }

  private async collect(status: UpstreamStatus, request: TaskRequest, state: UpstreamState, ctx: RunContext): Promise<RunOutput> {
    if (status.state === 'failed') {
      throw failure(status.error ? `${status.error.code}: ${status.error.message}` : 'the upstream reports the task failed');
    }
    if (status.state === 'cancelled') {
      throw new TaskCancelledError({
        code: 'cancelled_upstream',
        params: { detail: status.error?.message ?? `task ${state.upstreamId} was cancelled upstream` },
      });
    }
    if (!status.videoUrl) throw failure('the upstream reports success but gives no video URL');
    const video = join(ctx.workDir, 'video.mp4');
    await this.downloads.with(ctx.signal, () => this.download(status.videoUrl!, video, ctx.signal));
    const { contentType } = await checkVideo(video);
    let lastFrame: RunOutput['lastFrame'] = null;
    if (request.returnLastFrame && status.lastFrameUrl) {
      const downloaded = join(ctx.workDir, 'last_frame.download');
      await this.downloads.with(ctx.signal, () => this.download(status.lastFrameUrl!, downloaded, ctx.signal));
      const path = join(ctx.workDir, 'last_frame.png');
      await lastFrameAsPng(downloaded, path, this.deps.ffmpeg, ctx.signal);
      lastFrame = { path, name: 'last_frame.png', contentType: 'image/png' };
    }
    return {
      video: { path: video, name: 'video.mp4', contentType },
      lastFrame,
      usage: state.referenceVideoSeconds === null ? undefined : { referenceVideoSeconds: state.referenceVideoSeconds },
    };
  }

  /** Streams the upstream's file to disk (never whole in memory), retrying brief network trouble. */
  private async download(url: string, path: string, signal: AbortSignal): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.deps.fetcher.download(url, path, { maxBytes: RESULT_MAX_BYTES, sizeRule: 'results must be smaller than 2 GB', signal });
        return;
      } catch (err) {
        if (signal.aborted) throw signal.reason;
        if (attempt >= DOWNLOAD_TRIES) throw failure(`could not copy the result from the upstream: ${(err as Error).message}`);
        await delay(500 * attempt, undefined, { signal });
      }
    }
  }

  async close(): Promise<void> {
    this.lifetime.abort();
  }
}

/**
 * What a parked task costs while the upstream works on it: this one object (the watch's entry) and
 * the parking's handle. No closures, promise or request: the rest is read from the store on resume.
 */
class ParkedWatch extends Watched {
  /** The `processing` write, once the upstream said the task runs. */
  running: Promise<void> | null = null;
  /** When progress was last reported (0: never). */
  progressAt = 0;

  constructor(
    private readonly channel: UpstreamProvider,
    readonly taskId: string,
    upstreamId: string,
    apiKey: string,
    deadline: number,
    readonly submittedAt: number,
    readonly parked: ParkedTask,
  ) {
    super(upstreamId, apiKey, deadline);
  }

  onStatus(status: UpstreamStatus): void {
    if (status.state === 'processing') this.channel.parkedRunning(this);
  }

  onEnd(outcome: WatchOutcome): void {
    void this.channel.parkedEnded(this, outcome);
  }
}
