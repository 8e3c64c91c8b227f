import { outboxDelivery } from '../../webhooks/outbox.js';
import { type TaskRow, toTask } from '../sql/task-row.js';
import type { TaskStatus } from '../task-queue-store.js';
import type { PgQueries } from './connection.js';

/** Queues the webhook deliveries of tasks' status changes, inside the transaction that made them. */
export class PgOutbox {
  /** After each task changed from its `before` status (null: from an unfinished status to a final one). */
  async record(tx: PgQueries, changes: ReadonlyArray<{ id: string; before: TaskStatus | null }>, now: number): Promise<void> {
    if (changes.length === 0) return;
    const rows = await tx.rows<TaskRow & { key_callback_url: string | null }>(
      'SELECT tasks.*, api_keys.callback_url AS key_callback_url FROM tasks JOIN api_keys ON api_keys.id = tasks.key_id WHERE tasks.id = ANY($1)',
      [changes.map((c) => c.id)],
    );
    const before = new Map(changes.map((c) => [c.id, c.before]));
    const deliveries = rows.flatMap((row) => outboxDelivery(toTask(row), before.get(row.id) ?? null, row.key_callback_url, now) ?? []);
    if (deliveries.length === 0) return;
    await tx.run(
      `INSERT INTO webhook_deliveries (id, account_id, task_id, event, progress, cost_micros, url, state, next_attempt_at, created_at)
       SELECT id, account_id, task_id, event, progress, cost_micros, url, 'pending', 0, created_at
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::bigint[], $7::text[], $8::bigint[])
         AS d(id, account_id, task_id, event, progress, cost_micros, url, created_at)
       ON CONFLICT (task_id, event) DO NOTHING`,
      [
        deliveries.map((d) => d.id),
        deliveries.map((d) => d.accountId),
        deliveries.map((d) => d.taskId),
        deliveries.map((d) => d.event),
        deliveries.map((d) => d.progress),
        deliveries.map((d) => d.costMicros),
        deliveries.map((d) => d.url),
        deliveries.map((d) => d.createdAt),
      ],
    );
  }
}
