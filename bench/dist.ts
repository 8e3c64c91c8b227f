/**
 * vidgate as `npm start` runs it: the JavaScript tsc writes into dist/, not src/ through tsx (whose
 * transform wraps every function it names, closures made per request included). The benchmark builds
 * it first, so dist/ holds the current src/.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export type BuildOutcome = 'built' | 'built with type errors' | 'failed';

let building: Promise<BuildOutcome> | undefined;

/**
 * The server half of `npm run build` (tsc into dist/; the console's files, which no measurement loads,
 * are left as they are), once per benchmark run. tsc writes the JavaScript even when it reports type
 * errors (exit 2), which is still the current src/ to measure.
 */
export function buildDist(): Promise<BuildOutcome> {
  building ??= new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
      cwd: ROOT,
      stdio: ['ignore', process.stderr, 'inherit'],
    });
    child.once('error', () => resolve('failed'));
    child.once('exit', (code) => resolve(code === 0 ? 'built' : code === 2 ? 'built with type errors' : 'failed'));
  });
  return building;
}

/** createApp and loadConfig of the built server, for the benchmarks that run vidgate in-process. */
export async function builtApp(): Promise<{
  createApp: typeof import('../src/app.js').createApp;
  loadConfig: typeof import('../src/config/env.js').loadConfig;
}> {
  if ((await buildDist()) === 'failed') throw new Error('tsc -p tsconfig.build.json failed: dist/ cannot be measured');
  const app = (await import(pathToFileURL(join(ROOT, 'dist/app.js')).href)) as typeof import('../src/app.js');
  const env = (await import(pathToFileURL(join(ROOT, 'dist/config/env.js')).href)) as typeof import('../src/config/env.js');
  return { createApp: app.createApp, loadConfig: env.loadConfig };
}
