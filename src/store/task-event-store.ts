import type { TaskStatus } from './task-queue-store.js';

/** What live events and estimates read. */
export interface TaskEventStore {
  /** Status and progress of these tasks, in one query however many there are. */
  getTaskStates(ids: readonly string[]): Promise<Array<{ id: string; status: TaskStatus; progress: number }>>;
  /** Milliseconds from submit to completion of the latest completed tasks of this shape on this channel, newest first. */
  recentRunTimes(q: { provider: string; model: string; resolution: string; duration: number; limit: number }): Promise<number[]>;
}
