import { setFlagsFromString } from 'node:v8';

const FLAG = '--heap-growing-percent';

/**
 * How far V8 lets the old space grow past what the last full GC kept before it collects again.
 * Its own rule lets a heap with a 4 GB limit grow to 4× its live size: a gateway with 10 000
 * upstream tasks in flight kept ~35 MB live but reached ~110 MB of heap (and ~245 MB RSS) before
 * its first full GC of the run (BENCHMARKS.md, "Upstream polling at scale"). The flag is read at
 * every GC, so setting it once at start is enough; it limits nothing, it only collects sooner.
 *
 * Returns the flag applied, or null when left to V8: `percent` 0, or the operator gave the flag
 * to node itself (command line or NODE_OPTIONS), which wins.
 */
export function applyHeapGrowth(
  percent: number,
  node: { execArgv: readonly string[]; nodeOptions: string | undefined } = { execArgv: process.execArgv, nodeOptions: process.env.NODE_OPTIONS },
): string | null {
  if (percent === 0) return null;
  const given = [...node.execArgv, ...(node.nodeOptions ?? '').split(/\s+/)].some((arg) => arg === FLAG || arg.startsWith(`${FLAG}=`));
  if (given) return null;
  const flag = `${FLAG}=${percent}`;
  setFlagsFromString(flag);
  return flag;
}
