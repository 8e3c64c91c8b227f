import type { RateWindowStore } from '../rate-window-store.js';
import type { PgConnection } from './connection.js';

/** Windows long past are deleted by every this-many-th request of a process. */
const SWEEP_EVERY = 5000;

/**
 * Rate windows in an UNLOGGED table: counters need no crash safety (a restart forgets at most one
 * window), and writes to it skip the WAL and the commit flush every other write pays.
 */
export class PgRateWindows implements RateWindowStore {
  private requests = 0;

  constructor(private readonly connection: PgConnection) {}

  async countRequest(key: string, windowMs: number, now: number): Promise<{ count: number; resetInMs: number }> {
    if (++this.requests % SWEEP_EVERY === 0) {
      this.connection.run('DELETE FROM rate_windows WHERE started_at < $1', [now - 24 * 3600 * 1000]).catch(() => undefined);
    }
    const row = (await this.connection.row<{ count: number; started_at: number }>(
      `INSERT INTO rate_windows AS w (key, started_at, count) VALUES ($1, $2, 1)
       ON CONFLICT (key) DO UPDATE SET
         count = CASE WHEN w.started_at + $3 <= $2 THEN 1 ELSE w.count + 1 END,
         started_at = CASE WHEN w.started_at + $3 <= $2 THEN $2 ELSE w.started_at END
       RETURNING count, started_at`,
      [key, now, windowMs],
    ))!;
    return { count: row.count, resetInMs: row.started_at + windowMs - now };
  }

  async peekRequests(key: string, windowMs: number, now: number): Promise<{ count: number; resetInMs: number }> {
    const row = await this.connection.row<{ count: number; started_at: number }>('SELECT count, started_at FROM rate_windows WHERE key = $1', [key]);
    if (!row || row.started_at + windowMs <= now) return { count: 0, resetInMs: 0 };
    return { count: row.count, resetInMs: row.started_at + windowMs - now };
  }
}
