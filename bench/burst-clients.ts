/**
 * Child process of the burst benchmark (bench/burst.ts): N clients, each on its own keep-alive TCP
 * connection, all opened in the same turn of the event loop (a burst of N SYNs at the server's listen
 * queue), each then polling GET /v1/tasks/{its task}: by default as the SDK does (the next poll a
 * fixed interval after the previous answer), or on a fixed schedule (`fixed`: every client's polls due
 * at the same instants, waves of N). Plain sockets and a minimal HTTP/1.1 reader keep the client's own
 * cost small, since it shares the machine with the server.
 *
 * Latency is measured from the moment a request was due, not from when it could be sent, so a
 * client held up (no connection yet, previous answer late) counts the wait (no coordinated omission).
 * The first poll of every client is due at the burst's start: its latency includes the connect.
 */
import { connect, type Socket } from 'node:net';

export interface BurstSpec {
  host: string;
  port: number;
  /** One path per client (each polls its own task). */
  paths: string[];
  headers: Record<string, string>;
  /** Each client's poll interval; the first poll is due at the start, with the connect. */
  pollMs: number;
  /** `after-answer` (the SDK's way, default) or `fixed` (due every pollMs from the start, whatever the answers). */
  schedule?: 'after-answer' | 'fixed';
  durationMs: number;
  /** A request without its answer after this long counts as a timeout error. */
  timeoutMs: number;
}

export interface BurstClientResult {
  clients: number;
  connected: number;
  connectErrors: number;
  /** From the burst's start to each connection established (ms), sorted. */
  connectMs: number[];
  requests: number;
  responses: number;
  non200: number;
  errors: number;
  timeouts: number;
  /** Due → answered (ms) of every answered request, and of each client's first one, sorted. */
  latencyMs: number[];
  firstLatencyMs: number[];
  /** The polls after each client's first, sorted. */
  laterLatencyMs: number[];
  wallMs: number;
  errorSamples: string[];
}

function run(spec: BurstSpec): Promise<BurstClientResult> {
  return new Promise((resolve) => {
    const started = performance.now();
    const stopAt = started + spec.durationMs;
    const headerLines = Object.entries(spec.headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    const r: BurstClientResult = {
      clients: spec.paths.length,
      connected: 0,
      connectErrors: 0,
      connectMs: [],
      requests: 0,
      responses: 0,
      non200: 0,
      errors: 0,
      timeouts: 0,
      latencyMs: [],
      firstLatencyMs: [],
      laterLatencyMs: [],
      wallMs: 0,
      errorSamples: [],
    };
    let open = spec.paths.length;
    const note = (what: string) => {
      if (r.errorSamples.length < 5) r.errorSamples.push(what);
    };
    const finished = () => {
      if (--open > 0) return;
      r.wallMs = performance.now() - started;
      for (const list of [r.connectMs, r.latencyMs, r.firstLatencyMs, r.laterLatencyMs]) list.sort((a, b) => a - b);
      resolve(r);
    };

    // A connection not made (or a poll not answered) by the end is given up: the run ends on time.
    const enders: Array<() => void> = [];
    setTimeout(() => {
      for (const end of enders) end();
    }, spec.durationMs + spec.timeoutMs).unref();

    spec.paths.forEach((path, index) => {
      const request = `GET ${path} HTTP/1.1\r\nHost: ${spec.host}:${spec.port}\r\n${headerLines}\r\n`;
      let socket: Socket;
      let due = started;
      let polls = 0;
      let sentFirst = false;
      let waiting = false;
      let buffer = '';
      let done = false;
      let isConnected = false;
      let timer: NodeJS.Timeout | null = null;
      let deadline: NodeJS.Timeout | null = null;
      const end = () => {
        if (done) return;
        done = true;
        if (timer) clearTimeout(timer);
        if (deadline) clearTimeout(deadline);
        socket.destroy();
        finished();
      };
      const send = () => {
        timer = null;
        if (performance.now() >= stopAt && sentFirst) return end();
        waiting = true;
        r.requests++;
        socket.write(request);
        deadline = setTimeout(() => {
          r.timeouts++;
          note(`client ${index}: no answer within ${spec.timeoutMs} ms`);
          end();
        }, spec.timeoutMs);
      };
      const next = () => {
        const first = !sentFirst;
        sentFirst = true;
        const now = performance.now();
        const latency = now - due;
        r.latencyMs.push(latency);
        (first ? r.firstLatencyMs : r.laterLatencyMs).push(latency);
        polls++;
        due = spec.schedule === 'fixed' ? started + polls * spec.pollMs : now + spec.pollMs;
        const wait = due - now;
        if (due >= stopAt) return end();
        if (wait <= 0) send();
        else timer = setTimeout(send, wait);
      };
      enders.push(() => {
        if (done) return;
        if (!isConnected) {
          r.connectErrors++;
          note(`client ${index}: not connected by the end of the run`);
        }
        end();
      });
      socket = connect({ host: spec.host, port: spec.port, noDelay: true });
      socket.setEncoding('latin1');
      socket.once('connect', () => {
        isConnected = true;
        r.connected++;
        r.connectMs.push(performance.now() - started);
        send();
      });
      socket.on('data', (chunk: string) => {
        buffer += chunk;
        for (;;) {
          const head = buffer.indexOf('\r\n\r\n');
          if (head < 0) return;
          const length = /\r\ncontent-length: *(\d+)/i.exec(buffer.slice(0, head));
          const bodyLength = length ? Number(length[1]) : 0;
          if (buffer.length < head + 4 + bodyLength) return;
          const status = Number(buffer.slice(9, 12));
          buffer = buffer.slice(head + 4 + bodyLength);
          if (!waiting) continue;
          waiting = false;
          if (deadline) clearTimeout(deadline);
          r.responses++;
          if (status !== 200) {
            r.non200++;
            note(`client ${index}: HTTP ${status}`);
          }
          next();
        }
      });
      socket.on('error', (err: NodeJS.ErrnoException) => {
        if (isConnected) r.errors++;
        else r.connectErrors++;
        note(`client ${index}: ${err.code ?? err.message}`);
        end();
      });
      socket.on('close', () => {
        if (!done && performance.now() < stopAt) {
          r.errors++;
          note(`client ${index}: connection closed by the server`);
        }
        end();
      });
    });
  });
}

process.once('message', (spec: BurstSpec) => {
  void run(spec).then((result) => process.send!({ type: 'result', result }, () => process.exit(0)));
});
process.send!({ type: 'up' });
