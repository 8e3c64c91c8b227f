import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

/**
 * Python's own `http.server` (`python3 -m http.server`, the standard library's, unchanged) as a child
 * process serving a directory on 127.0.0.1: a peer whose HTTP we did not write. In its default
 * HTTP/1.0 it closes every connection right after the body (FIN while the client may still be
 * applying backpressure, nodejs/undici#5360); in HTTP/1.1 it keeps connections alive.
 */

const PYTHON = 'python3';

export type PythonProtocol = 'HTTP/1.0' | 'HTTP/1.1';
export const PYTHON_PROTOCOLS: readonly PythonProtocol[] = ['HTTP/1.0', 'HTTP/1.1'];

/** One request as the server logged it (`"GET /cat.jpg HTTP/1.1" 200 -`). */
export interface PythonRequest {
  method: string;
  /** Path with its query string. */
  path: string;
  /** The HTTP version the client spoke. */
  version: string;
  status: number;
}

export interface PythonFileServer {
  protocol: PythonProtocol;
  /** `http://127.0.0.1:<port>` */
  baseUrl: string;
  url(name: string): string;
  /** Requests in the order the server logged them. */
  readonly requests: PythonRequest[];
  /** Tracebacks the server printed (a client that hung up mid-body, say), for diagnostics. */
  readonly errors: string[];
  /** Resolves once `count` requests for `path` have been logged. */
  waitForRequests(path: string, count?: number): Promise<void>;
  /** True while the process runs. */
  alive(): boolean;
  close(): Promise<void>;
}

export async function startPythonFileServer(opts: { dir: string; protocol?: PythonProtocol }): Promise<PythonFileServer> {
  const protocol = opts.protocol ?? 'HTTP/1.0';
  // -u: the "Serving HTTP on" line must reach us at once, not when a buffer fills.
  const child = spawn(PYTHON, ['-u', '-m', 'http.server', '--bind', '127.0.0.1', '--directory', opts.dir, '--protocol', protocol, '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stopOnExit = killWithParent(child);
  const requests: PythonRequest[] = [];
  const errors: string[] = [];
  const waiters: Array<{ path: string; count: number; resolve: () => void }> = [];
  const settleWaiters = () => {
    for (const w of [...waiters]) {
      if (requests.filter((r) => r.path === w.path).length >= w.count) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };

  let traceback: string[] | null = null;
  createInterface({ input: child.stderr! }).on('line', (line) => {
    // Request lines look like: 127.0.0.1 - - [01/Dec/2026 21:46:46] "GET /a.txt?x=1 HTTP/1.1" 200 -
    const logged = /\] "(\S+) (\S+) (HTTP\/[\d.]+)" (\d{3}) /.exec(line);
    if (logged) {
      requests.push({ method: logged[1]!, path: logged[2]!, version: logged[3]!, status: Number(logged[4]) });
      settleWaiters();
      return;
    }
    if (line.startsWith('-----')) {
      if (traceback) errors.push(traceback.join('\n'));
      traceback = traceback ? null : [];
    } else traceback?.push(line);
  });

  const port = await new Promise<number>((resolve, reject) => {
    let stderr = '';
    const collect = (d: Buffer) => (stderr += d);
    child.stderr!.on('data', collect);
    const failed = (why: string) => reject(new Error(`python3 -m http.server did not start (${why}): ${stderr.trim()}`));
    child.once('error', (err) => failed(err.message));
    child.once('exit', (code, signal) => failed(`exit ${code ?? signal}`));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const serving = /^Serving HTTP on \S+ port (\d+) /.exec(line);
      if (!serving) return;
      child.stderr!.off('data', collect);
      resolve(Number(serving[1]));
    });
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  return {
    protocol,
    baseUrl,
    url: (name) => `${baseUrl}/${name.replace(/^\/+/, '')}`,
    requests,
    errors,
    waitForRequests: (path, count = 1) =>
      new Promise<void>((resolve) => {
        waiters.push({ path, count, resolve });
        settleWaiters();
      }),
    alive: () => child.exitCode === null && child.signalCode === null,
    close: async () => {
      stopOnExit();
      await stopChild(child);
    },
  };
}

/** Ctrl-C (SIGINT) is how http.server expects to be stopped; SIGKILL only if it does not go. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGINT');
  const forced = setTimeout(() => child.kill('SIGKILL'), 5_000);
  try {
    await exited;
  } finally {
    clearTimeout(forced);
  }
}

/** A test worker that dies must not leave its Python servers behind; returns the unhook. */
export function killWithParent(child: ChildProcess): () => void {
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  child.once('exit', () => process.off('exit', kill));
  return () => process.off('exit', kill);
}
