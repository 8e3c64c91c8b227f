import type { TaskStatus } from '../task-queue-store.js';
import type { WebhookDelivery, WebhookSecret } from '../webhook-store.js';

export interface DeliveryRow {
  seq: number;
  id: string;
  account_id: string;
  task_id: string;
  event: TaskStatus;
  progress: number;
  cost_micros: number;
  url: string;
  state: WebhookDelivery['state'];
  attempts: number;
  next_attempt_at: number | null;
  lease_owner: string | null;
  lease_expires_at: number | null;
  body: string | null;
  last_status: number | null;
  last_error: string | null;
  created_at: number;
  finished_at: number | null;
}

export const toDelivery = (r: DeliveryRow): WebhookDelivery => ({
  seq: r.seq,
  id: r.id,
  accountId: r.account_id,
  taskId: r.task_id,
  event: r.event,
  progress: r.progress,
  costMicros: r.cost_micros,
  url: r.url,
  state: r.state,
  attempts: r.attempts,
  nextAttemptAt: r.next_attempt_at,
  leaseOwner: r.lease_owner,
  leaseExpiresAt: r.lease_expires_at,
  body: r.body,
  lastStatus: r.last_status,
  lastError: r.last_error,
  createdAt: r.created_at,
  finishedAt: r.finished_at,
});

export interface SecretRow {
  account_id: string;
  secret: string;
  previous: string | null;
  previous_until: number | null;
  created_at: number;
}
export const toSecret = (r: SecretRow): WebhookSecret => ({
  accountId: r.account_id,
  secret: r.secret,
  previous: r.previous,
  previousUntil: r.previous_until,
  createdAt: r.created_at,
});
