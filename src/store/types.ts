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
  createdAt: number;
  callbackUrl?: string | null;
}

export interface TaskListQuery {
  accountId: string;
  status?: TaskStatus;
  model?: string;
  /** Exclusive cursor: only tasks older than this id. */
  after?: string;
  limit: number;
}

export interface Account {
  id: string;
  name: string;
  unlimited: boolean;
  /** Spendable money; stays 0 and unused for unlimited accounts. Never negative. */
  balanceMicros: number;
  /** Net charges so far (reservations minus refunds). */
  spentMicros: number;
  createdAt: number;
}

export interface KeyLimits {
  /** Most this key may spend in all; null = only the account balance limits it. */
  spendCapMicros: number | null;
  /** Requests per minute; null = the service default. */
  rpmLimit: number | null;
  /** Unfinished tasks at once; null = the service default. */
  inFlightLimit: number | null;
}

export interface ApiKeyRecord {
  id: string;
  accountId: string;
  /** sha256 of the secret, hex; the secret itself is never stored. */
  hash: string;
  prefix: string;
  name: string;
  disabled: boolean;
  createdAt: number;
  limits: KeyLimits;
  spentMicros: number;
  /** Its tasks that are pending or processing now. */
  inFlight: number;
  /** Default callback URL of its tasks that name none. */
  callbackUrl?: string | null;
}

export type LedgerKind = 'topup' | 'reserve' | 'settle' | 'refund';

/** One movement of money. Amounts are signed: a reservation is negative, a refund positive. */
export interface LedgerEntry {
  id: number;
  accountId: string;
  keyId: string | null;
  taskId: string | null;
  kind: LedgerKind;
  amountMicros: number;
  /** null for unlimited accounts, whose balance is not tracked. */
  balanceAfterMicros: number | null;
  note: string | null;
  createdAt: number;
}

export interface SubmitOptions {
  /** Stored with the task; a replay with the same key and body returns the first task. */
  idempotency?: { key: string; bodyHash: string; since: number };
  inFlightLimit: number;
}

export type SubmitOutcome =
  | { kind: 'created' }
  | { kind: 'replayed'; taskId: string }
  | { kind: 'idempotency_conflict' }
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
 * Everything vidgate keeps durably. Async so that a networked database fits behind it; the SQLite
 * implementation answers synchronously inside.
 */
export interface Store extends AssetStore, WebhookStore, TaskEventStore {
  readonly kind: string;
  ping(): Promise<void>;
  close(): Promise<void>;

  getSetting(name: string): Promise<string | null>;
  /** Sets the value only when absent; returns the value in force. */
  initSetting(name: string, value: string): Promise<string>;

  createAccount(account: Omit<Account, 'spentMicros'>): Promise<void>;
  getAccount(id: string): Promise<Account | null>;
  listAccounts(limit: number, after?: string): Promise<Account[]>;
  /** Adds money (a positive amount) with a ledger row; returns the new balance. */
  topUp(accountId: string, amountMicros: number, note: string | null, now: number): Promise<number>;
  listLedger(accountId: string, limit: number, afterId?: number): Promise<LedgerEntry[]>;
  createApiKey(key: Omit<ApiKeyRecord, 'spentMicros' | 'inFlight'>): Promise<void>;
  getApiKey(id: string): Promise<ApiKeyRecord | null>;
  listApiKeys(accountId: string): Promise<ApiKeyRecord[]>;
  updateApiKeyLimits(id: string, limits: Partial<KeyLimits>): Promise<boolean>;
  findApiKeyByHash(hash: string): Promise<ApiKeyRecord | null>;
  /** Rises with every change to a key's status or limits, by any process: caches of keys compare it. */
  keysVersion(): Promise<number>;
  hasApiKeys(): Promise<boolean>;
  setApiKeyDisabled(id: string, disabled: boolean): Promise<boolean>;
  /** Changes a key's status, limits and default callback URL together, all or nothing; null when there is no such key. */
  updateApiKey(id: string, change: { disabled?: boolean; limits?: Partial<KeyLimits>; callbackUrl?: string | null }): Promise<ApiKeyRecord | null>;

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
  /** Records that a held task's run started (alone or beside others) or ended without finishing it (parked). */
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
  /** Completes and settles to `finalCostMicros` (at most the reservation; the rest is given back). */
  completeTask(guard: LeaseGuard, result: TaskResult, finishedAt: number, finalCostMicros: number): Promise<boolean>;
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
  /** Queues the task again for another channel (failover), with a fresh state; not claimable before `notBefore`. */
  moveTask(guard: LeaseGuard, provider: string, state: unknown, notBefore?: number): Promise<boolean>;
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

export type AssetKind = 'image' | 'video' | 'audio';
export type AssetStatus = 'pending' | 'approved' | 'failed';

export interface AssetGroup {
  id: string;
  accountId: string;
  name: string;
  description: string;
  createdAt: number;
}

export interface AssetRecord {
  id: string;
  accountId: string;
  groupId: string;
  reviewId: string;
  projectName: string;
  kind: AssetKind;
  name: string;
  sourceUrl: string;
  status: AssetStatus;
  /** Why review failed, in English. */
  reason: string | null;
  /** The reviewed file, relative to the asset storage root; null until approved. */
  fileKey: string | null;
  bytes: number | null;
  contentType: string | null;
  createdAt: number;
  deletedAt: number | null;
}

export type ReviewStatus = 'pending' | 'processing' | 'completed' | 'failed';

/** A review of submitted assets: a task of its own kind, polled at GET /v1/tasks/{id}. */
export interface AssetReview {
  id: string;
  accountId: string;
  groupId: string;
  status: ReviewStatus;
  progress: number;
  createdAt: number;
  finishedAt: number | null;
}

/** Assets of README: Assets: reviewed once, then usable as asset://<id> by their own account only. */
export interface AssetStore {
  createAssetGroup(group: AssetGroup): Promise<void>;
  getAssetGroup(id: string): Promise<AssetGroup | null>;
  /** The review and its assets, all pending, in one transaction. */
  createAssetReview(review: Omit<AssetReview, 'status' | 'progress' | 'finishedAt'>, assets: AssetRecord[]): Promise<void>;
  getAssetReview(id: string): Promise<AssetReview | null>;
  listUnfinishedReviews(): Promise<AssetReview[]>;
  /** Moves a review on; progress never goes down. */
  updateAssetReview(id: string, change: { status?: ReviewStatus; progress?: number; finishedAt?: number }): Promise<void>;
  listReviewAssets(reviewId: string): Promise<AssetRecord[]>;
  settleAsset(
    id: string,
    outcome: { status: 'approved'; fileKey: string; bytes: number; contentType: string } | { status: 'failed'; reason: string },
  ): Promise<void>;
  getAsset(id: string): Promise<AssetRecord | null>;
  listAssets(accountId: string, limit: number, after?: string): Promise<AssetRecord[]>;
  deleteAsset(id: string, accountId: string, now: number): Promise<boolean>;
}

export type WebhookState = 'pending' | 'delivered' | 'failed';

/** One event for one callback URL: queued with the status change, then tried until it is delivered or given up. */
export interface WebhookDelivery {
  /** Order of creation (the log's cursor). */
  seq: number;
  /** `webhook-id`: unique per event, the same on every retry. */
  id: string;
  accountId: string;
  taskId: string;
  /** The status the event announces. */
  event: TaskStatus;
  /** Progress and cost when the status changed. */
  progress: number;
  costMicros: number;
  url: string;
  state: WebhookState;
  attempts: number;
  /** Unix ms; null once delivered or given up. */
  nextAttemptAt: number | null;
  leaseOwner: string | null;
  leaseExpiresAt: number | null;
  /** The JSON body, fixed at the first attempt so every retry sends the same bytes. */
  body: string | null;
  lastStatus: number | null;
  lastError: string | null;
  createdAt: number;
  finishedAt: number | null;
}

export interface WebhookAttempt {
  deliverySeq: number;
  attempt: number;
  startedAt: number;
  durationMs: number;
  /** HTTP status of the answer; null when there was none (refused, timed out, blocked). */
  statusCode: number | null;
  error: string | null;
  owner: string | null;
}

export interface WebhookSecret {
  accountId: string;
  /** `whsec_<base64>` */
  secret: string;
  /** The secret before the last rotation, still signed with until `previousUntil`. */
  previous: string | null;
  previousUntil: number | null;
  createdAt: number;
}

/** How an attempt ended: delivered, to be retried at `retryAt`, or given up (`retryAt` null). */
export type WebhookAttemptOutcome =
  | { delivered: true; statusCode: number }
  | { delivered: false; statusCode: number | null; error: string; retryAt: number | null };

export interface WebhookDeliveryQuery {
  accountId?: string;
  taskId?: string;
  state?: WebhookState;
  limit: number;
  /** Exclusive cursor: only deliveries older than this seq. */
  before?: number;
}

/** Webhooks (durable deliveries, per-account secrets, per-key default URLs). */
export interface WebhookStore {
  setApiKeyCallbackUrl(keyId: string, url: string | null): Promise<boolean>;
  getWebhookSecret(accountId: string): Promise<WebhookSecret | null>;
  /** Stores `secret` unless the account has one already; returns the one in force. */
  ensureWebhookSecret(accountId: string, secret: string, now: number): Promise<WebhookSecret>;
  /** Replaces the secret; the old one stays in signatures until `previousUntil` (null: dropped at once). */
  rotateWebhookSecret(accountId: string, secret: string, now: number, previousUntil: number | null): Promise<WebhookSecret>;
  /** Takes up to `limit` due pending deliveries under a lease (oldest due first). */
  claimWebhookDeliveries(o: { owner: string; now: number; leaseMs: number; limit: number }): Promise<WebhookDelivery[]>;
  /** Fixes the body of a claimed delivery. */
  saveWebhookBody(guard: LeaseGuard, body: string): Promise<boolean>;
  /** Records an attempt and moves the delivery on (delivered, next try, or given up), fenced by the lease. */
  recordWebhookAttempt(guard: LeaseGuard, attempt: Omit<WebhookAttempt, 'deliverySeq' | 'attempt' | 'owner'>, outcome: WebhookAttemptOutcome): Promise<boolean>;
  /** Gives a claimed delivery back without counting an attempt, due again at `dueAt`. */
  releaseWebhookDelivery(guard: LeaseGuard, dueAt: number): Promise<boolean>;
  /** When the next pending delivery is due (or its lease runs out), or null if none is pending. */
  nextWebhookDue(): Promise<number | null>;
  /** Owners holding delivery leases whose id starts with `ownerPrefix`. */
  listWebhookLeaseOwners(ownerPrefix: string): Promise<string[]>;
  /** Ends every delivery lease of `owner` (known to be dead); returns how many. */
  expireWebhookLeases(owner: string): Promise<number>;
  listWebhookDeliveries(query: WebhookDeliveryQuery): Promise<WebhookDelivery[]>;
  getWebhookDelivery(id: string): Promise<WebhookDelivery | null>;
  listWebhookAttempts(deliverySeqs: readonly number[]): Promise<WebhookAttempt[]>;
  /** Queues a delivered or given-up delivery again, due at `now`, attempts kept. */
  retryWebhookDelivery(id: string, now: number): Promise<boolean>;
}

/** What live events and estimates read. */
export interface TaskEventStore {
  /** Status and progress of these tasks, in one query however many there are. */
  getTaskStates(ids: readonly string[]): Promise<Array<{ id: string; status: TaskStatus; progress: number }>>;
  /** Milliseconds from submit to completion of the latest completed tasks of this shape on this channel, newest first. */
  recentRunTimes(q: { provider: string; model: string; resolution: string; duration: number; limit: number }): Promise<number[]>;
}
