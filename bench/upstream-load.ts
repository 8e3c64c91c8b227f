/**
 * `BENCH_ONLY=upstream npm run bench`: N tasks in flight against the fake Ark (test/helpers), each
 * finishing upstream after a random 5–60 s. Measures the time from upstream completion to
 * `completed` in vidgate, upstream requests per polled task, and CPU and peak RSS of the gateway.
 *
 * The gateway runs the way a user runs it: `npm run build`, then `node dist/cli/main.js serve` in a
 * process of its own with default Node settings (no V8 flags). Its CPU and memory come from
 * /proc/<pid> (utime + stime; VmHWM and VmRSS), so they hold vidgate alone. Tasks are submitted
 * over HTTP (keep-alive, SUBMIT_CONCURRENCY at a time); completion is read from the gateway's
 * database: its SQLite file opened read-only, or (bench/postgres.ts) its PostgreSQL database. The fake Ark runs in a child process too
 * (bench/fake-ark-process.ts); its CPU and RSS are reported apart, for information.
 */
import { execFile, fork, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import { BIGINT_AS_NUMBER } from '../src/store/postgres/connection.js';
import { Agent, request } from 'undici';
import type { FakeArkReady, FakeArkRequest, FakeArkStats } from './fake-ark-process.js';
import { buildDist } from './dist.js';

export interface UpstreamLoadResult {
  tasks: number;
  completed: number;
  /** Tasks that ended failed or cancelled (expected: 0). */
  failed: number;
  /** True when the time limit ended the wait before every task settled. */
  timedOut: boolean;
  /** Submit phase + 60 s of upstream lifetime + 60 s margin. */
  limitSeconds: number;
  /** Upstream done (fake's clock) → tasks.finished_at (gateway's clock, same machine). */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  listCalls: number;
  polledIds: number;
  /** Single-task GETs (each polls one task). */
  pollCalls: number;
  /** (list calls + single GETs) / (task ids in lists + single GETs). */
  requestsPerTaskPerRound: number;
  upstreamSubmits: number;
  /** Result downloads from the fake (expected: one per completed task). */
  upstreamFileRequests: number;
  /** Any other request to the fake besides submits, lists, single GETs and files. */
  upstreamOtherRequests: number;
  /** Gateway process (utime + stime from /proc), from the first submit to the last task settled. */
  cpuPercentOfOneCore: number;
  /** Gateway process during the submit phase (the benchmark submits as fast as it answers). */
  submitPhaseCpuPercentOfOneCore: number;
  /** Gateway process after the submit phase: polling and downloading only. */
  pollPhaseCpuPercentOfOneCore: number;
  /** Gateway CPU seconds over the run (submits included). */
  cpuSeconds: number;
  /** Gateway process peak RSS: VmHWM from /proc/<pid>/status at the end of the run. */
  peakRssMb: number;
  /** Gateway VmRSS sampled every 200 ms from the first submit to the end: the largest sample. */
  sampledPeakRssMb: number;
  /** Gateway VmRSS right after /readyz answered (vidgate started, nothing submitted). */
  startRssMb: number;
  /** Gateway VmRSS at the end of the submit phase and at the end of the run. */
  afterSubmitsRssMb: number;
  endRssMb: number;
  /** Lines the gateway wrote to stdout/stderr (log level warn) from start to exit. */
  gatewayLogLines: number;
  /** From SIGTERM to the gateway's exit. */
  shutdownSeconds: number;
  /** The fake Ark child process, over the same run. */
  fakeCpuPercentOfOneCore: number;
  fakePeakRssMb: number;
  submitConcurrency: number;
  submitSeconds: number;
  /** Per submit request over HTTP, as seen by the benchmark. */
  submitP50Ms: number;
  submitP99Ms: number;
  wallSeconds: number;
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))] ?? NaN;

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Submits in flight at once, over as many keep-alive connections. */
const SUBMIT_CONCURRENCY = 50;
/** The longest an upstream task runs (bench/fake-ark-process.ts) and the slack on top of it. */
const UPSTREAM_LIFETIME_MS = 60_000;
const LIMIT_MARGIN_MS = 60_000;
/** How often the gateway's database is read for finished tasks, and its RSS sampled. */
const DB_POLL_MS = 500;
const RSS_SAMPLE_MS = 200;
const READY_TIMEOUT_MS = 60_000;
const KILL_AFTER_MS = 15_000;
/** Gateway output lines copied to this process's stderr; the rest are only counted. */
const LOG_LINES_SHOWN = 20;
const API_KEY = 'sk-bench-0123456789abcdefghijklmnop';
const FAKE_ARK_PROCESS = fileURLToPath(new URL('./fake-ark-process.ts', import.meta.url));
const FINISHED = new Set(['completed', 'failed', 'cancelled']);

interface FakeArkChild {
  baseUrl: string;
  start(): void;
  stats(): Promise<FakeArkStats>;
  /** Disconnects (the child closes the fake and exits), SIGKILL if it has not exited in 10 s. */
  stop(): Promise<void>;
}

/** Forks bench/fake-ark-process.ts with tsx as loader and waits for its base URL. */
async function startFakeArkProcess(): Promise<FakeArkChild> {
  const child: ChildProcess = fork(FAKE_ARK_PROCESS, [], {
    // tsx resolved from here, not from the working directory.
    execArgv: ['--import', import.meta.resolve('tsx')],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  // A failed spawn or send also ends up here; the waits below see it through 'exit' or their own 'error'.
  child.on('error', (err) => process.stderr.write(`fake Ark process: ${err.message}\n`));
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  const next = <T extends { type: string }>(type: T['type'], what: string, timeoutMs: number) =>
    new Promise<T>((resolve, reject) => {
      const done = (err: Error | null, value?: T) => {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
        child.off('error', onError);
        if (err) reject(err);
        else resolve(value!);
      };
      const onMessage = (message: unknown) => {
        if ((message as { type?: string } | null)?.type === type) done(null, message as T);
      };
      const onExit = (code: number | null, signal: string | null) => done(new Error(`fake Ark process exited (${signal ?? code}) before ${what}`));
      const onError = (err: Error) => done(new Error(`fake Ark process before ${what}: ${err.message}`));
      const timer = setTimeout(() => done(new Error(`fake Ark process: no ${what} within ${timeoutMs / 1000} s`)), timeoutMs);
      child.on('message', onMessage);
      child.once('exit', onExit);
      child.once('error', onError);
    });
  const send = (message: FakeArkRequest) => void child.send(message);
  const stop = async () => {
    if (child.connected) child.disconnect();
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    const ready = await next<FakeArkReady>('ready', 'its base URL', 60_000);
    return {
      baseUrl: ready.baseUrl,
      start: () => send({ type: 'start' }),
      stats: async () => {
        const answer = next<FakeArkStats>('stats', 'its stats', 60_000);
        send({ type: 'stats' });
        return answer;
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Clock ticks per second of /proc/<pid>/stat times (`getconf CLK_TCK`; 100 if that fails). */
function clockTicksPerSecond(): Promise<number> {
  return new Promise((resolve) =>
    execFile('getconf', ['CLK_TCK'], (err, stdout) => {
      const ticks = Number(String(stdout).trim());
      resolve(!err && Number.isInteger(ticks) && ticks > 0 ? ticks : 100);
    }),
  );
}

/** utime + stime of a process, in clock ticks (its own threads; not its children). */
async function cpuTicks(pid: number): Promise<number> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8');
  // After "pid (comm) " come the fields from 3 (state) on; utime is field 14, stime 15.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[14 - 3]) + Number(fields[15 - 3]);
  if (!Number.isFinite(ticks)) throw new Error(`cannot read utime/stime from /proc/${pid}/stat`);
  return ticks;
}

/** A field of /proc/<pid>/status in kB (VmRSS: resident now; VmHWM: the most resident so far). */
async function statusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): Promise<number> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
  if (!match) throw new Error(`/proc/${pid}/status has no ${field}`);
  return Number(match[1]);
}

/** A TCP port free on 127.0.0.1 a moment ago (the gateway fails to start in the unlikely race). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = address && typeof address === 'object' ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('could not find a free port'))));
    });
  });
}

interface Gateway {
  pid: number;
  base: string;
  /** Why it exited, once it has; else null. */
  exitedWith(): string | null;
  /** Lines written to stdout/stderr so far, and the last of them. */
  logLines(): number;
  logTail(): string;
  /** SIGTERM, SIGKILL if it has not exited after 15 s; answers the seconds until it exited. Idempotent. */
  stop(): Promise<number>;
}

/**
 * `node dist/cli/main.js serve` in its own process, as `npm start` runs it: no V8 flags, NODE_OPTIONS
 * and any VIDGATE_* of this environment left out so only `env` configures it. Ready once /readyz says 200.
 */
async function startGateway(env: Record<string, string>): Promise<Gateway> {
  const port = await freePort();
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('VIDGATE_') && name !== 'PORT' && name !== 'NODE_OPTIONS'),
  );
  // BENCH_GATEWAY_NODE_FLAGS (e.g. `--cpu-prof`) is for investigating a run, never for the record.
  const flags = (process.env.BENCH_GATEWAY_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
  const child = spawn(process.execPath, [...flags, 'dist/cli/main.js', 'serve'], {
    cwd: ROOT,
    env: { ...inherited, ...env, VIDGATE_HOST: '127.0.0.1', VIDGATE_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let exitedWith: string | null = null;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exitedWith = signal ?? `exit ${code}`;
      resolve();
    });
    child.once('error', (err) => {
      // A failed spawn emits no 'exit'.
      if (child.pid === undefined) {
        exitedWith = `spawn failed: ${err.message}`;
        resolve();
      }
    });
  });
  let lines = 0;
  const tail: string[] = [];
  // BENCH_GATEWAY_LOG names a file that receives all of the gateway's output (for investigating).
  const copy = process.env.BENCH_GATEWAY_LOG ? createWriteStream(process.env.BENCH_GATEWAY_LOG) : null;
  for (const stream of [child.stdout!, child.stderr!]) {
    createInterface({ input: stream }).on('line', (line) => {
      copy?.write(`${line}\n`);
      lines++;
      tail.push(line);
      if (tail.length > LOG_LINES_SHOWN) tail.shift();
      if (lines <= LOG_LINES_SHOWN) process.stderr.write(`[vidgate] ${line}\n`);
      else if (lines === LOG_LINES_SHOWN + 1) process.stderr.write(`[vidgate] (further output only counted)\n`);
    });
  }
  let stopping: Promise<number> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      const from = Date.now();
      if (exitedWith === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
        await exited;
        clearTimeout(timer);
      }
      return (Date.now() - from) / 1000;
    })());
  const base = `http://127.0.0.1:${port}`;
  try {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (exitedWith !== null) throw new Error(`vidgate serve ended (${exitedWith}) before it was ready:\n${tail.join('\n')}`);
      const status = await fetch(`${base}/readyz`).then(
        async (res) => (await res.arrayBuffer(), res.status),
        () => 0,
      );
      if (status === 200) break;
      if (Date.now() > deadline) throw new Error(`vidgate serve not ready within ${READY_TIMEOUT_MS / 1000} s (last /readyz: ${status || 'no answer'})`);
      await sleep(100);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { pid: child.pid!, base, exitedWith: () => exitedWith, logLines: () => lines, logTail: () => tail.join('\n'), stop };
}

interface TaskRowsReader {
  countByStatus(): Promise<Array<{ status: string; n: number }>>;
  rows(): Promise<Array<{ id: string; status: string; finished_at: number | null; provider_state: string | null }>>;
  close(): Promise<void>;
}

const COUNT_BY_STATUS = 'SELECT status, COUNT(*) AS n FROM tasks GROUP BY status';
const TASK_ROWS = 'SELECT id, status, finished_at, provider_state FROM tasks';

/** Read-only: sees what the gateway has committed (WAL), writes nothing. */
function sqliteReader(file: string): TaskRowsReader {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  const counts = db.prepare<[], { status: string; n: number }>(COUNT_BY_STATUS);
  return {
    countByStatus: async () => counts.all(),
    rows: async () => db.prepare<[], Awaited<ReturnType<TaskRowsReader['rows']>>[number]>(TASK_ROWS).all(),
    close: async () => {
      db.close();
    },
  };
}

async function postgresReader(url: string): Promise<TaskRowsReader> {
  const client = new pg.Client({ connectionString: url, types: BIGINT_AS_NUMBER, application_name: 'vidgate-bench-reader' });
  await client.connect();
  return {
    countByStatus: async () => (await client.query<{ status: string; n: number }>(COUNT_BY_STATUS)).rows,
    rows: async () => (await client.query(TASK_ROWS)).rows,
    close: () => client.end(),
  };
}

/** `databaseUrl`: the gateway runs on that PostgreSQL database (empty) instead of its SQLite file. */
export async function runUpstreamLoad(n: number, options: { databaseUrl?: string } = {}): Promise<UpstreamLoadResult> {
  if ((await buildDist()) === 'failed') throw new Error('tsc -p tsconfig.build.json failed: the gateway cannot be built');
  const ticksPerSecond = await clockTicksPerSecond();
  const ark = await startFakeArkProcess();
  let dir: string | undefined;
  let gateway: Gateway | undefined;
  let db: TaskRowsReader | undefined;
  let agent: Agent | undefined;
  let rssTimer: NodeJS.Timeout | undefined;
  try {
    dir = await mkdtemp(join(tmpdir(), 'vidgate-upstream-bench-'));
    const configFile = join(dir, 'vidgate.yaml');
    const dataDir = join(dir, 'data');
    await writeFile(
      configFile,
      `channels:\n  - name: ark\n    provider: ark\n    base_url: ${ark.baseUrl}\n    api_keys: [ark-key]\n    models:\n      doubao-seedance-2.0: doubao-seedance-2-0-260128\n    max_in_flight: ${n}\n    first_poll_ms: 1000\n    max_poll_ms: 4000\n    expected_seconds: 30\n`,
    );
    gateway = await startGateway({
      VIDGATE_DATA_DIR: dataDir,
      VIDGATE_LOG_LEVEL: 'warn',
      VIDGATE_BOOTSTRAP_KEY: API_KEY,
      VIDGATE_CONFIG: configFile,
      VIDGATE_MEDIA_ALLOW_HOSTS: '127.0.0.1',
      VIDGATE_DEFAULT_RPM: '1000000',
      VIDGATE_DEFAULT_IN_FLIGHT: '1000000',
      VIDGATE_SHUTDOWN_GRACE_SECONDS: '0',
      ...(options.databaseUrl ? { VIDGATE_DATABASE_URL: options.databaseUrl } : {}),
    });
    const { pid, base } = gateway;
    const startRssKiB = await statusKiB(pid, 'VmRSS');
    db = options.databaseUrl ? await postgresReader(options.databaseUrl) : sqliteReader(join(dataDir, 'vidgate.db'));
    const reader = db;
    agent = new Agent({ connections: SUBMIT_CONCURRENCY, keepAliveTimeout: 60_000 });

    ark.start();
    let sampledPeakKiB = startRssKiB;
    let sampling = false;
    rssTimer = setInterval(() => {
      if (sampling) return;
      sampling = true;
      statusKiB(pid, 'VmRSS')
        .then(
          (kib) => (sampledPeakKiB = Math.max(sampledPeakKiB, kib)),
          () => undefined,
        )
        .finally(() => (sampling = false));
    }, RSS_SAMPLE_MS);

    const ticksAtStart = await cpuTicks(pid);
    const started = Date.now();
    const ids: string[] = new Array<string>(n);
    const submitMs: number[] = [];
    const body = (i: number) => JSON.stringify({ model: 'doubao-seedance-2.0', prompt: `bench ${i}`, resolution: '480p', duration: 4 });
    let next = 0;
    let submitFailed = false;
    const submitter = async () => {
      while (!submitFailed && next < n) {
        const i = next++;
        const sent = performance.now();
        const res = await request(`${base}/v1/videos/generations`, {
          method: 'POST',
          dispatcher: agent,
          headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
          body: body(i),
        }).catch((err: Error) => {
          submitFailed = true;
          throw new Error(`submit ${i}: ${err.message}`);
        });
        const text = await res.body.text();
        submitMs.push(performance.now() - sent);
        const id = res.statusCode === 200 ? (JSON.parse(text) as { data?: Array<{ task_id?: string }> }).data?.[0]?.task_id : undefined;
        if (!id) {
          submitFailed = true;
          throw new Error(`submit ${i}: HTTP ${res.statusCode} ${text.slice(0, 500)}`);
        }
        ids[i] = id;
      }
    };
    await Promise.all(Array.from({ length: Math.min(SUBMIT_CONCURRENCY, n) }, submitter));
    const submitPhaseMs = Date.now() - started;
    const ticksAfterSubmits = await cpuTicks(pid);
    const afterSubmitsRssKiB = await statusKiB(pid, 'VmRSS');

    // Every upstream task is done at most 60 s after it was created; creations follow the submits.
    const limitMs = submitPhaseMs + UPSTREAM_LIFETIME_MS + LIMIT_MARGIN_MS;
    let timedOut = false;
    for (;;) {
      const exitedWith = gateway.exitedWith();
      if (exitedWith !== null) throw new Error(`vidgate serve ended (${exitedWith}) during the run:\n${gateway.logTail()}`);
      const finished = (await reader.countByStatus()).reduce((sum, row) => sum + (FINISHED.has(row.status) ? row.n : 0), 0);
      if (finished >= n) break;
      if (Date.now() - started >= limitMs) {
        timedOut = true;
        break;
      }
      await sleep(DB_POLL_MS);
    }
    const ticksAtEnd = await cpuTicks(pid);
    const wallMs = Date.now() - started;
    const hwmKiB = await statusKiB(pid, 'VmHWM');
    const endRssKiB = await statusKiB(pid, 'VmRSS');
    clearInterval(rssTimer);
    sampledPeakKiB = Math.max(sampledPeakKiB, afterSubmitsRssKiB, endRssKiB);
    const fake = await ark.stats();

    const rows = await reader.rows();
    await reader.close();
    db = undefined;
    const byId = new Map(rows.map((row) => [row.id, row]));
    const latencies: number[] = [];
    let failed = 0;
    for (const id of ids) {
      const row = byId.get(id);
      if (row?.status === 'failed' || row?.status === 'cancelled') failed++;
      if (row?.status !== 'completed' || row.finished_at === null) continue;
      const state = row.provider_state ? (JSON.parse(row.provider_state) as { data?: { upstreamId?: string } } | null) : null;
      const upstreamId = state?.data?.upstreamId;
      const up = upstreamId ? fake.upstreamDoneAt[upstreamId] : undefined;
      if (up !== undefined) latencies.push(row.finished_at - up);
    }
    latencies.sort((a, b) => a - b);
    submitMs.sort((a, b) => a - b);

    const shutdownSeconds = await gateway.stop();
    const cpuPercent = (ticks: number, ms: number) => (ms > 0 ? (ticks / ticksPerSecond / (ms / 1000)) * 100 : NaN);
    const mb = (kib: number) => kib / 1024;
    const polled = fake.polledIds + fake.pollCalls;
    return {
      tasks: n,
      completed: latencies.length,
      failed,
      timedOut,
      limitSeconds: limitMs / 1000,
      p50Ms: pct(latencies, 0.5),
      p99Ms: pct(latencies, 0.99),
      maxMs: latencies.at(-1) ?? NaN,
      listCalls: fake.listCalls,
      polledIds: fake.polledIds,
      pollCalls: fake.pollCalls,
      requestsPerTaskPerRound: polled ? (fake.listCalls + fake.pollCalls) / polled : NaN,
      upstreamSubmits: fake.submits,
      upstreamFileRequests: fake.fileRequests,
      upstreamOtherRequests: fake.otherRequests - fake.pollCalls - fake.fileRequests,
      cpuPercentOfOneCore: cpuPercent(ticksAtEnd - ticksAtStart, wallMs),
      submitPhaseCpuPercentOfOneCore: cpuPercent(ticksAfterSubmits - ticksAtStart, submitPhaseMs),
      pollPhaseCpuPercentOfOneCore: cpuPercent(ticksAtEnd - ticksAfterSubmits, wallMs - submitPhaseMs),
      cpuSeconds: (ticksAtEnd - ticksAtStart) / ticksPerSecond,
      peakRssMb: mb(hwmKiB),
      sampledPeakRssMb: mb(sampledPeakKiB),
      startRssMb: mb(startRssKiB),
      afterSubmitsRssMb: mb(afterSubmitsRssKiB),
      endRssMb: mb(endRssKiB),
      gatewayLogLines: gateway.logLines(),
      shutdownSeconds,
      fakeCpuPercentOfOneCore: fake.elapsedMs ? ((fake.cpuUserMicros + fake.cpuSystemMicros) / 1000 / fake.elapsedMs) * 100 : NaN,
      fakePeakRssMb: fake.peakRss / 1024 / 1024,
      submitConcurrency: SUBMIT_CONCURRENCY,
      submitSeconds: submitPhaseMs / 1000,
      submitP50Ms: pct(submitMs, 0.5),
      submitP99Ms: pct(submitMs, 0.99),
      wallSeconds: wallMs / 1000,
    };
  } finally {
    clearInterval(rssTimer);
    await db?.close().catch(() => undefined);
    await agent?.destroy().catch(() => undefined);
    await gateway?.stop();
    await ark.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  }
}

export const UPSTREAM_HEADING = '## Upstream polling at scale (fake Ark)';
/** Default 10 000; BENCH_UPSTREAM_TASKS lowers it. */
export const upstreamTasks = () => Number(process.env.BENCH_UPSTREAM_TASKS ?? 10_000);

export function upstreamSummary(r: UpstreamLoadResult): string {
  return `${r.completed}/${r.tasks} completed${r.failed ? ` (${r.failed} failed or cancelled)` : ''}${r.timedOut ? ` (time limit ${r.limitSeconds.toFixed(0)} s hit)` : ''}; upstream done → completed p50 ${(r.p50Ms / 1000).toFixed(2)} s, p99 ${(r.p99Ms / 1000).toFixed(2)} s; ${r.requestsPerTaskPerRound.toFixed(4)} upstream requests per task per poll; gateway process CPU ${r.cpuPercentOfOneCore.toFixed(0)} % of a core (${r.pollPhaseCpuPercentOfOneCore.toFixed(0)} % after submits), peak RSS ${r.peakRssMb.toFixed(0)} MB (VmHWM; ${r.startRssMb.toFixed(0)} MB when ready); fake Ark (child) CPU ${r.fakeCpuPercentOfOneCore.toFixed(0)} %, peak RSS ${r.fakePeakRssMb.toFixed(0)} MB; submits ${r.submitSeconds.toFixed(1)} s`;
}

export function upstreamSection(r: UpstreamLoadResult, date: string): string {
  const ok = (pass: boolean) => (pass ? 'met' : '**missed**');
  const rows: Array<[string, string, string]> = [
    ['Tasks in flight (each done upstream after a random 5–60 s)', String(r.tasks), ''],
    [
      'Completed in vidgate (failed or cancelled)',
      `${r.completed} (${r.failed})${r.timedOut ? `; time limit of ${r.limitSeconds.toFixed(0)} s hit` : ''}`,
      ok(r.completed === r.tasks),
    ],
    ['Upstream done → `completed`, p50', `${(r.p50Ms / 1000).toFixed(2)} s`, ''],
    ['Upstream done → `completed`, p99 (max)', `${(r.p99Ms / 1000).toFixed(2)} s (${(r.maxMs / 1000).toFixed(2)} s)`, `≤ 2 s: ${ok(r.p99Ms <= 2000)}`],
    ['List requests / task ids polled (single GETs)', `${r.listCalls} / ${r.polledIds} (${r.pollCalls})`, ''],
    ['Upstream requests per task per poll round', r.requestsPerTaskPerRound.toFixed(4), `≤ 0.01: ${ok(r.requestsPerTaskPerRound <= 0.01)}`],
    ['Upstream submits / result downloads / other requests', `${r.upstreamSubmits} / ${r.upstreamFileRequests} / ${r.upstreamOtherRequests}`, ''],
    [
      'Gateway CPU, % of one core: whole run (submit phase; after the submits)',
      `${r.cpuPercentOfOneCore.toFixed(0)} % (${r.submitPhaseCpuPercentOfOneCore.toFixed(0)} %; ${r.pollPhaseCpuPercentOfOneCore.toFixed(0)} %)`,
      `< 90 %: ${ok(r.cpuPercentOfOneCore < 90)}`,
    ],
    [
      'Gateway peak RSS, VmHWM (largest 200 ms sample; when ready; at the end)',
      `${r.peakRssMb.toFixed(0)} MB (${r.sampledPeakRssMb.toFixed(0)} MB; ${r.startRssMb.toFixed(0)} MB; ${r.endRssMb.toFixed(0)} MB)`,
      `< 200 MB: ${ok(r.peakRssMb < 200)}`,
    ],
    ['Fake Ark (child process) CPU, % of one core / peak RSS', `${r.fakeCpuPercentOfOneCore.toFixed(0)} % / ${r.fakePeakRssMb.toFixed(0)} MB`, 'info'],
    [
      `Submit phase (${r.submitConcurrency} concurrent HTTP submits, keep-alive): wall time (per submit p50 / p99)`,
      `${r.submitSeconds.toFixed(1)} s (${r.submitP50Ms.toFixed(0)} / ${r.submitP99Ms.toFixed(0)} ms)`,
      '',
    ],
    ['Wall time (submits included)', `${r.wallSeconds.toFixed(0)} s`, ''],
  ];
  return `${UPSTREAM_HEADING}

\`BENCH_ONLY=upstream npm run bench\` (${date}; \`BENCH_UPSTREAM_TASKS\` sets the count). The gateway
runs as a user runs it: \`npm run build\`, then \`node dist/cli/main.js serve\` in a process of its own,
no node flags (\`vidgate serve\` sets V8's \`--heap-growing-percent=50\` itself, \`VIDGATE_HEAP_GROWING_PERCENT\`), log level warn, with one \`ark\` channel (max_in_flight = N,
first_poll_ms 1000, max_poll_ms 4000, expected_seconds 30). Behind it is the fake Ark of the tests,
in another process (bench/fake-ark-process.ts), which holds every task queued until it marks it
succeeded on a timer, a random 5–60 s after the task was created. The benchmark submits the tasks
over HTTP, ${r.submitConcurrency} at a time on keep-alive connections, then reads the gateway's SQLite
database (read-only) every 500 ms until every task has finished. Gateway CPU is utime + stime of its
process (/proc/<pid>/stat) from the first submit to the last task finished; peak RSS is its VmHWM
(/proc/<pid>/status) at the end, next to the largest VmRSS sampled every 200 ms and the RSS once it
answered /readyz. The fake's own figures are given for information. Latency is from the moment the
fake marks the task succeeded (its clock, the same machine's) to the task's \`finished_at\` in vidgate
(result downloaded into storage included).

| Measure | Result | Target |
| --- | --- | --- |
${rows.map(([a, b, c]) => `| ${a} | ${b} | ${c} |`).join('\n')}
`;
}

if (process.argv[1]?.endsWith('upstream-load.ts')) {
  const n = upstreamTasks();
  runUpstreamLoad(n).then(
    (r) => console.log(JSON.stringify(r, null, 2)),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
