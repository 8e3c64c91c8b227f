import type { TaskEventStore } from '../task-event-store.js';
import type { TaskStatus } from '../task-queue-store.js';
import type { PgConnection } from './connection.js';

/**
 * Run times of past tasks of one shape. The JSON expressions are written exactly as in the index
 * `tasks_run_history` (duration compared as the text `->>` gives, not cast), and `status =
 * 'completed'` is its predicate, so the planner reads the index backwards instead of scanning tasks.
 * The duration parameter is `String(duration)`: JSON.stringify wrote the number the same way.
 * Exported so that a test can check the plan.
 */
export const RECENT_RUN_TIMES_SQL = `
  SELECT finished_at - created_at AS ms FROM tasks
  WHERE status = 'completed' AND provider = $1 AND model = $2
    AND (request::jsonb ->> 'resolution') = $3 AND (request::jsonb ->> 'duration') = $4
  ORDER BY finished_at DESC LIMIT $5`;

/** Reads of the tasks table for live events and run-time estimates: many tasks, or many past runs, per query. */
export class PgTaskEvents implements TaskEventStore {
  constructor(private readonly connection: PgConnection) {}

  async getTaskStates(ids: readonly string[]): Promise<Array<{ id: string; status: TaskStatus; progress: number }>> {
    if (ids.length === 0) return [];
    return this.connection.rows('SELECT id, status, progress FROM tasks WHERE id = ANY($1)', [ids]);
  }

  async recentRunTimes(q: { provider: string; model: string; resolution: string; duration: number; limit: number }): Promise<number[]> {
    const rows = await this.connection.rows<{ ms: number }>(RECENT_RUN_TIMES_SQL, [q.provider, q.model, q.resolution, String(q.duration), q.limit]);
    return rows.map((r) => r.ms);
  }
}
