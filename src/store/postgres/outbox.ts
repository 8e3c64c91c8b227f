import { type OutboxDelivery, outboxDelivery } from '../../webhooks/outbox.js';
import { type TaskRow, toTask } from '../sql/task-row.js';
import type { TaskStatus } from '../task-queue-store.js';
import type { PgQueries } from './connection.js';

/** A task row with its key's default callback URL, as the ending statements return it. */
export type TaskRowWithHook = TaskRow & { key_callback_url: string | null };

/** Inserts the deliveries passed as eight arrays from parameter `$first` on (see `outboxArrays`). */
export const insertDeliveries = (first: number) => {
  const p = (i: number) => `$${first + i}`;
  return `INSERT INTO webhook_deliveries (id, account_id, task_id, event, progress, cost_micros, url, state, next_attempt_at, created_at)
    SELECT id, account_id, task_id, event, progress, cost_micros, url, 'pending', 0, created_at
    FROM unnest(${p(0)}::text[], ${p(1)}::text[], ${p(2)}::text[], ${p(3)}::text[], ${p(4)}::int[], ${p(5)}::bigint[], ${p(6)}::text[], ${p(7)}::bigint[])
      AS d(id, account_id, task_id, event, progress, cost_micros, url, created_at)
    ON CONFLICT (task_id, event) DO NOTHING`;
};

export function outboxArrays(deliveries: readonly OutboxDelivery[]): unknown[][] {
  return [
    deliveries.map((d) => d.id),
    deliveries.map((d) => d.accountId),
    deliveries.map((d) => d.taskId),
    deliveries.map((d) => d.event),
    deliveries.map((d) => d.progress),
    deliveries.map((d) => d.costMicros),
    deliveries.map((d) => d.url),
    deliveries.map((d) => d.createdAt),
  ];
}

/** The deliveries of these rows' changes, by the shared rule (`before` null: to a final status). */
export function deliveriesOf(rows: readonly TaskRowWithHook[], before: (id: string) => TaskStatus | null, now: number): OutboxDelivery[] {
  return rows.flatMap((row) => outboxDelivery(toTask(row), before(row.id), row.key_callback_url, now) ?? []);
}

/** Queues the webhook deliveries of tasks' status changes, inside the transaction that made them. */
export class PgOutbox {
  /** After each task changed from its `before` status (null: from an unfinished status to a final one). */
  async record(tx: PgQueries, changes: ReadonlyArray<{ id: string; before: TaskStatus | null }>, now: number): Promise<void> {
    if (changes.length === 0) return;
    const rows = await tx.rows<TaskRowWithHook>(
      'SELECT tasks.*, api_keys.callback_url AS key_callback_url FROM tasks JOIN api_keys ON api_keys.id = tasks.key_id WHERE tasks.id = ANY($1)',
      [changes.map((c) => c.id)],
    );
    const before = new Map(changes.map((c) => [c.id, c.before]));
    const deliveries = deliveriesOf(rows, (id) => before.get(id) ?? null, now);
    if (deliveries.length > 0) await tx.run(insertDeliveries(1), outboxArrays(deliveries));
  }
}
