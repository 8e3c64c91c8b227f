import type { RateWindowStore } from '../rate-window-store.js';
import type { PgConnection } from './connection.js';

/** Windows long past are deleted by every this-many-th flush of a process. */
const SWEEP_EVERY = 500;
/** Allowances for creating work are counted exactly: few requests, low limits, money behind them. */
const EXACT_PREFIX = 'create:';
/** How long the counts of the other allowances wait in memory before they are added to the shared ones. */
const FLUSH_MS = 100;

interface LocalWindow {
  startedAt: number;
  /** The shared count as last read, this process's flushed requests included. */
  shared: number;
  /** Sent with the flush under way, not yet in `shared`. */
  sending: number;
  /** Counted here since. */
  pending: number;
}

const UPSERT = `INSERT INTO rate_windows AS w (key, started_at, count)
  SELECT * FROM unnest($1::text[], $2::bigint[], $3::int[])
  ON CONFLICT (key) DO UPDATE SET
    count = CASE WHEN w.started_at + $4 <= excluded.started_at THEN excluded.count ELSE w.count + excluded.count END,
    started_at = CASE WHEN w.started_at + $4 <= excluded.started_at THEN excluded.started_at ELSE w.started_at END
  RETURNING key, count, started_at`;

/**
 * Rate windows in an UNLOGGED table: counters need no crash safety (a restart forgets at most one
 * window), and writes to it skip the WAL and the commit flush every other write pays. Submits count
 * with one upsert each, so a key's allowance for creating work is exact across instances. Reads
 * (status polls, downloads) are counted in memory and added to the shared count every 100 ms in one
 * statement for all keys, so a poll costs no extra round trip; across instances their allowance may
 * then be exceeded by what the others counted in the last 100 ms.
 */
export class PgRateWindows implements RateWindowStore {
  private readonly local = new Map<string, LocalWindow>();
  private timer: NodeJS.Timeout | undefined;
  private flushes = 0;
  private windowMs = 60_000;

  constructor(private readonly connection: PgConnection) {}

  async countRequest(key: string, windowMs: number, now: number): Promise<{ count: number; resetInMs: number }> {
    if (key.startsWith(EXACT_PREFIX)) return this.countExactly(key, windowMs, now);
    this.windowMs = windowMs;
    let window = this.local.get(key);
    if (!window || window.startedAt + windowMs <= now) {
      window = { startedAt: now, shared: 0, sending: 0, pending: 0 };
      this.local.set(key, window);
    }
    window.pending++;
    this.timer ??= setTimeout(() => void this.flush(), FLUSH_MS).unref();
    return { count: window.shared + window.sending + window.pending, resetInMs: window.startedAt + windowMs - now };
  }

  async peekRequests(key: string, windowMs: number, now: number): Promise<{ count: number; resetInMs: number }> {
    const window = this.local.get(key);
    if (window && window.startedAt + windowMs > now) {
      return { count: window.shared + window.sending + window.pending, resetInMs: window.startedAt + windowMs - now };
    }
    const row = await this.connection.row<{ count: number; started_at: number }>('SELECT count, started_at FROM rate_windows WHERE key = $1', [key]);
    if (!row || row.started_at + windowMs <= now) return { count: 0, resetInMs: 0 };
    return { count: row.count, resetInMs: row.started_at + windowMs - now };
  }

  /** Adds what was counted here to the shared windows and reads back their totals (the other instances' too). */
  async flush(now = Date.now()): Promise<void> {
    this.timer = undefined;
    const batch = [...this.local].filter(([, w]) => w.pending > 0);
    for (const [key, window] of this.local) if (window.pending === 0 && window.sending === 0 && window.startedAt + this.windowMs <= now) this.local.delete(key);
    if (batch.length === 0) return;
    for (const [, window] of batch) {
      window.sending += window.pending;
      window.pending = 0;
    }
    try {
      const rows = await this.connection.rows<{ key: string; count: number; started_at: number }>(UPSERT, [
        batch.map(([key]) => key),
        batch.map(([, w]) => w.startedAt),
        batch.map(([, w]) => w.sending),
        this.windowMs,
      ]);
      const totals = new Map(rows.map((r) => [r.key, r]));
      for (const [key, window] of batch) {
        const total = totals.get(key);
        if (total) {
          window.shared = total.count;
          window.startedAt = total.started_at;
        }
        window.sending = 0;
      }
    } catch {
      // Counted again with the next flush; meanwhile the local counts still limit.
      for (const [, window] of batch) {
        window.pending += window.sending;
        window.sending = 0;
      }
    }
    if (++this.flushes % SWEEP_EVERY === 0) {
      this.connection.run('DELETE FROM rate_windows WHERE started_at < $1', [now - 24 * 3600 * 1000]).catch(() => undefined);
    }
    if (this.local.size > 0 && [...this.local.values()].some((w) => w.pending > 0)) this.timer ??= setTimeout(() => void this.flush(), FLUSH_MS).unref();
  }

  private async countExactly(key: string, windowMs: number, now: number): Promise<{ count: number; resetInMs: number }> {
    const [row] = await this.connection.rows<{ key: string; count: number; started_at: number }>(UPSERT, [[key], [now], [1], windowMs]);
    return { count: row!.count, resetInMs: row!.started_at + windowMs - now };
  }
}
