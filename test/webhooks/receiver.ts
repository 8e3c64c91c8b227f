import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A webhook receiver on 127.0.0.1 that checks every request the way a customer would, following the
 * Standard Webhooks spec and written independently of vidgate's own signing code.
 */
export interface Received {
  n: number;
  id: string;
  timestamp: number;
  signatures: string[];
  body: string;
  json: { code: number; data: { id: string; status: string; progress: number; result?: { videos: Array<{ url: string[] }> }; [k: string]: unknown } };
  /** Which of the secrets known at the time verified one of the signatures. */
  verifiedWith: string[];
  contentType: string | undefined;
  receivedAt: number;
}

export type Action = { status: number; location?: string } | 'hang';

export interface Receiver {
  url: string;
  received: Received[];
  /** Secrets to verify with (all are tried); set before the events arrive. */
  secrets: string[];
  /** Requests whose answer is being withheld. */
  hanging: number;
  /** Resolves with the first request (past or future) that matches. */
  waitFor(match: (r: Received) => boolean): Promise<Received>;
  close(): Promise<void>;
}

/** Standard Webhooks verification: v1 = base64(HMAC-SHA256(base64decode(secret without whsec_), id.timestamp.body)). */
export function verify(secret: string, id: string, timestamp: string, body: string, signature: string): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest();
  const [version, value] = signature.split(',', 2);
  if (version !== 'v1' || !value) return false;
  const given = Buffer.from(value, 'base64');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** A delivery as any receiver saw it: its Standard Webhooks headers parsed, its signatures tried. */
export function receivedDelivery(seen: { n: number; body: string; header: (name: string) => string | undefined }, secrets: readonly string[]): Received {
  const id = seen.header('webhook-id') ?? '';
  const timestamp = seen.header('webhook-timestamp') ?? '';
  const signatures = (seen.header('webhook-signature') ?? '').split(' ').filter(Boolean);
  let json: Received['json'];
  try {
    json = JSON.parse(seen.body);
  } catch {
    json = { code: 0, data: { id: '', status: 'unparseable', progress: -1 } };
  }
  return {
    n: seen.n,
    id,
    timestamp: Number(timestamp),
    signatures,
    body: seen.body,
    json,
    verifiedWith: secrets.filter((s) => signatures.some((sig) => verify(s, id, timestamp, seen.body, sig))),
    contentType: seen.header('content-type'),
    receivedAt: Date.now(),
  };
}

export async function startReceiver(respond: (r: Received) => Action = () => ({ status: 200 })): Promise<Receiver> {
  const received: Received[] = [];
  const waiters: Array<{ match: (r: Received) => boolean; resolve: (r: Received) => void }> = [];
  const held: ServerResponse[] = [];
  const state = { secrets: [] as string[] };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const header = (name: string) => {
        const value = req.headers[name];
        return Array.isArray(value) ? value[0] : value;
      };
      const r = receivedDelivery({ n: received.length + 1, body, header }, state.secrets);
      received.push(r);
      const action = respond(r);
      if (action === 'hang') held.push(res);
      else {
        res.writeHead(action.status, action.location ? { location: action.location } : {});
        res.end('ok');
      }
      for (const w of [...waiters]) {
        if (w.match(r)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(r);
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    get secrets() {
      return state.secrets;
    },
    set secrets(value: string[]) {
      state.secrets = value;
    },
    get hanging() {
      return held.filter((res) => !res.writableEnded && !res.destroyed).length;
    },
    waitFor: (match) =>
      new Promise((resolve) => {
        const seen = received.find(match);
        if (seen) return resolve(seen);
        waiters.push({ match, resolve });
      }),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
