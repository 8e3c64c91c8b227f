import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { testStoreEnv } from './test-store.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface LogLine {
  msg?: string;
  task?: string;
  [field: string]: unknown;
}

export interface ServerProcess {
  child: ChildProcess;
  baseUrl: string;
  logs: LogLine[];
  /** Resolves with the first log line (past or future) that matches. */
  waitForLog(match: (line: LogLine) => boolean): Promise<LogLine>;
  exited: Promise<number | null>;
}

/** `vidgate serve` as a real child process, the way an operator runs it. */
export async function startServerProcess(env: Record<string, string>, opts: { preload?: string[] } = {}): Promise<ServerProcess> {
  const preload = (opts.preload ?? []).flatMap((file) => ['--import', file]);
  const child = spawn(process.execPath, ['--import', 'tsx', ...preload, 'src/cli/main.ts', 'serve'], {
    cwd: ROOT,
    env: {
      ...process.env,
      VIDGATE_HOST: '127.0.0.1',
      VIDGATE_PORT: '0',
      VIDGATE_LOG_LEVEL: 'info',
      ...(env.VIDGATE_DATA_DIR ? await testStoreEnv(env.VIDGATE_DATA_DIR) : {}),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogLine[] = [];
  const waiters: Array<{ match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }> = [];
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  createInterface({ input: child.stdout! }).on('line', (text) => {
    let line: LogLine;
    try {
      line = JSON.parse(text);
    } catch {
      return;
    }
    logs.push(line);
    for (const w of [...waiters]) {
      if (w.match(line)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const waitForLog = (match: (l: LogLine) => boolean) =>
    new Promise<LogLine>((resolve, reject) => {
      const seen = logs.find(match);
      if (seen) return resolve(seen);
      waiters.push({ match, resolve });
      exited.then((code) => reject(new Error(`server exited (${code}) before the expected log line; stderr: ${stderr.slice(-2000)}`)));
    });
  const ready = await waitForLog((l) => l.msg?.startsWith('vidgate listening') ?? false);
  return { child, baseUrl: String(ready.address), logs, waitForLog, exited };
}
