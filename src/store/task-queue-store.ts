import type { TaskRequest } from '../contract/submit.js';
import type { TaskFailure } from '../contract/failures.js';

export type TaskStatus = 'pending' | 'processing' | 'completed' | 'failed' | 'cancelled';
export const TERMINAL_STATUSES: ReadonlySet<TaskStatus> = new Set(['completed', 'failed', 'cancelled']);

export interface StoredFile {
  /** Path relative to the result storage root. */
  key: string;
  bytes: number;
  contentType: string;
}

export interface TaskResult {
  video: StoredFile;
  lastFrame: StoredFile | null;
  /** Unix ms after which the signed URLs stop working and the files are collected. */
  expiresAt: number;
}

export interface TaskRecord {
  id: string;
  accountId: string;
  keyId: string;
  status: TaskStatus;
  progress: number;
  request: TaskRequest;
  /** The seed actually used (a random one when the client sent -1), so a retried render is identical. */
  seed: number;
  provider: string;
  /**
   * What the channel needs to pick the task up again after a restart (an upstream task id, the
   * channels already tried); opaque to the store.
   */
  providerState: unknown;
  estimatedSeconds: number;
  /** What the task costs its account now: the reservation, then the exact price, 0 once refunded. */
  costMicros: number;
  reservedMicros: number;
  /**
   * What its channel's upstream charges for it (README: Configuration, `cost`): expected while it is
   * unfinished (what counts against the channel's daily budget), exact once completed; null when the
   * channel declares no cost for it, and once it failed or was cancelled (the upstream is not paid).
   */
  upstreamCostMicros: number | null;
  /** Price charged minus upstream cost, set when it completes on a channel that declares a cost; null otherwise. */
  marginMicros: number | null;
  attempts: number;
  /** Runs of this task that never ended (their process died, or lost the lease mid-run)… */
  interruptedRuns: number;
  /** …and how many of those ran alone in their process, so that the task itself stopped it. */
  interruptedAlone: number;
  leaseOwner: string | null;
  leaseExpiresAt: number | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  result: TaskResult | null;
  error: TaskFailure | null;
  resultsCollected: boolean;
  /** Where status changes are POSTed (the submit body's callback_url); the key's default applies when null. */
  callbackUrl?: string | null;
}

export interface NewTask {
  id: string;
  accountId: string;
  keyId: string;
  request: TaskRequest;
  seed: number;
  provider: string;
  estimatedSeconds: number;
  /** Reserved from the balance in the same transaction that creates the task. */
  costMicros: number;
  /** Its expected upstream cost on `provider` (TaskRecord.upstreamCostMicros); null or absent when not declared. */
  upstreamCostMicros?: number | null;
  createdAt: number;
  callbackUrl?: string | null;
}

export interface TaskListQuery {
  accountId: string;
  status?: TaskStatus;
  model?: string;
  /** Exclusive cursor: only tasks older than this id (newer, in `asc` order). */
  after?: string;
  /** `desc` (default): newest first; `asc`: oldest first. */
  order?: 'asc' | 'desc';
  /** Only tasks created at or after this unix ms… */
  createdFrom?: number;
  /** …and before this one (exclusive). */
  createdUntil?: number;
  limit: number;
}

export interface SubmitOptions {
  /** Stored with the task; a replay with the same key and body returns the first task. */
  idempotency?: { key: string; bodyHash: string; since: number };
  inFlightLimit: number;
  /** Only answer an earlier submit with the same idempotency key (`replayed` or `idempotency_conflict`); create nothing (`not_replayed`). */
  replayOnly?: boolean;
}

export type SubmitOutcome =
  /** The task as stored, so the caller need not read it back. */
  | { kind: 'created'; task: TaskRecord }
  | { kind: 'replayed'; taskId: string }
  | { kind: 'idempotency_conflict' }
  /** `replayOnly` and no earlier submit to answer with: nothing was written. */
  | { kind: 'not_replayed' }
  | { kind: 'insufficient_balance'; balanceMicros: number }
  | { kind: 'key_cap_reached'; remainingMicros: number }
  | { kind: 'too_many_in_flight'; limit: number };

export type CancelOutcome = { kind: 'cancelled'; task: TaskRecord } | { kind: 'not_found' } | { kind: 'already_finished'; status: TaskStatus };

export interface ClaimOptions {
  owner: string;
  now: number;
  leaseMs: number;
  limit: number;
  providers: readonly string[];
  /**
   * Whether a claimed `pending` task turns `processing` at once (default). Upstream channels claim
   * without it and call `markProcessing` when the upstream starts the work: until then the task is
   * queued upstream, and the client sees `pending`.
   */
  markProcessing?: boolean;
  /**
   * Tasks whose last run never ended: `exclude` them, take `only` them, or either (default). The
   * dispatcher runs such a suspect alone, so that a second death can be blamed on it.
   */
  interrupted?: 'exclude' | 'only';
  /** The run starting now is alone in its process (recorded with it, read after a death). */
  alone?: boolean;
}

/** A fenced write: it only lands while `owner` still holds the task's lease. */
export interface LeaseGuard {
  id: string;
  owner: string;
}

/**
 * Tasks and the queue they are: submit (reserving the price), claims under a lease, every fenced
 * write of a run, and the ends that settle or refund in the same transaction.
 */
export interface TaskQueueStore {
  /**
   * Creates the task and reserves its price in one transaction: refused (and nothing written) when the
   * balance, the key's cap or its in-flight limit does not allow it.
   */
  submitTask(task: NewTask, options: SubmitOptions): Promise<SubmitOutcome>;
  getTask(id: string): Promise<TaskRecord | null>;
  listTasks(query: TaskListQuery): Promise<TaskRecord[]>;

  /** Takes up to `limit` due tasks (unfinished, and unleased or with an expired lease) under a new lease. */
  claimTasks(options: ClaimOptions): Promise<TaskRecord[]>;
  /** Whether a task of these providers whose last run never ended is due. */
  hasInterruptedTask(providers: readonly string[], now: number): Promise<boolean>;
  /**
   * Records that a held task's run started (alone or beside others) or ended without finishing it
   * (parked). Like a clean hand-back, a run that parked its task is not an attempt: ending the run
   * gives its attempt back and starting one (a resume) takes one, so a parked task whose holder
   * dies is not a step closer to `attempts_exhausted` while a run that dies still is.
   */
  setRunOpen(guard: LeaseGuard, open: 'alone' | 'shared' | false): Promise<boolean>;
  renewLease(guard: LeaseGuard, expiresAt: number): Promise<boolean>;
  /** Extends every lease `owner` holds, in one write; returns the ids it still holds. */
  renewLeases(owner: string, expiresAt: number): Promise<string[]>;
  /** Raises progress (never lowers it); true when it rose. */
  reportProgress(guard: LeaseGuard, progress: number): Promise<boolean>;
  /** Many progress reports in one write; returns the ids whose progress rose. */
  reportProgressMany(updates: ReadonlyArray<{ guard: LeaseGuard; progress: number }>): Promise<string[]>;
  /** A held `pending` task starts: it turns `processing`. False when it was not pending or not held. */
  markProcessing(guard: LeaseGuard, now: number): Promise<boolean>;
  /**
   * Completes and settles to `finalCostMicros` (at most the reservation; the rest is given back),
   * recording its upstream cost and the margin (`money-rules.ts` `margin`); null or absent: not declared.
   */
  completeTask(guard: LeaseGuard, result: TaskResult, finishedAt: number, finalCostMicros: number, upstreamCostMicros?: number | null): Promise<boolean>;
  /** Fails and refunds the reservation in full. */
  failTask(guard: LeaseGuard, failure: TaskFailure, finishedAt: number): Promise<boolean>;
  /** Ends a held task `cancelled` for a reason of its channel (the upstream cancelled it), refunded in full. */
  cancelHeldTask(guard: LeaseGuard, reason: TaskFailure, finishedAt: number): Promise<boolean>;
  /** Cancels a pending or processing task of this account and refunds it in full. */
  cancelTask(id: string, accountId: string, now: number): Promise<CancelOutcome>;
  /** Gives back whatever of the task's reservation was not yet given back; a second call moves nothing. */
  refundTask(id: string, now: number, note: string): Promise<number>;
  /**
   * Gives the task back to the queue at once, e.g. on shutdown: `pending` again, unless `keepStatus`
   * (an upstream keeps working on it while nobody here holds it).
   */
  releaseTask(guard: LeaseGuard, options?: { keepStatus?: boolean }): Promise<boolean>;
  /** Records the channel's progress marker, e.g. the upstream task id right after submitting. */
  saveProviderState(guard: LeaseGuard, state: unknown): Promise<boolean>;
  /**
   * Queues the task again for another channel (failover), with a fresh state; not claimable before
   * `notBefore`. `upstreamCostMicros`: its expected cost there (null or absent: not declared).
   */
  moveTask(guard: LeaseGuard, provider: string, state: unknown, notBefore?: number, upstreamCostMicros?: number | null): Promise<boolean>;
  /** Unfinished tasks whose lease owner starts with `ownerPrefix`. */
  listLeasedBy(ownerPrefix: string): Promise<Array<{ id: string; owner: string }>>;
  /** Ends a lease now so the task can be claimed again (its holder is known to be dead). */
  expireLease(guard: LeaseGuard): Promise<boolean>;
  /** When the next task becomes claimable (earliest lease expiry), or null if none is waiting. */
  nextLeaseExpiry(providers: readonly string[]): Promise<number | null>;

  /** Pending and processing tasks per channel and status (for metrics). */
  countUnfinishedTasks(): Promise<Array<{ provider: string; status: TaskStatus; count: number }>>;
  /** Completed tasks whose results expired and whose files are still on disk. */
  listExpiredResults(now: number, limit: number): Promise<TaskRecord[]>;
  markResultsCollected(id: string): Promise<void>;
}
