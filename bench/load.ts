/**
 * Load generation in a separate process, so the client never competes with the server under test
 * for the same event loop. The parent calls `runLoad`; the same file, forked, is the child.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

export interface LoadSpec {
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  connections: number;
  durationSeconds: number;
  /** Requests per second over all connections; omitted = as fast as the server answers. */
  overallRate?: number;
}

export interface LoadResult {
  /** Completed responses per second over the run (all status codes). */
  rps: number;
  total: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  /** autocannon's own percentiles (whole ms; corrected for coordinated omission when rate-limited). */
  p50: number;
  p99: number;
  /** The same run, from every raw 2xx response time (sub-ms, no correction). */
  rawP50: number;
  rawP99: number;
  rawMax: number;
  /** CPU time of the process under test per response (µs), filled in by the caller when it can. */
  serverCpuUs?: number;
  /** Event-loop delay of the process under test during the run (ms), filled in by the caller. */
  loopDelayP99Ms?: number;
  loopDelayMaxMs?: number;
}

const SELF = fileURLToPath(import.meta.url);

/** Runs one autocannon load in a child process and returns its summary. */
export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    // Inherits execArgv, so the child runs under the same tsx loader as the parent.
    const child = fork(SELF, ['--load-child'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let settled = false;
    child.once('message', (msg: { ok: true; result: LoadResult } | { ok: false; error: string }) => {
      settled = true;
      if (msg.ok) resolve(msg.result);
      else reject(new Error(`load generator failed: ${msg.error}`));
    });
    child.once('error', (err) => {
      if (!settled) reject(err);
      settled = true;
    });
    child.once('exit', (code) => {
      if (!settled) reject(new Error(`load generator exited with code ${code} before reporting`));
    });
    child.send(spec);
  });
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

function childMain(): void {
  process.once('message', (spec: LoadSpec) => {
    const latencies: number[] = [];
    const instance = autocannon(
      {
        url: spec.url,
        method: spec.method ?? 'GET',
        headers: spec.headers,
        body: spec.body,
        connections: spec.connections,
        duration: spec.durationSeconds,
        ...(spec.overallRate ? { overallRate: spec.overallRate } : {}),
      },
      (err, result) => {
        if (err) {
          process.send!({ ok: false, error: err.message }, () => process.exit(0));
          return;
        }
        const sorted = Float64Array.from(latencies).sort();
        const statusCodes: Record<string, number> = {};
        for (const [code, stat] of Object.entries(result.statusCodeStats)) statusCodes[code] = stat.count;
        const total = Object.values(statusCodes).reduce((a, b) => a + b, 0);
        const summary: LoadResult = {
          rps: total / result.duration,
          total,
          non2xx: result.non2xx,
          errors: result.errors,
          timeouts: result.timeouts,
          statusCodes,
          p50: result.latency.p50,
          p99: result.latency.p99,
          rawP50: percentile(sorted, 50),
          rawP99: percentile(sorted, 99),
          rawMax: sorted.length ? sorted[sorted.length - 1]! : NaN,
        };
        process.send!({ ok: true, result: summary }, () => process.exit(0));
      },
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
    });
  });
}

if (process.argv.includes('--load-child')) childMain();
