/**
 * Child process of the SSE benchmark: holds many text/event-stream connections so that the server's
 * memory is measured without the clients' own. Driven over IPC by bench/sse.ts.
 */
import { request, type ClientRequest } from 'node:http';

type Command = { type: 'connect'; urls: string[]; headers: Record<string, string> } | { type: 'await'; minId: number } | { type: 'ended' } | { type: 'exit' };

interface Conn {
  req: ClientRequest;
  lastId: number;
  /** When the last event arrived (Date.now()). */
  lastAt: number;
  ended: boolean;
  endedAt: number;
}

const conns: Conn[] = [];
let check: (() => void) | null = null;
const send = (message: object) => process.send!(message);

function open(url: string, headers: Record<string, string>): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const conn: Conn = { req: null as unknown as ClientRequest, lastId: -1, lastAt: 0, ended: false, endedAt: 0 };
    conn.req = request(url, { headers: { accept: 'text/event-stream', ...headers }, agent: false }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}`));
      let buffer = '';
      let first = true;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let at: number;
        while ((at = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, at);
          buffer = buffer.slice(at + 2);
          const id = /^id: (\d+)$/m.exec(block);
          if (!id) continue;
          conn.lastId = Number(id[1]);
          conn.lastAt = Date.now();
          if (first) {
            first = false;
            resolve(conn);
          }
          check?.();
        }
      });
      res.on('close', () => {
        conn.ended = true;
        conn.endedAt = Date.now();
        check?.();
      });
    });
    conn.req.on('error', reject);
    conn.req.end();
  });
}

function until(done: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    check = () => {
      if (done()) {
        check = null;
        resolve();
      }
    };
    check();
  });
}

process.on('message', async (command: Command) => {
  if (command.type === 'connect') {
    const started = Date.now();
    let failures = 0;
    // A few hundred at a time: enough to be quick without a SYN flood on the loopback backlog.
    for (let i = 0; i < command.urls.length; i += 200) {
      const batch = await Promise.allSettled(command.urls.slice(i, i + 200).map((u) => open(u, command.headers)));
      for (const r of batch) {
        if (r.status === 'fulfilled') conns.push(r.value);
        else failures++;
      }
    }
    send({ type: 'connected', ms: Date.now() - started, open: conns.length, failures });
  } else if (command.type === 'await') {
    await until(() => conns.every((c) => c.ended || c.lastId >= command.minId));
    send({ type: 'reached', lastAt: Math.max(...conns.map((c) => c.lastAt)) });
  } else if (command.type === 'ended') {
    await until(() => conns.every((c) => c.ended));
    send({ type: 'allEnded', lastAt: Math.max(...conns.map((c) => c.endedAt)) });
  } else if (command.type === 'exit') {
    for (const c of conns) c.req.destroy();
    process.exit(0);
  }
});
send({ type: 'up' });
