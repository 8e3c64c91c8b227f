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
  estimatedSeconds: number;
  costMicros: number;
  attempts: number;
  leaseOwner: string | null;
  leaseExpiresAt: number | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  result: TaskResult | null;
  error: TaskFailure | null;
  resultsCollected: boolean;
}

export interface NewTask {
  id: string;
  accountId: string;
  keyId: string;
  request: TaskRequest;
  seed: number;
  provider: string;
  estimatedSeconds: number;
  costMicros: number;
  createdAt: number;
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
  balanceMicros: number;
  createdAt: number;
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
}

export interface ClaimOptions {
  owner: string;
  now: number;
  leaseMs: number;
  limit: number;
  providers: readonly string[];
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
export interface Store {
  readonly kind: string;
  ping(): Promise<void>;
  close(): Promise<void>;

  getSetting(name: string): Promise<string | null>;
  /** Sets the value only when absent; returns the value in force. */
  initSetting(name: string, value: string): Promise<string>;

  createAccount(account: Account): Promise<void>;
  getAccount(id: string): Promise<Account | null>;
  createApiKey(key: ApiKeyRecord): Promise<void>;
  findApiKeyByHash(hash: string): Promise<ApiKeyRecord | null>;
  hasApiKeys(): Promise<boolean>;
  setApiKeyDisabled(id: string, disabled: boolean): Promise<boolean>;

  insertTask(task: NewTask): Promise<void>;
  getTask(id: string): Promise<TaskRecord | null>;
  listTasks(query: TaskListQuery): Promise<TaskRecord[]>;

  /** Takes up to `limit` due tasks (pending, or processing with an expired lease) under a new lease. */
  claimTasks(options: ClaimOptions): Promise<TaskRecord[]>;
  renewLease(guard: LeaseGuard, expiresAt: number): Promise<boolean>;
  /** Raises progress (never lowers it). */
  reportProgress(guard: LeaseGuard, progress: number): Promise<boolean>;
  completeTask(guard: LeaseGuard, result: TaskResult, finishedAt: number): Promise<boolean>;
  failTask(guard: LeaseGuard, failure: TaskFailure, finishedAt: number): Promise<boolean>;
  /** Gives the task back to the queue at once, e.g. on shutdown. */
  releaseTask(guard: LeaseGuard): Promise<boolean>;
  /** Processing tasks whose lease owner starts with `ownerPrefix`. */
  listLeasedBy(ownerPrefix: string): Promise<Array<{ id: string; owner: string }>>;
  /** Ends a lease now so the task can be claimed again (its holder is known to be dead). */
  expireLease(guard: LeaseGuard): Promise<boolean>;
  /** When the next task becomes claimable (earliest lease expiry), or null if none is waiting. */
  nextLeaseExpiry(providers: readonly string[]): Promise<number | null>;

  /** Completed tasks whose results expired and whose files are still on disk. */
  listExpiredResults(now: number, limit: number): Promise<TaskRecord[]>;
  markResultsCollected(id: string): Promise<void>;
}
