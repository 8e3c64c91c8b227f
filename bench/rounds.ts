import type { LoadResult } from './load.js';

/** The median, the middle of the sorted values (the mean of the two middle ones for an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Several max-rate rounds of one target, summarised by their medians. */
export interface Combined extends LoadResult {
  roundsRps: number[];
}

export function combine(runs: LoadResult[]): Combined {
  const mid = (pick: (r: LoadResult) => number) => median(runs.map(pick));
  const sum = (pick: (r: LoadResult) => number) => runs.reduce((acc, r) => acc + pick(r), 0);
  const statusCodes: Record<string, number> = {};
  for (const r of runs) for (const [code, n] of Object.entries(r.statusCodes)) statusCodes[code] = (statusCodes[code] ?? 0) + n;
  return {
    rps: mid((r) => r.rps),
    total: sum((r) => r.total),
    non2xx: sum((r) => r.non2xx),
    errors: sum((r) => r.errors),
    timeouts: sum((r) => r.timeouts),
    statusCodes,
    p50: mid((r) => r.p50),
    p99: mid((r) => r.p99),
    rawP50: mid((r) => r.rawP50),
    rawP99: mid((r) => r.rawP99),
    rawMax: Math.max(...runs.map((r) => r.rawMax)),
    serverCpuUs: mid((r) => r.serverCpuUs ?? NaN),
    loopDelayP99Ms: mid((r) => r.loopDelayP99Ms ?? NaN),
    loopDelayMaxMs: Math.max(...runs.map((r) => r.loopDelayMaxMs ?? NaN)),
    roundsRps: runs.map((r) => r.rps),
  };
}
