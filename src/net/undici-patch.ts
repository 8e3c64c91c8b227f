import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * undici 7 crashes the whole process, uncatchably, when a peer closes the connection while a
 * response body is under backpressure (nodejs/undici#5360; fixed only in undici 8, which needs
 * Node 22). `patches/undici+7.30.2.patch`, applied by `npm ci` through patch-package, fixes the
 * parser. Without it any media host or upstream could take vidgate down, so the server refuses to
 * start on an unpatched copy (installed with --ignore-scripts, or a different undici version).
 */
const MARKER = 'drainOnSocketEnd';

export function undiciParserFile(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('undici')), 'lib', 'dispatcher', 'client-h1.js');
}

export function assertUndiciPatched(file = undiciParserFile()): void {
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read undici's HTTP/1 parser at ${file}: ${(err as Error).message}`);
  }
  if (!source.includes(MARKER)) {
    throw new Error(
      `undici at ${file} lacks vidgate's fix for nodejs/undici#5360 (a peer closing a paused response crashes the process): ` +
        'run `npm ci` (or `npx patch-package`) so that patches/undici+*.patch is applied',
    );
  }
}
