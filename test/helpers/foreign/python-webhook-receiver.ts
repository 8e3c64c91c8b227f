import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { receivedDelivery, type Action, type Received, type Receiver } from '../../webhooks/receiver.js';
import { killWithParent, stopChild, type PythonProtocol } from './python-http.js';

/**
 * The webhook receiver of test/webhooks/receiver.ts, with the HTTP side played by Python's
 * http.server (webhook_receiver.py): Python reads the request and writes the answer, this side only
 * records what Python saw and decides the status, so a delivery only counts if a server we did not
 * write could read it. Signatures are checked here, on the exact bytes Python received.
 */

const SCRIPT = fileURLToPath(new URL('./webhook_receiver.py', import.meta.url));

interface Seen {
  n: number;
  method: string;
  path: string;
  version: string;
  headers: Array<[string, string]>;
  body_b64: string;
}

export interface PythonReceiver extends Receiver {
  protocol: PythonProtocol;
  /** HTTP method, path and client HTTP version of each request, as Python parsed them. */
  readonly requestLines: string[];
  /** True while the process runs. */
  alive(): boolean;
}

export async function startPythonReceiver(
  respond: (r: Received) => Action = () => ({ status: 200 }),
  opts: { protocol?: PythonProtocol } = {},
): Promise<PythonReceiver> {
  const protocol = opts.protocol ?? 'HTTP/1.0';
  const child = spawn('python3', ['-u', SCRIPT, protocol], { stdio: ['pipe', 'pipe', 'pipe'] });
  const stopOnExit = killWithParent(child);
  // Only the end of it, for the error if the script dies: its request log goes there too.
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-4096)));
  // Answers written after the process is gone are moot; the write error must not crash the test.
  child.stdin!.on('error', () => {});
  const received: Received[] = [];
  const requestLines: string[] = [];
  const waiters: Array<{ match: (r: Received) => boolean; resolve: (r: Received) => void }> = [];
  const hung = new Set<number>();
  const state = { secrets: [] as string[] };

  const onRequest = (seen: Seen) => {
    const header = (name: string) => seen.headers.find(([k]) => k.toLowerCase() === name)?.[1];
    const body = Buffer.from(seen.body_b64, 'base64').toString('utf8');
    const r = receivedDelivery({ n: received.length + 1, body, header }, state.secrets);
    received.push(r);
    requestLines.push(`${seen.method} ${seen.path} ${seen.version}`);
    const action = respond(r);
    if (action === 'hang') hung.add(seen.n);
    child.stdin!.write(`${JSON.stringify(action === 'hang' ? { n: seen.n, hang: true } : { n: seen.n, ...action })}\n`);
    for (const w of [...waiters]) {
      if (w.match(r)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(r);
      }
    }
  };

  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', (err) => reject(new Error(`${SCRIPT} did not start: ${err.message}`)));
    child.once('exit', (code, signal) => reject(new Error(`${SCRIPT} exited (${code ?? signal}): ${stderr.trim()}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const message = JSON.parse(line) as Seen | { listening: number };
      if ('listening' in message) resolve(message.listening);
      else onRequest(message);
    });
  });

  return {
    protocol,
    url: `http://127.0.0.1:${port}/hook`,
    received,
    requestLines,
    get secrets() {
      return state.secrets;
    },
    set secrets(value: string[]) {
      state.secrets = value;
    },
    // Python never answers a request it was told to hang on: those are the ones still waiting (unlike the
    // Node receiver, one the sender gave up on still counts).
    get hanging() {
      return hung.size;
    },
    waitFor: (match) =>
      new Promise((resolve) => {
        const seen = received.find(match);
        if (seen) return resolve(seen);
        waiters.push({ match, resolve });
      }),
    alive: () => child.exitCode === null && child.signalCode === null,
    close: async () => {
      stopOnExit();
      await stopChild(child);
    },
  };
}
