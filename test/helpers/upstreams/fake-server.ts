import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { holdSamples, sampleFrame, sampleSize, sampleVideo } from './sample-video.js';

/**
 * The HTTP core shared by the fake upstreams: real HTTP on 127.0.0.1, every request recorded, and a
 * misbehaviour switch per route.
 *
 * A `Behaviour` decides what happens to the next request of a route:
 * - `ok`: handled normally;
 * - `slow:<ms>`: handled at once (state changes happen now), the answer is sent <ms> later;
 * - `timeout`: never answered (held until the client gives up or the fake closes), nothing happens;
 * - `reset`: the socket is destroyed, nothing happens;
 * - `drop`: handled (a task is created, a poll counts), then the socket is destroyed: the answer is lost;
 * - `status:<n>`: an error answer with HTTP status n in the fake's own envelope, nothing happens;
 * - `malformed`: HTTP 200 with a body that is not JSON (for files: not a video), nothing happens.
 */
export type Behaviour = 'ok' | 'timeout' | 'reset' | 'drop' | 'malformed' | `slow:${number}` | `status:${number}`;

export interface RecordedRequest<R extends string = string> {
  /** The route that matched, or null when none did (answered 404). */
  route: R | null;
  method: string;
  /** Path without the query string, e.g. `/api/v3/contents/generations/tasks/cgt-…`. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** The body parsed as JSON; undefined when empty or not JSON (see rawBody). */
  body: unknown;
  rawBody: string;
}

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export interface Matched<R extends string> {
  route: R;
  handle(): Reply | Promise<Reply>;
}

export interface FakeServerConfig<R extends string> {
  routes: readonly R[];
  initial?: Partial<Record<R, Behaviour>>;
  /** The route of a request and its handler, or null (→ `notFound`). */
  match(req: RecordedRequest<R>): Matched<R> | null;
  /** The answer for `status:<n>` in the fake's error envelope. */
  errorReply(route: R, status: number): Reply;
  notFound(req: RecordedRequest<R>): Reply;
}

export interface FakeServer<R extends string> {
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  /** Every request, in arrival order (unmatched ones included). */
  readonly requests: RecordedRequest<R>[];
  /** The standing behaviour of each route; set its fields at any time (`fake.behaviour.poll = 'status:500'`). */
  readonly behaviour: Record<R, Behaviour>;
  /** One-shot behaviours, used by the next requests of `route` in order before `behaviour[route]`. */
  queue(route: R, ...behaviours: Behaviour[]): void;
  close(): Promise<void>;
}

export const jsonReply = (status: number, value: unknown, headers: Record<string, string> = {}): Reply => ({
  status,
  headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  body: JSON.stringify(value),
});

/** The key of `Authorization: Bearer <key>`, or null. */
export function bearer(headers: IncomingHttpHeaders): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(headers.authorization ?? '');
  return match ? match[1]! : null;
}

/** What a finished task's files look like; null when they are not (or no longer) there. */
export interface ResultFiles {
  ratio?: string;
  audio: boolean;
  lastFrame: boolean;
}

/** Answers `GET /files/<id>.mp4|.png` with a small real file (see sample-video.ts), or 404. */
export async function resultFileReply(ext: string, files: ResultFiles | null): Promise<Reply> {
  const size = sampleSize(files?.ratio);
  const path = files && ext === 'mp4' ? sampleVideo({ ...size, audio: files.audio }) : files?.lastFrame && ext === 'png' ? sampleFrame(size) : null;
  if (!path) return { status: 404, headers: { 'content-type': 'text/plain' }, body: 'file not found or expired' };
  return { status: 200, headers: { 'content-type': ext === 'mp4' ? 'video/mp4' : 'image/png' }, body: await readFile(await path) };
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An integer query parameter: `fallback` when absent, null when not a non-negative integer. */
export function intParam(value: string | null, fallback: number): number | null {
  if (value === null) return fallback;
  return /^\d+$/.test(value) ? Number(value) : null;
}

export const unixNow = () => Math.floor(Date.now() / 1000);

/** What the lifecycle helper needs of a task. */
export interface Progressing<S extends string> {
  status: S;
  /** Reads of the task (GET or list) so far. */
  polls: number;
  /** Reads since the status last changed. */
  pollsInStatus: number;
  /** Set by a manual `advance()`: polls no longer move the task. */
  pinned: boolean;
}

/**
 * Counts one read of a task and, unless pinned, moves it along `stages` (each: a status and how many
 * reads it is seen for) to `end` first. Returns true when the status changed.
 */
export function observe<S extends string>(task: Progressing<S>, stages: ReadonlyArray<readonly [S, number]>, end: S): boolean {
  let changed = false;
  let i = task.pinned ? -1 : stages.findIndex(([s]) => s === task.status);
  while (i >= 0 && task.pollsInStatus >= stages[i]![1]) {
    task.status = stages[i + 1]?.[0] ?? end;
    task.pollsInStatus = 0;
    changed = true;
    i = stages.findIndex(([s]) => s === task.status);
  }
  task.polls++;
  task.pollsInStatus++;
  return changed;
}

export async function startFakeServer<R extends string>(config: FakeServerConfig<R>): Promise<FakeServer<R>> {
  const behaviour = Object.fromEntries(config.routes.map((r) => [r, config.initial?.[r] ?? 'ok'])) as Record<R, Behaviour>;
  const queued = new Map<R, Behaviour[]>();
  const requests: RecordedRequest<R>[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let origin = '';

  const send = (res: ServerResponse, reply: Reply) => {
    const body = reply.body ?? '';
    res.writeHead(reply.status, { ...reply.headers, 'content-length': String(Buffer.byteLength(body)) }).end(body);
  };
  const delay = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => (timers.delete(t), resolve()), ms);
      timers.add(t);
    });

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const rawBody = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', origin);
    const record: RecordedRequest<R> = {
      route: null,
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body: parseJson(rawBody),
      rawBody,
    };
    requests.push(record);
    const matched = config.match(record);
    if (!matched) return send(res, config.notFound(record));
    const route = (record.route = matched.route);
    const b = queued.get(route)?.shift() ?? behaviour[route];
    const [kind, arg] = b.split(':') as [string, string | undefined];
    switch (kind) {
      case 'timeout':
        return;
      case 'reset':
        return void req.socket.destroy();
      case 'status':
        return send(res, config.errorReply(route, Number(arg)));
      case 'malformed':
        return send(
          res,
          route === ('file' as R)
            ? { status: 200, headers: { 'content-type': 'video/mp4' }, body: '<html><body>Access denied</body></html>' }
            : { status: 200, headers: { 'content-type': 'application/json' }, body: '{"data":{"id":"tas' },
        );
      case 'ok':
      case 'drop':
      case 'slow':
        break;
      default:
        throw new Error(`unknown behaviour ${b}`);
    }
    const reply = await matched.handle();
    if (kind === 'drop') return void req.socket.destroy();
    if (kind === 'slow') await delay(Number(arg));
    send(res, reply);
  }

  const server = createServer((req, res) => {
    serve(req, res).catch((err: unknown) => {
      if (!res.headersSent && !res.destroyed) send(res, { status: 500, body: `fake upstream error: ${String(err)}` });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const releaseSamples = holdSamples();

  return {
    origin,
    requests,
    behaviour,
    queue: (route, ...behaviours) => void queued.set(route, [...(queued.get(route) ?? []), ...behaviours]),
    close: async () => {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      releaseSamples();
    },
  };
}

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
