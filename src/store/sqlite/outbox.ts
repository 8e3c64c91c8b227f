import type Database from 'better-sqlite3';
import { outboxDelivery } from '../../webhooks/outbox.js';
import type { TaskStatus } from '../task-queue-store.js';
import { type TaskRow, toTask } from '../sql/task-row.js';

/** Queues the webhook deliveries of a task's status change, inside the transaction that made it. */
export class SqliteOutbox {
  private readonly s;

  constructor(db: Database.Database) {
    this.s = {
      task: db.prepare('SELECT tasks.*, api_keys.callback_url AS key_callback_url FROM tasks JOIN api_keys ON api_keys.id = tasks.key_id WHERE tasks.id = ?'),
      insert: db.prepare(`
        INSERT INTO webhook_deliveries (id, account_id, task_id, event, progress, cost_micros, url, state, next_attempt_at, created_at)
        VALUES (@id, @accountId, @taskId, @event, @progress, @costMicros, @url, 'pending', 0, @createdAt)
        ON CONFLICT (task_id, event) DO NOTHING`),
    };
  }

  /** After `taskId` changed from `before` (null: from an unfinished status to a final one). */
  record(taskId: string, before: TaskStatus | null, now: number): void {
    const row = this.s.task.get(taskId) as (TaskRow & { key_callback_url: string | null }) | undefined;
    if (!row) return;
    const delivery = outboxDelivery(toTask(row), before, row.key_callback_url, now);
    if (delivery) this.s.insert.run(delivery);
  }
}
