import type { Logger } from 'pino';
import type { TaskEventStore, TaskQueueStore, TaskRecord, TaskStatus } from '../store/types.js';

const RANK: Readonly<Record<TaskStatus, number>> = { pending: 1, processing: 2, completed: 3, failed: 3, cancelled: 3 };

/**
 * The SSE event id of a state: status rank × 1000 + progress. Status only moves forward and progress
 * never goes down, so ids only grow, and a client resuming with Last-Event-ID is sent only newer
 * states. (A task given back to the queue on shutdown reads `pending` again; that older-looking state
 * is not sent, the next `processing` is.)
 */
export function eventId(state: { status: TaskStatus; progress: number }): number {
  return RANK[state.status] * 1000 + (state.status === 'completed' ? 100 : state.progress);
}

type Listener = (task: TaskRecord) => void;

interface Watched {
  listeners: Set<Listener>;
  /** Highest event id announced to the listeners. */
  known: number;
  reading: boolean;
  readAgain: boolean;
}

/** Something that takes heartbeat comments and can be ended at shutdown. */
export interface LiveStream {
  heartbeat(): void;
  close(): void;
}

export interface TaskEventsOptions {
  store: TaskQueueStore & TaskEventStore;
  logger: Logger;
  /** How often the database is asked about every watched task at once (changes made by other processes). */
  pollMs: number;
  /** How often every open stream gets a comment line so proxies keep it open. */
  heartbeatMs: number;
}

/**
 * Who watches which task, and telling them when it changes. Changes made in this process arrive at
 * once through `notify`; changes made by any other process sharing the database are found by one
 * shared loop that reads the status and progress of every watched task in a single query. Timers run
 * only while someone watches; a thousand clients cost one query per `pollMs` and one timer of each kind.
 */
export class TaskEvents {
  private readonly watched = new Map<string, Watched>();
  private readonly streams = new Set<LiveStream>();
  private pollTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private polling = false;
  private closed = false;

  constructor(private readonly o: TaskEventsOptions) {}

  get watchers(): number {
    let n = 0;
    for (const w of this.watched.values()) n += w.listeners.size;
    return n;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Calls `listener` with the task each time it reaches a state newer than `knownId` (the state the
   * caller already has), until the returned function is called.
   */
  watch(taskId: string, listener: Listener, knownId = -1): () => void {
    if (this.closed) return () => undefined;
    let entry = this.watched.get(taskId);
    if (!entry) {
      // `known` is what the listeners were told; a later watcher sends its own first state itself.
      entry = { listeners: new Set(), known: knownId, reading: false, readAgain: false };
      this.watched.set(taskId, entry);
    }
    entry.listeners.add(listener);
    this.armPolling();
    return () => {
      const current = this.watched.get(taskId);
      if (!current) return;
      current.listeners.delete(listener);
      if (current.listeners.size === 0) this.watched.delete(taskId);
      if (this.watched.size === 0) this.stopPolling();
    };
  }

  /** A task changed in this process: tell its watchers now. Costs nothing when nobody watches it. */
  notify(taskId: string): void {
    if (this.watched.has(taskId)) this.read(taskId);
  }

  /** Registers a stream for heartbeats and for being ended at shutdown. */
  attach(stream: LiveStream): () => void {
    if (this.closed) {
      stream.close();
      return () => undefined;
    }
    this.streams.add(stream);
    if (!this.heartbeatTimer) {
      this.heartbeatTimer = setInterval(() => {
        for (const s of this.streams) s.heartbeat();
      }, this.o.heartbeatMs);
      this.heartbeatTimer.unref();
    }
    return () => {
      this.streams.delete(stream);
      if (this.streams.size === 0) {
        clearInterval(this.heartbeatTimer);
        this.heartbeatTimer = undefined;
      }
    };
  }

  /** Ends every stream (clients reconnect elsewhere with Last-Event-ID) and stops the timers. */
  close(): void {
    this.closed = true;
    for (const s of [...this.streams]) s.close();
    this.streams.clear();
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    this.stopPolling();
    this.watched.clear();
  }

  /** Reads the whole task and hands it to the watchers if it is newer than what they were told; coalesced per task. */
  private read(taskId: string): void {
    const entry = this.watched.get(taskId);
    if (!entry) return;
    if (entry.reading) {
      entry.readAgain = true;
      return;
    }
    entry.reading = true;
    void (async () => {
      try {
        do {
          entry.readAgain = false;
          const task = await this.o.store.getTask(taskId);
          if (!task || this.watched.get(taskId) !== entry) return;
          const id = eventId(task);
          if (id <= entry.known) continue;
          entry.known = id;
          for (const listener of [...entry.listeners]) {
            try {
              listener(task);
            } catch (err) {
              this.o.logger.warn({ err, task: taskId }, 'task event listener failed');
            }
          }
        } while (entry.readAgain);
      } catch (err) {
        this.o.logger.warn({ err, task: taskId }, 'could not read a watched task');
      } finally {
        entry.reading = false;
      }
    })();
  }

  private armPolling(): void {
    if (this.pollTimer || this.closed) return;
    this.pollTimer = setInterval(() => void this.poll(), this.o.pollMs);
    this.pollTimer.unref();
  }

  private stopPolling(): void {
    clearInterval(this.pollTimer);
    this.pollTimer = undefined;
  }

  /** One query for every watched task; only the ones that moved on are read in full. */
  private async poll(): Promise<void> {
    if (this.polling || this.watched.size === 0) return;
    this.polling = true;
    try {
      const states = await this.o.store.getTaskStates([...this.watched.keys()]);
      for (const state of states) {
        const entry = this.watched.get(state.id);
        if (entry && eventId(state) > entry.known) this.read(state.id);
      }
    } catch (err) {
      this.o.logger.warn({ err }, 'could not poll watched tasks');
    } finally {
      this.polling = false;
    }
  }
}
