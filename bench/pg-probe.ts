/**
 * What the PostgreSQL benchmarks look at besides the HTTP answers: the round trips a process makes
 * (every `pg.Client#query`, which the pool and transactions go through) and the CPU of the server's
 * processes, which share the machine's cores with vidgate.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';

export interface QueryCounts {
  total: number;
  /** Statement (whitespace folded, cut to 90 characters) → how many times it ran. */
  byStatement: Record<string, number>;
}

const label = (text: string) => text.replace(/\s+/g, ' ').trim().slice(0, 90);

let installed: Map<string, number> | null = null;

/**
 * Counts every query of every pg client of this process from now on. Patched on the prototype, so it
 * sees vidgate's pool and the floors' alike without touching src/; a Map increment per query costs
 * well under a µs, the same for both.
 */
export function countPgQueries(): { read(): QueryCounts; reset(): void } {
  if (!installed) {
    const counts = new Map<string, number>();
    const original = pg.Client.prototype.query as (...args: unknown[]) => unknown;
    (pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown }).query = function (this: pg.Client, ...args: unknown[]) {
      const first = args[0];
      const text = typeof first === 'string' ? first : ((first as { text?: string } | null)?.text ?? '?');
      counts.set(text, (counts.get(text) ?? 0) + 1);
      return original.apply(this, args);
    };
    installed = counts;
  }
  const counts = installed;
  return {
    read: () => {
      const byStatement: Record<string, number> = {};
      let total = 0;
      for (const [text, n] of counts) {
        const key = label(text);
        byStatement[key] = (byStatement[key] ?? 0) + n;
        total += n;
      }
      return { total, byStatement };
    },
    reset: () => counts.clear(),
  };
}

/** The difference of two readings, per request. */
export function perRequest(before: QueryCounts, after: QueryCounts, requests: number): { total: number; byStatement: Array<[string, number]> } {
  const byStatement: Array<[string, number]> = [];
  for (const [text, n] of Object.entries(after.byStatement)) {
    const d = n - (before.byStatement[text] ?? 0);
    if (d > 0) byStatement.push([text, d / requests]);
  }
  byStatement.sort((a, b) => b[1] - a[1]);
  return { total: (after.total - before.total) / requests, byStatement };
}

async function ticksOf(pid: number, withChildren: boolean): Promise<number> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8');
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // Fields from 3 on: utime 14, stime 15, cutime 16, cstime 17.
  const own = Number(f[14 - 3]) + Number(f[15 - 3]);
  return withChildren ? own + Number(f[16 - 3]) + Number(f[17 - 3]) : own;
}

/**
 * CPU ticks of one PostgreSQL server: the postmaster with what it reaped (backends that ended) plus
 * every child alive now, so the sum only grows. Children are found by parent pid in /proc.
 */
export async function postgresServerTicks(postmasterPid: number): Promise<number> {
  let total = await ticksOf(postmasterPid, true);
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(join('/proc', entry, 'stat'), 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === postmasterPid) total += await ticksOf(Number(entry), false);
    } catch {
      // the process ended between readdir and the read
    }
  }
  return total;
}

/** The postmaster's pid, from postmaster.pid in the data directory the server reports. */
export async function postmasterPid(adminUrl: string): Promise<number> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ data_directory: string }>('SHOW data_directory');
    const text = await readFile(join(rows[0]!.data_directory, 'postmaster.pid'), 'utf8');
    return Number(text.split('\n', 1)[0]);
  } finally {
    await client.end();
  }
}
