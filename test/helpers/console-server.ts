import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestApp, TEST_KEY, type TestApp } from './test-app.js';

/**
 * The web console as a browser meets it: the Vite build of console/ served by a real vidgate on
 * 127.0.0.1 (VIDGATE_CONSOLE_DIR), in this process, so a test can also reach into the app.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CONSOLE_SOURCE_DIR = join(ROOT, 'console');
export const CONSOLE_VITE_CONFIG = join(CONSOLE_SOURCE_DIR, 'vite.config.ts');

/** The admin API's bearer token in every console server. */
export const CONSOLE_ADMIN_TOKEN = 'admin-token-for-console-tests';

/**
 * Builds per output directory, kept on globalThis so that a test file re-evaluating this module in
 * the same worker process still finds the build made before it.
 */
const builds: Map<string, Promise<string>> = ((globalThis as { __vidgateConsoleBuilds?: Map<string, Promise<string>> }).__vidgateConsoleBuilds ??= new Map());
let defaultOutDir: Promise<string> | undefined;

/**
 * Builds console/ with Vite (its own console/vite.config.ts) into `outDir`, by default a temporary
 * directory removed when the process exits; returns the directory. Built once per directory and
 * process: later calls return the same build. A failed build is not kept, so the next call retries.
 */
export async function buildConsole(outDir?: string): Promise<string> {
  const dir = outDir ? resolve(outDir) : await (defaultOutDir ??= makeDefaultOutDir());
  let built = builds.get(dir);
  if (!built) {
    built = runViteBuild(dir);
    builds.set(dir, built);
    built.catch(() => builds.delete(dir));
  }
  return built;
}

async function makeDefaultOutDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'vidgate-console-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function runViteBuild(outDir: string): Promise<string> {
  // Loaded here, not at the top: most tests never build the console.
  const { build } = await import('vite');
  await build({ configFile: CONSOLE_VITE_CONFIG, root: CONSOLE_SOURCE_DIR, build: { outDir, emptyOutDir: true }, logLevel: 'warn' });
  return outDir;
}

export interface ConsoleServer {
  /** e.g. http://127.0.0.1:41234, without a trailing slash; the console is at `${url}/`. */
  url: string;
  /** The bootstrap API key (balance as the test app's default). */
  apiKey: string;
  adminToken: string;
  /** The in-process app behind it: its store, dispatcher, `settled(taskId)`, `advanceClock`. */
  testApp: TestApp;
  /** Stops the server (ending its event streams) and removes its data. */
  close(): Promise<void>;
}

export interface ConsoleServerOptions {
  /** The built console to serve; by default buildConsole()'s build. */
  consoleDir?: string;
  /** More settings, e.g. VIDGATE_BOOTSTRAP_BALANCE; they win over the defaults. */
  env?: Record<string, string>;
  /** Run tasks (default true). */
  runDispatcher?: boolean;
}

/** A real vidgate, listening on 127.0.0.1 on a free port, serving the console at `/`. */
export async function startConsoleServer(opts: ConsoleServerOptions = {}): Promise<ConsoleServer> {
  const consoleDir = opts.consoleDir ?? (await buildConsole());
  const testApp = await startTestApp(
    { VIDGATE_HOST: '127.0.0.1', VIDGATE_CONSOLE_DIR: consoleDir, VIDGATE_ADMIN_TOKEN: CONSOLE_ADMIN_TOKEN, ...opts.env },
    { runDispatcher: opts.runDispatcher },
  );
  let address: string;
  try {
    address = await testApp.app.server.listen({ host: '127.0.0.1', port: 0 });
  } catch (error) {
    await testApp.close();
    throw error;
  }
  return { url: address.replace(/\/+$/, ''), apiKey: TEST_KEY, adminToken: CONSOLE_ADMIN_TOKEN, testApp, close: () => testApp.close() };
}
