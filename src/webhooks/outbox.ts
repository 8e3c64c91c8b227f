import { randomBytes } from 'node:crypto';
import type { TaskStatus } from '../store/task-queue-store.js';

/**
 * The outbox rule both stores honour: every status change a callback should hear of is queued in
 * the very transaction that writes it, once per task and status (a task given back to the queue and
 * claimed again is not announced twice; the stores' unique (task_id, event) makes a repeat a no-op).
 */

/** The event a status change announces, or null (no change, or back to the queue). */
export function outboxEvent(before: TaskStatus | null, after: TaskStatus): TaskStatus | null {
  return after !== before && after !== 'pending' ? after : null;
}

export interface OutboxTask {
  id: string;
  accountId: string;
  status: TaskStatus;
  progress: number;
  costMicros: number;
  callbackUrl?: string | null;
  startedAt: number | null;
  finishedAt: number | null;
}

export interface OutboxDelivery {
  id: string;
  accountId: string;
  taskId: string;
  event: TaskStatus;
  progress: number;
  costMicros: number;
  url: string;
  createdAt: number;
}

/**
 * The delivery a change of `task` (as it is after the change) from `before` queues, or null. The URL
 * is the task's own callback_url, else its key's default at the time of the change.
 */
export function outboxDelivery(task: OutboxTask, before: TaskStatus | null, keyCallbackUrl: string | null, now: number): OutboxDelivery | null {
  const event = outboxEvent(before, task.status);
  const url = task.callbackUrl ?? keyCallbackUrl;
  if (!event || !url) return null;
  return {
    id: `msg_${randomBytes(16).toString('hex')}`,
    accountId: task.accountId,
    taskId: task.id,
    event,
    progress: task.progress,
    costMicros: task.costMicros,
    url,
    createdAt: task.finishedAt ?? task.startedAt ?? now,
  };
}
