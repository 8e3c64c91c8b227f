/**
 * Burst (`BENCH_ONLY=burst`, and part of `npm run bench`): N clients (1000) open their keep-alive
 * connections to an in-process vidgate all in the same instant, from a separate process over
 * loopback, and each polls GET /v1/tasks/{its own task} a second after its previous answer (the SDK's
 * first interval; it, the CLI and the console poll at most once a second). The first polls go out
 * with the connects, so the server meets N SYNs and then N requests at once.
 *
 * Next to it, in the same run: the same burst against the same-work status floor (bench/sqlite-floor.ts)
 * on the same database and backlog, and, for information, vidgate reached through a second listener
 * with Node's default backlog of 511 (what the bench's in-process server listened with before).
 * The kernel's TcpExt ListenOverflows / ListenDrops (/proc/net/netstat) are read before and after each.
 */
import { fork } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import type { BurstClientResult, BurstSpec } from './burst-clients.js';
import type { HttpVidgate } from './http.js';
import { startSqliteFloor } from './sqlite-floor.js';
import { markdownTable, previousHistory } from './markdown.js';

export const BURST_HEADING = '## Burst: 1000 clients connecting at once and polling status';
const HISTORY_SUBHEADING = '### History (burst)';
const HISTORY_KEEP = 20;
const CLIENT = fileURLToPath(new URL('./burst-clients.ts', import.meta.url));
/** Issue 17's targets for the burst. */
export const BURST_TARGETS = { p99Ms: 100 } as const;
/** Node's default listen backlog, what `server.listen()` gets without one. */
const NODE_DEFAULT_BACKLOG = 511;

export interface BurstSettings {
  clients: number;
  pollMs: number;
  durationMs: number;
  timeoutMs: number;
  apiKey: string;
  /** vidgate's VIDGATE_LISTEN_BACKLOG, which the bench's vidgate and the floor listen with. */
  backlog: number;
  maxConnections: number;
  inFlightLimit: number;
  dir: string;
  say: (line: string) => void;
  startVidgate: (dir: string) => Promise<HttpVidgate>;
  onCleanup: (step: () => Promise<unknown>) => void;
}

export interface BurstRun {
  name: string;
  backlogAsked: number;
  /** The listen queue's size as the kernel reports it (ss Send-Q), min(backlog, somaxconn). */
  backlogEffective: number | null;
  clients: BurstClientResult;
  listenOverflows: number;
  listenDrops: number;
  /** Connections the server accepted during the run. */
  accepted: number;
  serverCpuUsPerResponse: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

export interface BurstResult {
  date: string;
  command: string;
  totalSeconds: number;
  loadAtStart: number;
  loadAtEnd: number;
  somaxconn: number | null;
  synBacklog: number | null;
  settings: Pick<BurstSettings, 'clients' | 'pollMs' | 'durationMs' | 'timeoutMs' | 'backlog' | 'maxConnections'>;
  runs: BurstRun[];
}

async function readNumber(path: string): Promise<number | null> {
  const text = await readFile(path, 'utf8').catch(() => '');
  const n = Number(text.trim());
  return text && Number.isFinite(n) ? n : null;
}

/** TcpExt counters of the whole machine (other work on it may move them too). */
async function listenCounters(): Promise<{ overflows: number; drops: number }> {
  const text = await readFile('/proc/net/netstat', 'utf8').catch(() => '');
  const lines = text.split('\n').filter((l) => l.startsWith('TcpExt:'));
  if (lines.length < 2) return { overflows: NaN, drops: NaN };
  const names = lines[0]!.split(/\s+/);
  const values = lines[1]!.split(/\s+/).map(Number);
  const get = (name: string) => values[names.indexOf(name)] ?? NaN;
  return { overflows: get('ListenOverflows'), drops: get('ListenDrops') };
}

/** The accept queue's size of the socket listening on `port`, from `ss -ltn` (Send-Q), when ss is there. */
async function effectiveBacklog(port: number): Promise<number | null> {
  const { execFile } = await import('node:child_process');
  return new Promise((resolve) => {
    execFile('ss', ['-ltnH', `sport = :${port}`], { timeout: 5000 }, (err, stdout) => {
      if (err) return resolve(null);
      const fields = stdout.trim().split(/\s+/);
      const n = Number(fields[2]);
      resolve(Number.isFinite(n) ? n : null);
    });
  });
}

function runClients(spec: BurstSpec): Promise<BurstClientResult> {
  return new Promise((resolve, reject) => {
    const child = fork(CLIENT, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let settled = false;
    child.on('message', (msg: { type: string; result?: BurstClientResult }) => {
      if (msg.type === 'up') child.send(spec);
      else if (msg.type === 'result') {
        settled = true;
        resolve(msg.result!);
      }
    });
    child.once('error', (err) => {
      if (!settled) reject(err);
      settled = true;
    });
    child.once('exit', (code) => {
      if (!settled) reject(new Error(`burst clients exited with code ${code} before reporting`));
    });
  });
}

async function measure(name: string, server: Server, backlogAsked: number, paths: string[], o: BurstSettings): Promise<BurstRun> {
  const port = (server.address() as AddressInfo).port;
  const backlogEffective = await effectiveBacklog(port);
  let accepted = 0;
  const onConnection = () => accepted++;
  server.on('connection', onConnection);
  const loop = monitorEventLoopDelay({ resolution: 5 });
  const before = await listenCounters();
  loop.enable();
  const cpu0 = process.cpuUsage();
  const clients = await runClients({
    host: '127.0.0.1',
    port,
    paths,
    headers: { authorization: `Bearer ${o.apiKey}` },
    pollMs: o.pollMs,
    schedule: 'after-answer',
    durationMs: o.durationMs,
    timeoutMs: o.timeoutMs,
  });
  const cpu = process.cpuUsage(cpu0);
  loop.disable();
  const after = await listenCounters();
  server.off('connection', onConnection);
  // Let the closed connections go before the next run.
  await new Promise((r) => setTimeout(r, 500));
  return {
    name,
    backlogAsked,
    backlogEffective,
    clients,
    listenOverflows: after.overflows - before.overflows,
    listenDrops: after.drops - before.drops,
    accepted,
    serverCpuUsPerResponse: clients.responses ? (cpu.user + cpu.system) / clients.responses : NaN,
    loopDelayP99Ms: loop.percentile(99) / 1e6,
    loopDelayMaxMs: loop.max / 1e6,
  };
}

const pick = (sorted: number[], p: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]! : NaN;
const ms = (n: number) => (Number.isFinite(n) ? (n >= 1000 ? `${(n / 1000).toFixed(2)} s` : `${n.toFixed(n < 10 ? 1 : 0)} ms`) : 'n/a');
const rounded = (n: number) => Math.round(n * 100) / 100;

export async function runBurstBench(o: BurstSettings, command: string): Promise<BurstResult> {
  const began = performance.now();
  const date = new Date().toISOString();
  const loadAtStart = rounded(loadavg()[0]!);
  const { say } = o;
  const vidgate = await o.startVidgate(join(o.dir, 'burst'));
  const ids: string[] = [];
  const headers = { authorization: `Bearer ${o.apiKey}`, 'content-type': 'application/json' };
  for (let i = 0; i < o.clients; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, o.clients - i) }, async (_, j) => {
        const res = await fetch(`${vidgate.base}/v1/videos/generations`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ model: 'doubao-seedance-2.0', prompt: `burst client ${i + j}`, resolution: '480p', duration: 4 }),
        });
        const body = (await res.json()) as { data?: Array<{ task_id: string }> };
        if (res.status !== 200 || !body.data) throw new Error(`submit failed: HTTP ${res.status}`);
        ids.push(body.data[0]!.task_id);
      }),
    );
  }
  const paths = ids.map((id) => `/v1/tasks/${id}`);
  const floor = await startSqliteFloor(join(o.dir, 'burst', 'data', 'vidgate.db'), { grouped: true, inFlightLimit: o.inFlightLimit, backlog: o.backlog });
  o.onCleanup(floor.close);
  // The same vidgate behind a second listener with Node's default backlog (Fastify's routing, no
  // other server settings): what the bench measured before it listened like `vidgate serve`.
  const defaultBacklog = createServer((req, res) => vidgate.app.server.routing(req, res));
  await new Promise<void>((resolve) => defaultBacklog.listen({ host: '127.0.0.1', port: 0, backlog: NODE_DEFAULT_BACKLOG }, resolve));
  o.onCleanup(() => new Promise((resolve) => defaultBacklog.close(() => resolve(undefined))));
  say(`Burst: ${o.clients} clients connecting at once, each polling its own task ${o.pollMs} ms after each answer for ${o.durationMs / 1000} s:`);
  const runs: BurstRun[] = [];
  const line = (r: BurstRun) => {
    const c = r.clients;
    return `  ${r.name}: ${c.connected}/${c.clients} connected (last after ${ms(c.connectMs.at(-1) ?? NaN)}), ${c.responses} answers, ${c.errors + c.non200 + c.timeouts + c.connectErrors} errors, p50 ${ms(pick(c.latencyMs, 50))} p99 ${ms(pick(c.latencyMs, 99))} max ${ms(c.latencyMs.at(-1) ?? NaN)}, ListenOverflows +${r.listenOverflows}, ${r.serverCpuUsPerResponse.toFixed(0)} µs CPU/answer`;
  };
  // A short burst at each server first, so that none is measured with cold code (its first
  // connections and requests would run before the JIT compiled them).
  const warm = { ...o, durationMs: 1500 };
  for (const server of [floor.server.server, vidgate.app.server.server, defaultBacklog]) await measure('warm-up', server, 0, paths.slice(0, 200), warm);
  runs.push(await measure('status floor (same work)', floor.server.server, o.backlog, paths, o));
  say(line(runs.at(-1)!));
  runs.push(await measure('vidgate', vidgate.app.server.server, o.backlog, paths, o));
  say(line(runs.at(-1)!));
  runs.push(await measure(`vidgate, listen backlog ${NODE_DEFAULT_BACKLOG} (information)`, defaultBacklog, NODE_DEFAULT_BACKLOG, paths, o));
  say(line(runs.at(-1)!));
  await new Promise<void>((resolve) => defaultBacklog.close(() => resolve()));
  await floor.close();
  await vidgate.close();
  return {
    date,
    command,
    totalSeconds: (performance.now() - began) / 1000,
    loadAtStart,
    loadAtEnd: rounded(loadavg()[0]!),
    somaxconn: await readNumber('/proc/sys/net/core/somaxconn'),
    synBacklog: await readNumber('/proc/sys/net/ipv4/tcp_max_syn_backlog'),
    settings: { clients: o.clients, pollMs: o.pollMs, durationMs: o.durationMs, timeoutMs: o.timeoutMs, backlog: o.backlog, maxConnections: o.maxConnections },
    runs,
  };
}

export function burstSummary(r: BurstResult): string {
  const v = r.runs.find((x) => x.name === 'vidgate')!;
  const c = v.clients;
  return `vidgate: ${c.connected}/${c.clients} connected, p99 ${ms(pick(c.latencyMs, 99))}, max ${ms(c.latencyMs.at(-1) ?? NaN)}, ${c.errors + c.non200 + c.timeouts + c.connectErrors} errors, ListenOverflows +${v.listenOverflows}`;
}

/** The burst history rows of the previous section, read before the file is rewritten. */
export function previousBurstHistory(file: string): Promise<string[]> {
  return previousHistory(file, BURST_HEADING, HISTORY_SUBHEADING);
}

export function burstSection(r: BurstResult, history: string[]): string {
  const s = r.settings;
  const [floor, vidgate, old] = [r.runs[0]!, r.runs[1]!, r.runs[2]!];
  const errors = (x: BurstRun) => x.clients.errors + x.clients.non200 + x.clients.timeouts + x.clients.connectErrors;
  const p99 = (x: BurstRun) => pick(x.clients.latencyMs, 99);
  const verdict = (ok: boolean) => (ok ? 'PASS' : 'FAIL');
  const cells = (f: (x: BurstRun) => string) => r.runs.map(f);
  const row = (measure: string, f: (x: BurstRun) => string, target: string, pass: string) => [measure, ...cells(f), target, pass];
  const vOk = {
    connected: vidgate.clients.connected === s.clients,
    overflow: vidgate.listenOverflows === 0 && vidgate.listenDrops === 0,
    errors: errors(vidgate) === 0,
    p99: p99(vidgate) < BURST_TARGETS.p99Ms,
  };
  const historyRow = `| ${[
    r.date,
    `${ms(p99(vidgate))} / ${ms(vidgate.clients.latencyMs.at(-1) ?? NaN)}`,
    `${ms(p99(floor))} / ${ms(floor.clients.latencyMs.at(-1) ?? NaN)}`,
    `${errors(vidgate)} / ${errors(floor)}`,
    `+${vidgate.listenOverflows} / +${floor.listenOverflows}`,
    `${ms(vidgate.clients.connectMs.at(-1) ?? NaN)} / ${ms(floor.clients.connectMs.at(-1) ?? NaN)}`,
    `${Math.round(vidgate.serverCpuUsPerResponse)} / ${Math.round(floor.serverCpuUsPerResponse)} µs`,
    `${ms(p99(old))} / ${ms(old.clients.latencyMs.at(-1) ?? NaN)} (+${old.listenOverflows})`,
    `${r.loadAtStart} / ${r.loadAtEnd}`,
  ].join(' | ')} |`;
  const allHistory = [...history, historyRow].slice(-HISTORY_KEEP);
  const rows = [
    row(
      `Clients connected (all ${s.clients} opened in one turn of the client's event loop)`,
      (x) =>
        `${x.clients.connected} of ${x.clients.clients}; last after ${ms(x.clients.connectMs.at(-1) ?? NaN)} (p50 ${ms(pick(x.clients.connectMs, 50))}); accepted ${x.accepted}`,
      'all',
      verdict(vOk.connected),
    ),
    row(
      'Listen queue: backlog asked / in effect (ss); TcpExt ListenOverflows / ListenDrops during the run',
      (x) => `${x.backlogAsked} / ${x.backlogEffective ?? 'n/a'}; +${x.listenOverflows} / +${x.listenDrops}`,
      'no overflow',
      verdict(vOk.overflow),
    ),
    row(
      'Polls answered; errors (non-200, socket errors, timeouts, not connected)',
      (x) => `${x.clients.responses} of ${x.clients.requests}; ${x.clients.non200} / ${x.clients.errors} / ${x.clients.timeouts} / ${x.clients.connectErrors}`,
      '0 errors',
      verdict(vOk.errors),
    ),
    row(
      'Poll latency, due → answered: p50 / p90 / p99 / max',
      (x) =>
        `${ms(pick(x.clients.latencyMs, 50))} / ${ms(pick(x.clients.latencyMs, 90))} / ${ms(pick(x.clients.latencyMs, 99))} / ${ms(x.clients.latencyMs.at(-1) ?? NaN)}`,
      `p99 < ${BURST_TARGETS.p99Ms} ms`,
      verdict(vOk.p99),
    ),
    row(
      'Later polls (after each client’s first): p50 / p99 / max',
      (x) => `${ms(pick(x.clients.laterLatencyMs, 50))} / ${ms(pick(x.clients.laterLatencyMs, 99))} / ${ms(x.clients.laterLatencyMs.at(-1) ?? NaN)}`,
      '—',
      '—',
    ),
    row(
      'First poll of each client (sent on connect, timed from the burst): p50 / p99 / max',
      (x) => `${ms(pick(x.clients.firstLatencyMs, 50))} / ${ms(pick(x.clients.firstLatencyMs, 99))} / ${ms(x.clients.firstLatencyMs.at(-1) ?? NaN)}`,
      '—',
      '—',
    ),
    row(
      'Server CPU per answer; event-loop delay p99 / max',
      (x) => `${Math.round(x.serverCpuUsPerResponse)} µs; ${x.loopDelayP99Ms.toFixed(0)} / ${x.loopDelayMaxMs.toFixed(0)} ms`,
      '—',
      '—',
    ),
  ];
  const errorNotes = r.runs
    .filter((x) => x.clients.errorSamples.length)
    .map((x) => `${x.name}: ${x.clients.errorSamples.join('; ')}`)
    .join('. ');

  return `${BURST_HEADING}

Run ${r.date}, \`${r.command}\` (${r.totalSeconds.toFixed(0)} s); 1-min load average ${r.loadAtStart} at the start and ${r.loadAtEnd} at the end. ${s.clients} clients in a separate process (bench/burst-clients.ts: plain sockets, a minimal HTTP/1.1 reader), each on its own keep-alive connection to 127.0.0.1, all ${s.clients} \`connect()\`s issued in the same turn of its event loop; each client sends its first poll as soon as it is connected (all ${s.clients} first polls are due at the burst's start, so their latency includes the connect) and then polls its own task (GET /v1/tasks/{id}, one of ${s.clients} pending tasks) ${s.pollMs} ms after each answer, as the SDK does (its first interval, without its back-off), for ${s.durationMs / 1000} s. The target is judged on every poll of the run; the first polls (the burst itself) and the later ones are also shown apart. A poll unanswered after ${s.timeoutMs / 1000} s is an error. The server is vidgate in-process as in the HTTP rows (log level info to a file, per-key limits raised out of the way: all clients use one key), listening like \`vidgate serve\` with \`VIDGATE_LISTEN_BACKLOG\` = ${s.backlog} and \`VIDGATE_MAX_CONNECTIONS\` = ${s.maxConnections}; the kernel caps the backlog at \`net.core.somaxconn\` = ${r.somaxconn ?? 'n/a'} (\`tcp_max_syn_backlog\` = ${r.synBacklog ?? 'n/a'}). Beside it, in the same run and on the same database: the same-work status floor of the HTTP rows (bench/sqlite-floor.ts) with the same backlog, and, for information, the same vidgate behind a second listener with Node's default backlog of ${NODE_DEFAULT_BACKLOG}, which is what the in-process server of this benchmark listened with before it listened like \`vidgate serve\`. ListenOverflows / ListenDrops are the machine's TcpExt counters, read before and after each run (other work on the shared machine could move them too).

| Measure | ${r.runs.map((x) => x.name).join(' | ')} | Target (vidgate) | Pass |
| --- | ${r.runs.map(() => '---').join(' | ')} | --- | --- |
${rows.map((x) => `| ${x.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`).join('\n')}
${errorNotes ? `\nFirst errors seen: ${errorNotes}.\n` : ''}
${HISTORY_SUBHEADING}

One line per run of this section, newest last, last ${HISTORY_KEEP} kept.

${markdownTable(
  [
    'Date',
    'vidgate p99 / max',
    'Floor p99 / max',
    'Errors vidgate / floor',
    'ListenOverflows vidgate / floor',
    'Last connect vidgate / floor',
    'CPU per answer vidgate / floor',
    `Backlog ${NODE_DEFAULT_BACKLOG} (info): p99 / max (overflows)`,
    'Load start / end',
  ],
  [],
)
  .split('\n')
  .slice(0, 2)
  .join('\n')}
${allHistory.join('\n')}
`;
}
