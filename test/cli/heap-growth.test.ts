import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { applyHeapGrowth } from '../../src/cli/heap-growth.js';
import { loadConfig } from '../../src/config/env.js';

const run = promisify(execFile);
const MODULE = fileURLToPath(new URL('../../src/cli/heap-growth.ts', import.meta.url));

/**
 * A child that keeps some MB live while it churns objects that live just long enough to be promoted
 * (a ring of the last 100 000), then die: the pattern of a gateway's in-flight work. Prints the most
 * heap it ever used, in MB (V8's own rule: ~190 MB here; 20 %: ~80 MB).
 */
const CHURN = `
  const { applyHeapGrowth } = await import(${JSON.stringify(MODULE)});
  applyHeapGrowth(Number(process.argv[1]), { execArgv: [], nodeOptions: '' });
  const live = Array.from({ length: 8 }, () => Array.from({ length: 32768 }, (_, i) => ({ i })));
  const ring = new Array(100000);
  let most = 0;
  for (let n = 0; n < 3000000; n++) {
    ring[n % ring.length] = { n, text: 'x'.repeat(64) + n, list: [n, n + 1, n + 2] };
    if (n % 2000 === 0) most = Math.max(most, process.memoryUsage().heapUsed);
  }
  console.log(live.length && most / 1048576);
`;

async function mostHeapMb(percent: number): Promise<number> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHURN, String(percent)], { timeout: 60_000 });
  return Number(stdout.trim());
}

describe('heap growth of vidgate serve', () => {
  it('collects promoted garbage sooner than V8 would on its own', async () => {
    const [own, tight] = [await mostHeapMb(0), await mostHeapMb(20)];
    expect(tight).toBeLessThan(own * 0.6);
  });

  it('leaves the heap to the operator who gave node the flag, and to V8 at 0', () => {
    expect(applyHeapGrowth(0, { execArgv: [], nodeOptions: undefined })).toBeNull();
    expect(applyHeapGrowth(50, { execArgv: ['--heap-growing-percent=80'], nodeOptions: undefined })).toBeNull();
    expect(applyHeapGrowth(50, { execArgv: [], nodeOptions: '--max-old-space-size=512 --heap-growing-percent=30' })).toBeNull();
    expect(applyHeapGrowth(50, { execArgv: ['--max-old-space-size=512'], nodeOptions: '' })).toBe('--heap-growing-percent=50');
  });

  it('is configured by VIDGATE_HEAP_GROWING_PERCENT, 50 by default', () => {
    expect(loadConfig({}).heapGrowingPercent).toBe(50);
    expect(loadConfig({ VIDGATE_HEAP_GROWING_PERCENT: '0' }).heapGrowingPercent).toBe(0);
    expect(() => loadConfig({ VIDGATE_HEAP_GROWING_PERCENT: '-5' })).toThrow(/VIDGATE_HEAP_GROWING_PERCENT/);
  });
});
