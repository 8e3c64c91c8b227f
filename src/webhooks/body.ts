import type { TaskRecord, WebhookDelivery } from '../store/types.js';
import { toTaskObject, type ViewOptions } from '../tasks/task-object.js';

/**
 * What a webhook POSTs: exactly what GET /v1/tasks/{id} answered when the status changed. A terminal
 * event is the task as it is now (terminal states do not change); an earlier event whose task has
 * moved on since is the task as it was then, from the status, progress and cost the outbox kept.
 */
export function webhookBody(task: TaskRecord, delivery: WebhookDelivery, view: ViewOptions): string {
  const then: TaskRecord =
    task.status === delivery.event
      ? task
      : { ...task, status: delivery.event, progress: delivery.progress, costMicros: delivery.costMicros, result: null, error: null, finishedAt: null };
  return JSON.stringify({ code: 200, data: toTaskObject(then, view) });
}
