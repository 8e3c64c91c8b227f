import type { SqliteConnection } from './connection.js';

interface Waiting<I, O> {
  item: I;
  resolve: (outcome: O) => void;
  reject: (error: unknown) => void;
}

/**
 * Writes arriving in the same turn of the event loop share one write transaction, in arrival order,
 * so the commit cost is paid once for the group. An error thrown by one write rejects that write
 * only; `writeOne` runs it in a savepoint when what it did must roll back alone.
 */
export class GroupCommit<I, O> {
  private readonly waiting: Array<Waiting<I, O>> = [];

  constructor(
    private readonly connection: SqliteConnection,
    private readonly writeOne: (item: I) => O,
  ) {}

  write(item: I): Promise<O> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      if (this.waiting.length === 1) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    const batch = this.waiting.splice(0);
    const outcomes: Array<{ ok: true; value: O } | { ok: false; error: unknown }> = [];
    try {
      this.connection.writeTransaction(() => {
        for (const waiting of batch) {
          try {
            outcomes.push({ ok: true, value: this.writeOne(waiting.item) });
          } catch (error) {
            outcomes.push({ ok: false, error });
          }
        }
      });
    } catch (error) {
      for (const waiting of batch) waiting.reject(error);
      return;
    }
    batch.forEach((waiting, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) waiting.resolve(outcome.value);
      else waiting.reject(outcome.error);
    });
  }
}
