import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = join(ROOT, 'src/cli/main.ts');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves once stderr matches (rejects if the process ends first). */
  waitForStderr(pattern: RegExp): Promise<RegExpMatchArray>;
  done: Promise<CliResult>;
}

/** The environment a CLI child sees: the test's own, without any client settings of the machine. */
export function cliEnv(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const base = { ...process.env };
  for (const name of ['VIDGATE_BASE_URL', 'VIDGATE_API_KEY', 'APIMART_API_KEY', 'VIDGATE_DEBUG']) delete base[name];
  return { ...base, ...env };
}

/** `node --import tsx src/cli/main.ts …`, run from the repository (or from `cwd`, with tsx found by path). */
export function spawnCli(args: string[], env: Record<string, string | undefined>, cwd = ROOT): CliProcess {
  const loader = cwd === ROOT ? 'tsx' : pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;
  const child = spawn(process.execPath, ['--import', loader, cwd === ROOT ? 'src/cli/main.ts' : MAIN, ...args], {
    cwd,
    env: cliEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const waiters: Array<() => void> = [];
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => {
    stderr += c.toString();
    for (const w of [...waiters]) w();
  });
  const done = new Promise<CliResult>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  const waitForStderr = (pattern: RegExp) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = () => {
        const match = pattern.exec(stderr);
        if (match) {
          waiters.splice(waiters.indexOf(check), 1);
          resolve(match);
        }
      };
      waiters.push(check);
      check();
      done.then(() => reject(new Error(`the CLI exited before stderr matched ${pattern}; stderr: ${stderr}`)));
    });
  return { child, stdout: () => stdout, stderr: () => stderr, waitForStderr, done };
}

export const runCli = (args: string[], env: Record<string, string | undefined>, cwd?: string) => spawnCli(args, env, cwd).done;

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** `script` from util-linux gives the CLI a pseudo-terminal; null when it is not installed. */
export const hasScript = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;

/** Runs the CLI attached to a pseudo-terminal (stdout and stderr both go to it). */
export function runCliInTerminal(args: string[], env: Record<string, string | undefined>): Promise<{ code: number | null; output: string }> {
  const command = ['node', '--import', 'tsx', 'src/cli/main.ts', ...args].map(quote).join(' ');
  const child = spawn('script', ['-qec', command, '/dev/null'], {
    cwd: ROOT,
    env: cliEnv({ ...env, PATH: `${join(process.execPath, '..')}:${process.env.PATH}` }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, output })));
}
