import type { LeaseGuard, TaskStatus } from './task-queue-store.js';

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
