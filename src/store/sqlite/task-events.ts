import type { TaskEventStore } from '../task-event-store.js';
import type { TaskStatus } from '../task-queue-store.js';
import type { SqliteConnection } from './connection.js';

/** Reads of the tasks table for live events and run-time estimates: many tasks, or many past runs, per query. */
export class SqliteTaskEvents implements TaskEventStore {
  private readonly s;

  constructor(connection: SqliteConnection) {
    const db = connection.db;
    this.s = {
      states: db.prepare('SELECT id, status, progress FROM tasks WHERE id IN (SELECT value FROM json_each(?))'),
      runTimes: db
        .prepare(`
          SELECT finished_at - created_at FROM tasks
          WHERE status = 'completed' AND provider = @provider AND model = @model
            AND json_extract(request, '$.resolution') = @resolution AND json_extract(request, '$.duration') = @duration
          ORDER BY finished_at DESC LIMIT @limit`)
        .pluck(),
    };
  }

  async getTaskStates(ids: readonly string[]): Promise<Array<{ id: string; status: TaskStatus; progress: number }>> {
    if (ids.length === 0) return [];
    return this.s.states.all(JSON.stringify(ids)) as Array<{ id: string; status: TaskStatus; progress: number }>;
  }

  async recentRunTimes(q: { provider: string; model: string; resolution: string; duration: number; limit: number }): Promise<number[]> {
    return this.s.runTimes.all(q) as number[];
  }
}
