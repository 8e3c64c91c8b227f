import type { Logger } from 'pino';
import type { LeaseGuard, TaskQueueStore } from '../store/types.js';

/** How often buffered progress reports are written, in one transaction. */
const FLUSH_MS = 250;

/**
 * Progress as whole percents that only rise, written in batches: thousands of tasks reporting every
 * few seconds cost one transaction per quarter second, not one write each.
 */
export class ProgressWriter {
  private readonly pending = new Map<string, { guard: LeaseGuard; progress: number }>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly o: {
      store: TaskQueueStore;
      logger: Logger;
      /** Reports for tasks this process no longer holds are dropped. */
      isHeld: (taskId: string) => boolean;
      onWritten: (taskId: string) => void;
    },
  ) {}

  /** A reporter for one task: 0..1, kept when it rose by a whole percent (1..99). */
  reporter(guard: LeaseGuard): (fraction: number) => void {
    let last = 0;
    return (fraction) => {
      last = this.report(guard.id, guard.owner, fraction, last);
    };
  }

  /**
   * One report of a task whose last kept percent was `last` (0: none yet); answers the percent now
   * kept. For holders of many tasks (parked ones) that keep `last` themselves instead of a reporter each.
   */
  report(id: string, owner: string, fraction: number, last: number): number {
    const percent = Math.min(99, Math.max(1, Math.floor(fraction * 99)));
    if (percent <= last || !this.o.isHeld(id)) return last;
    this.pending.set(id, { guard: { id, owner }, progress: percent });
    this.timer ??= setTimeout(() => void this.flush(), FLUSH_MS);
    return percent;
  }

  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.size === 0) return;
    const updates = [...this.pending.values()];
    this.pending.clear();
    try {
      for (const id of await this.o.store.reportProgressMany(updates)) this.o.onWritten(id);
    } catch (err) {
      this.o.logger.warn({ err }, 'progress write failed');
    }
  }
}
