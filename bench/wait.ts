/**
 * Clients that wait (`BENCH_ONLY=wait`, and part of `npm run bench`): issue 17's "clients that stop
 * polling", measured. N short local renders are submitted and waited for with the real SDK (the
 * client the CLI uses), one at a time, in two modes taken in turn:
 *
 * - after: the SDK's default `tasks.wait`, which follows the task's live event stream
 *   (`GET /v1/tasks/{id}/events`, one request for the whole wait);
 * - before: the same call against a host without live events (APIMart itself): a reverse proxy in
 *   front of the same vidgate answers 404 to `/v1/tasks/{id}/events`, so the SDK's own fallback runs
 *   unchanged and polls `GET /v1/tasks/{id}`.
 *
 * The SDK and both proxies (the "after" one passes everything through, so both modes pay the same hop)
 * run in a child process — this same file, forked — so that the CPU measured in this process is the
 * server's. Every request the host sees is counted in the proxy, by route.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { Agent, createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { App } from '../src/app.js';
import { createClient } from '../src/sdk/index.js';
import { markdownTable } from './markdown.js';
import { childCpuSeconds } from './render-modes.js';

export const WAIT_HEADING = '## Clients that wait (SSE against polling)';
const CHILD_ENV = 'VIDGATE_BENCH_WAIT_CLIENT';
const TASK_TIMEOUT_MS = 120_000;
/** The SDK's polling schedule (src/sdk/tasks.ts defaults), for the computed note on longer tasks. */
const SDK_FIRST_POLL_MS = 1000;
const SDK_MAX_POLL_MS = 10_000;

export type Mode = 'before' | 'after';
const MODES: Mode[] = ['before', 'after'];
const MODE_LABEL: Record<Mode, string> = {
  before: 'before: polling only (host without `/events`, as APIMart)',
  after: 'after: SSE stream (vidgate; the SDK’s default wait)',
};

/** Requests the host saw, by route. */
export interface Counts {
  submit: number;
  status: number;
  events: number;
  other: number;
}
const zero = (): Counts => ({ submit: 0, status: 0, events: 0, other: 0 });
const total = (c: Counts) => c.submit + c.status + c.events + c.other;

/** The cheapest task the contract allows for the local renderer: 480p, 4 s, no audio. */
export const WAIT_TASK_BODY = { model: 'doubao-seedance-2.0', resolution: '480p', size: '16:9', duration: 4, generate_audio: false } as const;

export interface WaitRun {
  mode: Mode;
  id: string;
  status: string;
  requests: Counts;
  /** Submit call made → wait() returned, in the client. */
  submitToReturnMs: number;
  /** The task's created_at → finished_at, in the server's store. */
  serverRunMs: number;
  /** finished_at (store) → wait() returned (client); the same machine's clock. */
  finishToReturnMs: number;
  /** This process (the server, ffmpeg apart) during the task. */
  serverCpuMs: number;
  /** The task's ffmpeg (reaped children of this process). */
  ffmpegCpuMs: number;
}

export interface WaitResult {
  tasks: number;
  runs: WaitRun[];
  /** TCP connections each proxy accepted over its mode's measured tasks. */
  connections: Record<Mode, number>;
  eventsPollMs: number;
  seconds: number;
  loadStart: number;
  loadEnd: number;
}

type ToChild = { type: 'start'; base: string; apiKey: string } | { type: 'task'; mode: Mode; prompt: string } | { type: 'exit' };
type FromChild =
  | { type: 'up' }
  | { type: 'ready' }
  | { type: 'done'; mode: Mode; id: string; status: string; requests: Counts; connections: number; submitEpoch: number; returnedEpoch: number }
  | { type: 'error'; message: string };

// ---------------------------------------------------------------------------------------------------
// The child: two proxies in front of vidgate and the SDK.

interface Proxy {
  base: string;
  counts: Counts;
  connections: number;
  close: () => Promise<void>;
}

function route(method: string | undefined, url: string | undefined): keyof Counts {
  const path = (url ?? '').split('?')[0]!;
  if (method === 'POST' && path === '/v1/videos/generations') return 'submit';
  if (method === 'GET' && /^\/v1\/tasks\/[^/]+\/events$/.test(path)) return 'events';
  if (method === 'GET' && /^\/v1\/tasks\/[^/]+$/.test(path)) return 'status';
  return 'other';
}

/** A plain reverse proxy to `target`; with `noEvents`, `GET /v1/tasks/{id}/events` is answered 404 as by a host without the route. */
async function startProxy(target: string, noEvents: boolean): Promise<Proxy> {
  const upstream = new URL(target);
  const agent = new Agent({ keepAlive: true });
  const counts = zero();
  const proxy: Proxy = { base: '', counts, connections: 0, close: async () => undefined };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const kind = route(req.method, req.url);
    counts[kind]++;
    if (kind === 'events' && noEvents) {
      req.resume();
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ code: 404, error: { code: 'not_found', message: 'Not Found', type: 'invalid_request_error' } }));
      return;
    }
    const up = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers, agent },
      (upRes: IncomingMessage) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        res.flushHeaders();
        upRes.pipe(res);
      },
    );
    up.on('socket', (socket) => socket.setNoDelay(true));
    up.on('error', () => res.destroy());
    // The client went away (the SDK ends its stream once the task is finished): so does the upstream request.
    res.on('close', () => {
      if (!res.writableFinished) up.destroy();
    });
    req.pipe(up);
  });
  server.on('connection', (socket) => {
    socket.setNoDelay(true);
    proxy.connections++;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
      agent.destroy();
    });
  return proxy;
}

async function clientMain(): Promise<void> {
  const send = (m: FromChild) => process.send!(m);
  let proxies: Record<Mode, Proxy> | null = null;
  const clients: Partial<Record<Mode, ReturnType<typeof createClient>>> = {};
  process.on('message', (m: ToChild) => {
    void (async () => {
      try {
        if (m.type === 'start') {
          proxies = { before: await startProxy(m.base, true), after: await startProxy(m.base, false) };
          for (const mode of MODES) clients[mode] = createClient({ baseURL: proxies[mode].base, apiKey: m.apiKey });
          send({ type: 'ready' });
        } else if (m.type === 'task') {
          const proxy = proxies![m.mode];
          const client = clients[m.mode]!;
          const before = { ...proxy.counts };
          const connectionsBefore = proxy.connections;
          const submitEpoch = Date.now();
          const { task_id } = await client.videos.generate({ ...WAIT_TASK_BODY, prompt: m.prompt });
          // Exactly what `vidgate tasks wait` does (src/cli/generate.ts), minus the progress bar.
          const task = await client.tasks.wait(task_id, { onProgress: () => undefined });
          const returnedEpoch = Date.now();
          const requests = zero();
          for (const k of Object.keys(requests) as Array<keyof Counts>) requests[k] = proxy.counts[k] - before[k];
          send({
            type: 'done',
            mode: m.mode,
            id: task_id,
            status: task.status,
            requests,
            connections: proxy.connections - connectionsBefore,
            submitEpoch,
            returnedEpoch,
          });
        } else if (m.type === 'exit') {
          if (proxies) await Promise.all(MODES.map((mode) => proxies![mode].close()));
          process.exit(0);
        }
      } catch (err) {
        send({ type: 'error', message: (err as Error).stack ?? String(err) });
      }
    })();
  });
  // The benchmark went away without saying exit (interrupted, crashed): so does its client.
  process.once('disconnect', () => process.exit(0));
  send({ type: 'up' });
}

if (process.env[CHILD_ENV] === '1') void clientMain();

// ---------------------------------------------------------------------------------------------------
// The parent: the server's side.

/** The child's next message (one awaited at a time); an `error` message rejects. */
function childReplies(child: ChildProcess) {
  const queue: FromChild[] = [];
  let pending: { take: (m: FromChild) => void; fail: (e: Error) => void } | null = null;
  let exited: Error | null = null;
  child.on('message', (m: FromChild) => {
    const p = pending;
    pending = null;
    if (p) p.take(m);
    else queue.push(m);
  });
  child.once('exit', (code) => {
    exited = new Error(`wait benchmark client exited (${code})`);
    pending?.fail(exited);
    pending = null;
  });
  return (timeoutMs: number): Promise<FromChild> =>
    new Promise((resolve, reject) => {
      const take = (m: FromChild) => (m.type === 'error' ? reject(new Error(m.message)) : resolve(m));
      const next = queue.shift();
      if (next) return take(next);
      if (exited) return reject(exited);
      const timer = setTimeout(() => {
        pending = null;
        reject(new Error(`wait benchmark client: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      pending = {
        take: (m) => {
          clearTimeout(timer);
          take(m);
        },
        fail: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
    });
}

/**
 * `tasks` measured tasks per mode (after one warm-up task each), one at a time, the modes in turn
 * (before, after, after, before, …) so that a change in the machine's load falls on both.
 */
export async function runWaitBench(server: { app: App; base: string }, apiKey: string, tasks: number, say: (line: string) => void): Promise<WaitResult> {
  const { app, base } = server;
  const began = Date.now();
  const loadStart = loadavg()[0]!;
  const child = fork(fileURLToPath(import.meta.url), [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, [CHILD_ENV]: '1' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const reply = childReplies(child);
  const tell = (m: ToChild) => child.send(m);
  try {
    if ((await reply(30_000)).type !== 'up') throw new Error('wait benchmark client did not start');
    tell({ type: 'start', base, apiKey });
    if ((await reply(30_000)).type !== 'ready') throw new Error('wait benchmark client did not get ready');

    const runs: WaitRun[] = [];
    const connections: Record<Mode, number> = { before: 0, after: 0 };
    const order: Array<{ mode: Mode; warmup: boolean }> = MODES.map((mode) => ({ mode, warmup: true }));
    for (let i = 0; i < tasks; i++) for (const mode of i % 2 === 0 ? MODES : [...MODES].reverse()) order.push({ mode, warmup: false });
    let n = 0;
    for (const { mode, warmup } of order) {
      const cpu0 = process.cpuUsage();
      const ffmpeg0 = await childCpuSeconds();
      tell({ type: 'task', mode, prompt: `wait bench ${mode} ${n++}` });
      const done = await reply(TASK_TIMEOUT_MS);
      const cpu = process.cpuUsage(cpu0);
      const ffmpegCpuMs = ((await childCpuSeconds()) - ffmpeg0) * 1000;
      if (done.type !== 'done') throw new Error(`wait benchmark client answered ${done.type}`);
      const stored = await app.store.getTask(done.id);
      if (!stored || stored.finishedAt === null) throw new Error(`task ${done.id} has no finished_at after wait() returned ${done.status}`);
      if (warmup) continue;
      connections[mode] += done.connections;
      const run: WaitRun = {
        mode,
        id: done.id,
        status: done.status,
        requests: done.requests,
        submitToReturnMs: done.returnedEpoch - done.submitEpoch,
        serverRunMs: stored.finishedAt - stored.createdAt,
        finishToReturnMs: done.returnedEpoch - stored.finishedAt,
        serverCpuMs: (cpu.user + cpu.system) / 1000,
        ffmpegCpuMs,
      };
      runs.push(run);
      if (runs.length % 10 === 0 || runs.length === tasks * 2) say(`  ${runs.length} of ${tasks * 2} tasks waited for`);
    }
    return { tasks, runs, connections, eventsPollMs: app.config.eventsPollMs, seconds: (Date.now() - began) / 1000, loadStart, loadEnd: loadavg()[0]! };
  } finally {
    if (child.connected) tell({ type: 'exit' });
    await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.once('exit', r)));
  }
}

// ---------------------------------------------------------------------------------------------------
// The report.

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
/** Nearest-rank percentile of sorted values. */
const pick = (xs: number[], p: number) => (xs.length ? xs[Math.min(xs.length - 1, Math.max(0, Math.ceil((p / 100) * xs.length) - 1))]! : Number.NaN);
const ms = (v: number) => (v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${Math.round(v)} ms`);
const per = (n: number, tasks: number) => (tasks ? (n / tasks).toFixed(2).replace(/\.?0+$/, '') : '—');

interface ModeStats {
  runs: WaitRun[];
  completed: number;
  requests: Counts;
  statusRange: [number, number];
  finishToReturn: number[];
  submitToReturn: number[];
  serverRun: number[];
  serverCpu: number[];
  ffmpegCpu: number[];
}

function stats(r: WaitResult, mode: Mode): ModeStats {
  const runs = r.runs.filter((x) => x.mode === mode);
  const requests = zero();
  for (const run of runs) for (const k of Object.keys(requests) as Array<keyof Counts>) requests[k] += run.requests[k];
  const statuses = runs.map((x) => x.requests.status);
  return {
    runs,
    completed: runs.filter((x) => x.status === 'completed').length,
    requests,
    statusRange: [Math.min(...statuses), Math.max(...statuses)],
    finishToReturn: sorted(runs.map((x) => x.finishToReturnMs)),
    submitToReturn: sorted(runs.map((x) => x.submitToReturnMs)),
    serverRun: sorted(runs.map((x) => x.serverRunMs)),
    serverCpu: sorted(runs.map((x) => x.serverCpuMs)),
    ffmpegCpu: sorted(runs.map((x) => x.ffmpegCpuMs)),
  };
}

/** Status GETs the SDK's schedule makes for a task of `seconds` (first at once, then 1 s ×1.5 up to 10 s), without its estimate hint. */
export function scheduledPolls(seconds: number): number {
  let at = 0;
  let interval = SDK_FIRST_POLL_MS;
  let polls = 1;
  while (at < seconds * 1000) {
    at += interval;
    interval = Math.min(SDK_MAX_POLL_MS, interval * 1.5);
    polls++;
  }
  return polls;
}

export function waitSummary(r: WaitResult): string {
  return MODES.map((mode) => {
    const s = stats(r, mode);
    const done = s.completed || 1;
    return `${mode}: ${per(total(s.requests), done)} requests per completed task (${per(s.requests.status, done)} status GETs, ${per(s.requests.events, done)} event streams), finished → wait() returned p50 ${ms(pick(s.finishToReturn, 50))} (max ${ms(pick(s.finishToReturn, 100))})`;
  }).join('; ');
}

export function waitSection(r: WaitResult, date: string, command: string): string {
  const all = { before: stats(r, 'before'), after: stats(r, 'after') };
  const rows = MODES.map((mode) => {
    const s = all[mode];
    const done = s.completed;
    const failed = s.runs.length - done;
    return [
      MODE_LABEL[mode],
      `${done} of ${s.runs.length}${failed ? ` (${failed} NOT completed)` : ''}`,
      `**${per(total(s.requests), done)}** (${per(s.requests.submit, done)} / ${per(s.requests.status, done)} / ${per(s.requests.events, done)}${s.requests.other ? ` / other ${per(s.requests.other, done)}` : ''})`,
      `${s.statusRange[0]}–${s.statusRange[1]}`,
      `${ms(pick(s.finishToReturn, 50))} / ${ms(pick(s.finishToReturn, 90))} / ${ms(pick(s.finishToReturn, 100))}`,
      `${ms(pick(s.submitToReturn, 50))} (${ms(pick(s.serverRun, 50))})`,
      `${Math.round(pick(s.serverCpu, 50))} ms (${Math.round(pick(s.ffmpegCpu, 50))} ms)`,
      per(r.connections[mode], s.runs.length),
    ];
  });
  const b = all.before;
  const a = all.after;
  const cut = total(b.requests) && b.completed && a.completed ? (total(b.requests) / b.completed / (total(a.requests) / a.completed)).toFixed(1) : '—';
  const long = [60, 300].map((s) => `${scheduledPolls(s)} for a ${s >= 60 ? `${s / 60} min` : `${s} s`} task`).join(', ');
  return `${WAIT_HEADING}

Run ${date}, \`${command}\` (${Math.round(r.seconds)} s); 1-min load average ${r.loadStart.toFixed(2)} at the start and ${r.loadEnd.toFixed(2)} at the end. One in-process vidgate with its dispatcher running renders ${r.tasks} short local tasks per mode (${WAIT_TASK_BODY.resolution}, ${WAIT_TASK_BODY.duration} s, no audio: the cheapest the contract allows), submitted and waited for one at a time with the real SDK (\`createClient\` of src/sdk, the client \`vidgate tasks wait\` uses, with its default \`tasks.wait\` options), the two modes in turn after one unmeasured warm-up task each. **after** is the SDK's default wait against vidgate: it follows the task's event stream (\`GET /v1/tasks/{id}/events\`). **before** is the same call against a host without live events, as APIMart: a reverse proxy in the benchmark answers 404 to \`/v1/tasks/{id}/events\` and passes everything else to the same vidgate, so the SDK's own fallback polls \`GET /v1/tasks/{id}\` (at once, then after 1 s growing ×1.5, sooner when \`estimated_time\` says the task ends before the next poll). In the after mode the same proxy passes everything through, so both pay the same hop. Requests are those the host saw, counted in the proxy by route; the proxies and the SDK run in a child process (this file, forked), so the CPU below is the server's (its Node process; the task's ffmpeg apart, in brackets, the same in both modes). Latency is from the task's \`finished_at\` in the server's store to \`wait()\` returning in the client (the same machine's clock); the render changes are pushed to the stream in-process (another instance's changes are found by the poll every ${r.eventsPollMs} ms). With ${r.tasks} tasks per mode the max stands in for a p99.

${markdownTable(
  [
    'Mode',
    'Tasks completed',
    'Requests per completed task: total (submit / status GETs / event streams)',
    'Status GETs per task, min–max',
    '`finished_at` → `wait()` returned: p50 / p90 / max',
    'Submit → `wait()` returned, p50 (server created → finished, p50)',
    'Server CPU per task, p50 (ffmpeg)',
    'TCP connections to the host per task',
  ],
  rows,
)}

Polling took ${cut}× the requests of the stream for these ${ms(pick(b.serverRun, 50))} renders; it grows with the task (by the SDK's schedule, without its estimate hint: ${long}), while the stream stays one request however long the task runs. In the before mode the 404 answer to the SDK's one attempt at \`/events\` is counted as an event-stream request: a host without the route sees it too.
`;
}
