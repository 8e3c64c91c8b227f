/**
 * The HTTP rows of `npm run bench` on the SQLite store (and `BENCH_ONLY=http`): submit and status of
 * an in-process vidgate against floors that do the same work (bench/sqlite-floor.ts), all measured in
 * the same run, interleaved, with a bare Fastify route as the ceiling of the setup for information.
 */
import { readFile, stat, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import Fastify from 'fastify';
import type { App } from '../src/app.js';
import { runLoad, type LoadResult, type LoadSpec } from './load.js';
import type { Row } from './report.js';
import { type Combined, combine, median } from './rounds.js';
import { preparedSqliteFile, startSqliteFloor } from './sqlite-floor.js';
import { historyRows } from './markdown.js';

/** Issue 17's targets for the SQLite HTTP rows: shares of the same-work floors, p99 at half load. */
export const HTTP_TARGETS = { statusRatio: 0.7, submitRatio: 0.6, halfRateP99Ms: 10 } as const;

export interface HttpVidgate {
  app: App;
  base: string;
  logFile: string;
  flushLog: () => void;
  close: () => Promise<void>;
}

export interface HttpBenchSettings {
  connections: number;
  durationSeconds: number;
  warmupSeconds: number;
  rounds: number;
  apiKey: string;
  submitBody: object;
  /** Listen backlog, the same for vidgate (its VIDGATE_LISTEN_BACKLOG) and every floor. */
  backlog: number;
  /** vidgate's default in-flight limit as the bench configures it (the floor checks the same). */
  inFlightLimit: number;
  dir: string;
  say: (line: string) => void;
  startVidgate: (dir: string) => Promise<HttpVidgate>;
  /** Adds a cleanup step for a crash or Ctrl-C. */
  onCleanup: (step: () => Promise<unknown>) => void;
}

type Half = LoadResult & { rate: number };

export interface HttpResults {
  date: string;
  command: string;
  loadAtStart: number;
  loadAtEnd: number;
  totalSeconds: number;
  settings: { connections: number; durationSeconds: number; warmupSeconds: number; rounds: number; backlog: number };
  /** Bare Fastify 5 GET of a tiny JSON, no work: the ceiling of this machine and client. */
  bare: Combined;
  statusFloor: Combined;
  status: Combined;
  submitFloor: Combined;
  submit: Combined;
  /** The submit floor committing each submit on its own (no group commit), for information. */
  submitFloorSolo: Combined;
  /** Per round, vidgate ÷ its floor (the rounds run back to back, so a busy spell hits both). */
  statusRatios: number[];
  submitRatios: number[];
  statusHalf: Half;
  statusFloorHalf: Half;
  submitHalf: Half;
  submitFloorHalf: Half;
  logBytesPerRequest: number;
}

async function measured(spec: LoadSpec): Promise<LoadResult> {
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const before = process.cpuUsage();
  const result = await runLoad(spec);
  const used = process.cpuUsage(before);
  loop.disable();
  return {
    ...result,
    serverCpuUs: result.total ? (used.user + used.system) / result.total : NaN,
    loopDelayP99Ms: loop.percentile(99) / 1e6,
    loopDelayMaxMs: loop.max / 1e6,
  };
}

async function submitOnce(base: string, apiKey: string, body: object): Promise<string> {
  const res = await fetch(`${base}/v1/videos/generations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as { data?: Array<{ task_id?: string }> };
  const id = json.data?.[0]?.task_id;
  if (res.status !== 200 || !id) throw new Error(`submit failed: HTTP ${res.status} ${JSON.stringify(json)}`);
  return id;
}

/** A bare Fastify 5 route, no logging, no work: the most this Node, framework and client do here. */
async function startBare(backlog: number): Promise<{ url: string; close: () => Promise<void> }> {
  const server = Fastify({ logger: false });
  server.get('/', async () => ({ hello: 'world' }));
  await server.listen({ host: '127.0.0.1', port: 0, backlog });
  const address = server.server.address();
  if (!address || typeof address === 'string') throw new Error('bare floor did not bind a TCP port');
  return { url: `http://127.0.0.1:${address.port}/`, close: () => server.close() };
}

const rounded = (n: number) => Math.round(n * 100) / 100;
const bad = (r: LoadResult) => r.non2xx + r.errors + r.timeouts;
const oneLine = (name: string, r: LoadResult) =>
  `${name} ${Math.round(r.rps)} req/s (p99 ${r.p99} ms, ${r.serverCpuUs?.toFixed(0)} µs CPU/req${bad(r) ? `, ${bad(r)} bad` : ''})`;

export async function runHttpBench(o: HttpBenchSettings, command: string): Promise<HttpResults> {
  const began = performance.now();
  const date = new Date().toISOString();
  const loadAtStart = rounded(loadavg()[0]!);
  const { say } = o;
  const headers = { authorization: `Bearer ${o.apiKey}`, 'content-type': 'application/json' };
  const body = JSON.stringify(o.submitBody);
  const base = { connections: o.connections, durationSeconds: o.durationSeconds };

  const bare = await startBare(o.backlog);
  o.onCleanup(bare.close);
  const bareSpec: LoadSpec = { url: bare.url, ...base };

  // Status: one vidgate and one task, read by vidgate and by the floor from the same database file.
  const statusServer = await o.startVidgate(join(o.dir, 'status'));
  const taskId = await submitOnce(statusServer.base, o.apiKey, o.submitBody);
  const statusFloorServer = await startSqliteFloor(join(o.dir, 'status', 'data', 'vidgate.db'), {
    grouped: true,
    inFlightLimit: o.inFlightLimit,
    backlog: o.backlog,
  });
  o.onCleanup(statusFloorServer.close);
  const statusSpec: LoadSpec = { url: `${statusServer.base}/v1/tasks/${taskId}`, headers: { authorization: headers.authorization }, ...base };
  const statusFloorSpec: LoadSpec = { ...statusSpec, url: `${statusFloorServer.base}/v1/tasks/${taskId}` };

  // Submit: every run, vidgate's or a floor's, starts on a fresh database (each measures the same table sizes).
  let fresh = 0;
  const post = (url: string, extra: Partial<LoadSpec>): LoadSpec => ({ url, method: 'POST', headers, body, ...base, ...extra });
  const submitRun = async (extra: Partial<LoadSpec> = {}) => {
    const server = await o.startVidgate(join(o.dir, `submit-${fresh++}`));
    try {
      return await measured(post(`${server.base}/v1/videos/generations`, extra));
    } finally {
      await server.close();
    }
  };
  const submitFloorRun = async (grouped: boolean, extra: Partial<LoadSpec> = {}) => {
    const file = join(o.dir, `floor-${fresh++}`, 'floor.db');
    await preparedSqliteFile(file, o.apiKey);
    const floor = await startSqliteFloor(file, { grouped, inFlightLimit: o.inFlightLimit, backlog: o.backlog });
    try {
      return await measured(post(`${floor.base}/v1/videos/generations`, extra));
    } finally {
      await floor.close();
    }
  };

  const warm = { durationSeconds: o.warmupSeconds };
  await runLoad({ ...bareSpec, ...warm });
  await runLoad({ ...statusFloorSpec, ...warm });
  await runLoad({ ...statusSpec, ...warm });
  await submitFloorRun(true, warm);
  await submitRun(warm);
  const rounds = {
    bare: [] as LoadResult[],
    statusFloor: [] as LoadResult[],
    status: [] as LoadResult[],
    submitFloor: [] as LoadResult[],
    submit: [] as LoadResult[],
    submitFloorSolo: [] as LoadResult[],
  };
  for (let round = 1; round <= o.rounds; round++) {
    // Each vidgate run right after its floor's, so a busy spell of the shared machine hits both.
    rounds.bare.push(await measured(bareSpec));
    rounds.statusFloor.push(await measured(statusFloorSpec));
    rounds.status.push(await measured(statusSpec));
    rounds.submitFloor.push(await submitFloorRun(true));
    rounds.submit.push(await submitRun());
    rounds.submitFloorSolo.push(await submitFloorRun(false));
    say(`  round ${round}/${o.rounds}: ${(Object.keys(rounds) as Array<keyof typeof rounds>).map((n) => oneLine(n, rounds[n].at(-1)!)).join(', ')}`);
  }
  const c = {
    bare: combine(rounds.bare),
    statusFloor: combine(rounds.statusFloor),
    status: combine(rounds.status),
    submitFloor: combine(rounds.submitFloor),
    submit: combine(rounds.submit),
    submitFloorSolo: combine(rounds.submitFloorSolo),
  };

  // Half of vidgate's own max, offered at a fixed rate to vidgate and, just before, to its floor.
  const statusRate = Math.max(1, Math.round(c.status.rps / 2));
  const statusFloorHalf = { ...(await measured({ ...statusFloorSpec, overallRate: statusRate })), rate: statusRate };
  const statusHalf = { ...(await measured({ ...statusSpec, overallRate: statusRate })), rate: statusRate };
  const submitRate = Math.max(1, Math.round(c.submit.rps / 2));
  const submitFloorHalf = { ...(await submitFloorRun(true, { overallRate: submitRate })), rate: submitRate };
  const submitHalf = { ...(await submitRun({ overallRate: submitRate })), rate: submitRate };
  for (const [name, r, f] of [
    ['status', statusHalf, statusFloorHalf],
    ['submit', submitHalf, submitFloorHalf],
  ] as const) {
    say(
      `  ${name} at ${r.rate} req/s: p50 ${r.p50} ms, p99 ${r.p99} ms (raw p99 ${r.rawP99.toFixed(2)} ms, event loop max ${r.loopDelayMaxMs?.toFixed(0)} ms); its floor at that rate p99 ${f.p99} ms`,
    );
  }

  statusServer.flushLog();
  const logText = await readFile(statusServer.logFile, 'utf8');
  const requestLines = logText.split('\n').filter((line) => line.includes('"msg":"request"')).length;
  const logBytesPerRequest = requestLines ? (await stat(statusServer.logFile)).size / requestLines : 0;
  await statusFloorServer.close();
  await statusServer.close();
  await bare.close();
  return {
    date,
    command,
    loadAtStart,
    loadAtEnd: rounded(loadavg()[0]!),
    totalSeconds: (performance.now() - began) / 1000,
    settings: { connections: o.connections, durationSeconds: o.durationSeconds, warmupSeconds: o.warmupSeconds, rounds: o.rounds, backlog: o.backlog },
    ...c,
    statusRatios: rounds.status.map((r, i) => r.rps / rounds.statusFloor[i]!.rps),
    submitRatios: rounds.submit.map((r, i) => r.rps / rounds.submitFloor[i]!.rps),
    statusHalf,
    statusFloorHalf,
    submitHalf,
    submitFloorHalf,
    logBytesPerRequest,
  };
}

// ---------------------------------------------------------------------------------------------
// Report: rows of the results table, the details block, and the HTTP history.

const int = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
const pct = (n: number): string => `${Math.round(n * 100)} %`;
const us = (r: LoadResult): string => (r.serverCpuUs !== undefined && Number.isFinite(r.serverCpuUs) ? `${Math.round(r.serverCpuUs)} µs` : 'n/a');
const verdict = (ok: boolean): string => (ok ? 'PASS' : 'FAIL');
const clean = (r: LoadResult) => bad(r) === 0;

function problems(r: LoadResult): string {
  if (clean(r)) return '';
  const codes = Object.entries(r.statusCodes)
    .filter(([code]) => !code.startsWith('2'))
    .map(([code, n]) => `${n}×${code}`);
  return ` — INVALID: ${[...codes, r.errors ? `${r.errors} errors` : '', r.timeouts ? `${r.timeouts} timeouts` : ''].filter(Boolean).join(', ')}`;
}

/** The ratio judged: the median of the per-round ratios (each vidgate run next to its floor's). */
export const statusRatio = (h: HttpResults) => median(h.statusRatios);
export const submitRatio = (h: HttpResults) => median(h.submitRatios);

/** How the HTTP rows of the results table begin, so an HTTP-only run finds and replaces them. */
const HTTP_ROW_PATTERNS = [
  /^\| Ceiling: bare Fastify/,
  /^\| Floor: bare Fastify/,
  /^\| Submit POST \/v1\/videos\/generations/,
  /^\| Status GET \/v1\/tasks/,
  /^\| (Submit|Status) at 50 % of its max/,
];

export function httpRows(h: HttpResults): Row[] {
  const throughput = (r: LoadResult) => `${int(r.rps)} req/s (p50 ${r.p50} ms, p99 ${r.p99} ms, ${us(r)} CPU/req)${problems(r)}`;
  const half = (r: Half) => `p50 ${r.p50} ms, p99 ${r.p99} ms at ${int(r.rate)} req/s${problems(r)}`;
  const cpuRatio = (a: LoadResult, b: LoadResult) => `CPU/req ${((a.serverCpuUs ?? NaN) / (b.serverCpuUs ?? NaN)).toFixed(2)}×`;
  const status = statusRatio(h);
  const submit = submitRatio(h);
  return [
    {
      measure: 'Ceiling: bare Fastify 5 GET, tiny JSON, no work, max (information)',
      result: throughput(h.bare),
      floor: '—',
      vsFloor: `status ${pct(h.status.rps / h.bare.rps)}, submit ${pct(h.submit.rps / h.bare.rps)} of it`,
      target: '—',
      pass: clean(h.bare) ? '—' : 'INVALID',
    },
    {
      measure: 'Status GET /v1/tasks/{id}, max',
      result: throughput(h.status),
      floor: `${throughput(h.statusFloor)} (same-work floor)`,
      vsFloor: `${pct(status)} (${cpuRatio(h.status, h.statusFloor)})`,
      target: `≥ ${pct(HTTP_TARGETS.statusRatio)} of floor`,
      pass: verdict(clean(h.status) && clean(h.statusFloor) && status >= HTTP_TARGETS.statusRatio),
    },
    {
      measure: 'Submit POST /v1/videos/generations, max',
      result: throughput(h.submit),
      floor: `${throughput(h.submitFloor)} (same-work floor, group commit; committing each alone: ${int(h.submitFloorSolo.rps)} req/s)`,
      vsFloor: `${pct(submit)} (${cpuRatio(h.submit, h.submitFloor)})`,
      target: `≥ ${pct(HTTP_TARGETS.submitRatio)} of floor`,
      pass: verdict(clean(h.submit) && clean(h.submitFloor) && submit >= HTTP_TARGETS.submitRatio),
    },
    {
      measure: 'Status at 50 % of its max rate',
      result: half(h.statusHalf),
      floor: `p99 ${h.statusFloorHalf.p99} ms at the same rate`,
      vsFloor: '—',
      target: `p99 < ${HTTP_TARGETS.halfRateP99Ms} ms`,
      pass: verdict(clean(h.statusHalf) && h.statusHalf.p99 < HTTP_TARGETS.halfRateP99Ms),
    },
    {
      measure: 'Submit at 50 % of its max rate',
      result: half(h.submitHalf),
      floor: `p99 ${h.submitFloorHalf.p99} ms at the same rate`,
      vsFloor: '—',
      target: `p99 < ${HTTP_TARGETS.halfRateP99Ms} ms`,
      pass: verdict(clean(h.submitHalf) && h.submitHalf.p99 < HTTP_TARGETS.halfRateP99Ms),
    },
  ];
}

function markdownTable(headers: string[], rows: string[][]): string {
  const cell = (c: string) => c.replace(/\|/g, '\\|');
  return [`| ${headers.join(' | ')} |`, `| ${headers.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');
}

function detailsTable(h: HttpResults): string {
  const row = (name: string, r: LoadResult & { roundsRps?: number[] }, rate: string) => [
    name,
    rate,
    r.roundsRps ? `${int(r.rps)} (rounds: ${r.roundsRps.map(int).join(', ')})` : int(r.rps),
    int(r.total),
    String(r.non2xx),
    String(r.errors + r.timeouts),
    `${r.p50} / ${r.p99}`,
    `${r.rawP50.toFixed(2)} / ${r.rawP99.toFixed(2)} / ${r.rawMax.toFixed(1)}`,
    us(r),
    r.loopDelayP99Ms === undefined ? 'n/a' : `${r.loopDelayP99Ms.toFixed(1)} / ${r.loopDelayMaxMs!.toFixed(0)}`,
  ];
  const rate = (r: Half) => `${int(r.rate)} req/s`;
  return markdownTable(
    [
      'Run',
      'Offered rate',
      'req/s (median)',
      'Responses',
      'non-2xx',
      'errors',
      'autocannon p50 / p99 (ms)',
      'raw p50 / p99 / max (ms)',
      'server CPU per response',
      'event-loop delay p99 / max (ms)',
    ],
    [
      row('ceiling (bare Fastify, no work)', h.bare, 'max'),
      row('status floor (same work)', h.statusFloor, 'max'),
      row('status, vidgate', h.status, 'max'),
      row('submit floor (same work, group commit)', h.submitFloor, 'max'),
      row('submit, vidgate', h.submit, 'max'),
      row('submit floor, each committed alone', h.submitFloorSolo, 'max'),
      row('status floor (same work)', h.statusFloorHalf, rate(h.statusFloorHalf)),
      row('status, vidgate', h.statusHalf, rate(h.statusHalf)),
      row('submit floor (same work, group commit)', h.submitFloorHalf, rate(h.submitFloorHalf)),
      row('submit, vidgate', h.submitHalf, rate(h.submitHalf)),
    ],
  );
}

/** The HTTP line of the file's header. */
export function httpBullet(h: HttpResults): string {
  return `- **HTTP load:** autocannon 8 in a separate process, ${h.settings.connections} connections, to 127.0.0.1, against vidgate in-process on SQLite and floors that do the same work, interleaved in the same run (${h.date}, \`${h.command}\`); see the HTTP block under Details, which \`BENCH_ONLY=http\` rewrites with these rows.`;
}

/** How to read the HTTP rows, in the file's "How to read this". */
export const HTTP_READING =
  'Each HTTP floor is a bare Fastify 5 route that does the same work as vidgate\'s route (the same key authentication and SQLite statements on the same driver, schema and pragmas, bench/sqlite-floor.ts), so "vs floor" is the share of it vidgate keeps after everything else it does (validation, rate limits, logging, metrics, the view); the bare route that does no work is shown as the ceiling of this setup (client and server share the same cores), for information. The 50 % rows offer half of each measured maximum at a fixed rate; their percentiles come from autocannon, which corrects for coordinated omission and rounds to whole milliseconds, and the raw column gives the uncorrected sub-millisecond view of the same run; the same-work floor is offered the same rate just before each, so a tail that shows in both is the machine, not vidgate;';
/** The sentences HTTP_READING replaces in a file written before the same-work floors. */
const OLD_READING_START = 'The HTTP floor is the most a bare Fastify 5 route answers';
const OLD_READING_END = 'so a tail that shows in both is the machine, not vidgate;';

const HTTP_BLOCK_START = '<!-- http: rewritten by BENCH_ONLY=http -->';
const HTTP_BLOCK_END = '<!-- /http -->';
const HISTORY_HEADING = '### History (HTTP on SQLite, against the same-work floors)';
const HISTORY_KEEP = 20;

/** The HTTP details and their history, between markers an HTTP-only run finds. */
export function httpBlock(h: HttpResults, history: string[]): string {
  const s = h.settings;
  const ratios = (list: number[]) => list.map((r) => pct(r)).join(', ');
  const historyRow = `| ${[
    h.date,
    `${int(h.status.rps)} / ${int(h.statusFloor.rps)} (${pct(statusRatio(h))}; CPU ${us(h.status)} / ${us(h.statusFloor)})`,
    `${int(h.submit.rps)} / ${int(h.submitFloor.rps)} (${pct(submitRatio(h))}; CPU ${us(h.submit)} / ${us(h.submitFloor)})`,
    `${h.statusHalf.p99} / ${h.statusFloorHalf.p99} ms`,
    `${h.submitHalf.p99} / ${h.submitFloorHalf.p99} ms`,
    int(h.bare.rps),
    `${h.loadAtStart} / ${h.loadAtEnd}`,
  ].join(' | ')} |`;
  const rows = [...history, historyRow].slice(-HISTORY_KEEP);
  return `${HTTP_BLOCK_START}
HTTP rows: ${h.date}, \`${h.command}\` (${h.totalSeconds.toFixed(0)} s), 1-min load average ${h.loadAtStart} at the start and ${h.loadAtEnd} at the end. autocannon 8 in a separate process, ${s.connections} connections, to 127.0.0.1; every server listens with a backlog of ${s.backlog}. Max rates: ${s.rounds} rounds of ceiling → status floor → status → submit floor → submit → submit floor committing alone, ${s.durationSeconds} s each after a ${s.warmupSeconds} s warm-up of each; medians reported, and the ratio judged is the median of the ${s.rounds} per-round ratios (status: ${ratios(h.statusRatios)}; submit: ${ratios(h.submitRatios)}), since each vidgate run follows its floor's and a busy spell of the shared machine tends to hit both. 50 % rows: half of vidgate's own max, offered at a fixed rate for one ${s.durationSeconds} s run, to the floor first and then to vidgate. vidgate runs in-process with log level \`info\` written to a file (${h.logBytesPerRequest.toFixed(0)} bytes of log per request), per-key rate and in-flight limits raised out of the way (the checks still run), and its dispatcher stopped so submitted tasks just queue. Every submit run, vidgate's or a floor's, starts on a fresh database.

The floors (bench/sqlite-floor.ts) are bare Fastify 5 routes in the same process (no logging, no schemas, no hooks) on the same better-sqlite3 driver, the same schema and pragmas (the file is opened with src/'s own \`SqliteConnection\`: WAL, synchronous NORMAL, its checkpoint thread). Status floor: sha256 of the bearer secret, \`SELECT * FROM api_keys WHERE hash = ?\`, \`SELECT * FROM tasks WHERE id = ?\` on the very file and task the vidgate status server reads, the row serialised with its request parsed. Submit floor: the same key lookup, a minimal body check (model and prompt are strings), then \`SqliteTaskQueue.submitOne\` + \`LedgerWriter.move\` statement for statement, text for text (account and key rows read, the in-flight, cap and balance checks, INSERT task RETURNING *, UPDATE api_keys in_flight, INSERT ledger, UPDATE accounts RETURNING, UPDATE api_keys spent), each submit in a savepoint of a transaction shared by the submits that arrive in one turn of the event loop, as vidgate's \`GroupCommit\` does; the row "each committed alone" runs it as its own IMMEDIATE transaction. The ceiling is a bare route that does no work at all, for information: what is left of it after the same-work floor is what authentication and SQLite cost on this machine. "CPU/req" is this process's CPU (user + system, all threads) per response.

HTTP runs:

${detailsTable(h)}

${HISTORY_HEADING}

One line per run of the HTTP rows, newest last, last ${HISTORY_KEEP} kept. Each figure is vidgate / its same-work floor (ratio judged; CPU per request of each).

| Date | Status req/s | Submit req/s | Status p99 @50 % vidgate / floor | Submit p99 @50 % vidgate / floor | Ceiling req/s | Load start / end |
| --- | --- | --- | --- | --- | --- | --- |
${rows.join('\n')}
${HTTP_BLOCK_END}`;
}

/** The HTTP history rows of the file, read before it is rewritten. */
export async function previousHttpHistory(file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const start = text.indexOf(HTTP_BLOCK_START);
  const end = text.indexOf(HTTP_BLOCK_END);
  if (start < 0 || end < start) return [];
  const block = text.slice(start, end);
  const at = block.indexOf(HISTORY_HEADING);
  return at < 0 ? [] : historyRows(block.slice(at));
}

/**
 * `BENCH_ONLY=http`: rewrites only the HTTP parts of BENCHMARKS.md: the HTTP rows of the results table
 * (in place, or at the top of it) and the HTTP block (between its markers, or in place of the old
 * "HTTP runs:" table in a file written before the markers).
 */
export async function writeHttpParts(file: string, h: HttpResults, history: string[]): Promise<void> {
  const lines = (await readFile(file, 'utf8')).split('\n');
  const results = lines.indexOf('## Results');
  if (results < 0) throw new Error(`${file} has no results table: run the whole benchmark once`);
  const tableEnd = (() => {
    let i = lines.findIndex((line, n) => n > results && line.startsWith('|'));
    while (i >= 0 && lines[i]?.startsWith('|')) i++;
    return i;
  })();
  const isHttpRow = (line: string, i: number) => i > results && i < tableEnd && HTTP_ROW_PATTERNS.some((p) => p.test(line));
  const first = lines.findIndex((line, i) => isHttpRow(line, i));
  // The first body row: just after the header and its separator.
  const headerAt = lines.findIndex((line, i) => i > results && line.startsWith('|'));
  const insertAt = first >= 0 ? first : headerAt + 2;
  const fresh = httpRows(h).map((r) => `| ${[r.measure, r.result, r.floor, r.vsFloor, r.target, r.pass].map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`);
  const removedBefore = lines.slice(0, insertAt).filter((line, i) => isHttpRow(line, i)).length;
  const kept = lines.filter((line, i) => !isHttpRow(line, i));
  kept.splice(insertAt - removedBefore, 0, ...fresh);

  const bullet = kept.findIndex((line) => line.startsWith('- **HTTP load:**'));
  if (bullet >= 0) kept[bullet] = httpBullet(h);
  let text = kept.join('\n');
  const oldReading = text.indexOf(OLD_READING_START);
  const oldReadingEnd = oldReading < 0 ? -1 : text.indexOf(OLD_READING_END, oldReading);
  if (oldReadingEnd > 0) text = `${text.slice(0, oldReading)}${HTTP_READING}${text.slice(oldReadingEnd + OLD_READING_END.length)}`;
  const block = httpBlock(h, history);
  const start = text.indexOf(HTTP_BLOCK_START);
  const end = text.indexOf(HTTP_BLOCK_END);
  if (start >= 0 && end > start) {
    text = `${text.slice(0, start)}${block}${text.slice(end + HTTP_BLOCK_END.length)}`;
  } else {
    const old = text.indexOf('\nHTTP runs:\n');
    if (old < 0) throw new Error(`${file} has no HTTP details to replace: run the whole benchmark once`);
    // The old block is the "HTTP runs:" line and its table.
    const after = text.slice(old + 1);
    const tableStart = after.indexOf('\n|');
    let stop = tableStart;
    const rest = after.slice(tableStart + 1).split('\n');
    let n = 0;
    while (n < rest.length && rest[n]!.startsWith('|')) n++;
    stop = tableStart + 1 + rest.slice(0, n).join('\n').length;
    text = `${text.slice(0, old + 1)}${block}${after.slice(stop)}`;
  }
  await writeFile(file, text);
}
