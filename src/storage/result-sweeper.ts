import type { Logger } from 'pino';
import type { TaskQueueStore } from '../store/types.js';
import type { ResultStorage } from './result-storage.js';

/** Deletes result files once their signed URLs expired; the task keeps its record. */
export class ResultSweeper {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: TaskQueueStore,
    private readonly storage: ResultStorage,
    private readonly clock: () => number,
    private readonly logger: Logger,
  ) {}

  async sweepOnce(): Promise<number> {
    let collected = 0;
    for (;;) {
      const batch = await this.store.listExpiredResults(this.clock(), 100);
      for (const task of batch) {
        await this.storage.removeTask(task.id);
        await this.store.markResultsCollected(task.id);
        collected++;
      }
      if (batch.length < 100) break;
    }
    if (collected) this.logger.info({ collected }, 'expired results collected');
    return collected;
  }

  start(intervalMs: number): void {
    const run = () => this.sweepOnce().catch((err) => this.logger.error({ err }, 'result sweep failed'));
    void run();
    this.timer = setInterval(run, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
