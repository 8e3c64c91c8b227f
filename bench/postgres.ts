/**
 * `BENCH_ONLY=postgres npm run bench` (and part of the full run): vidgate on the PostgreSQL store.
 *
 * - Status and submit over HTTP (autocannon in its own process, bench/load.ts) against floors of the
 *   same work measured in the same run: bare Fastify routes with the same `pg` driver, pool size and
 *   named prepared statements, that authenticate the key the same way (sha256 + lookup by hash) and
 *   read the task row / run the submit transaction statement for statement (PgTaskQueue.submitTask,
 *   PgLedgerWriter.move). Round trips per request are counted on every pg client of this process, and
 *   the PostgreSQL server's own CPU (all its processes) is read from /proc.
 * - Tasks per second through 1 and 2 `VIDGATE_ROLE=worker` processes whose channel is a no-op
 *   provider (bench/noop-provider.ts), after an API-role instance queued them.
 * - The upstream benchmark (bench/upstream-load.ts) on PostgreSQL, next to SQLite in the same run.
 *
 * The server is the tests' throwaway one (test/helpers/postgres-server.ts): fsync, full_page_writes
 * and synchronous_commit off. One submit round runs again at the end with all three on, after a
 * restart of the same cluster, because a real deployment pays a WAL flush per commit.
 */
import { execFile, fork, type ChildProcess } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Fastify from 'fastify';
import pg from 'pg';
import pino from 'pino';
import { Agent, request } from 'undici';
import { createApp, type App } from '../src/app.js';
import { ensureBootstrapKey } from '../src/auth/keys.js';
import { loadConfig } from '../src/config/env.js';
import type { ProviderRegistry } from '../src/providers/registry.js';
import { BIGINT_AS_NUMBER } from '../src/store/postgres/connection.js';
import { PostgresStore } from '../src/store/postgres/postgres-store.js';
import { createTestDatabase, provisionPostgres, startPostgresServer, type PostgresServer } from '../test/helpers/postgres-server.js';
import { runLoad, type LoadResult, type LoadSpec } from './load.js';
import { makeTinyMp4, noopChannels } from './noop-provider.js';
import { countPgQueries, perRequest, postgresServerTicks, postmasterPid } from './pg-probe.js';
import type { WorkerStats } from './pg-worker-process.js';
import { combine, median } from './rounds.js';
import { runUpstreamLoad, type UpstreamLoadResult } from './upstream-load.js';
import { markdownTable, previousHistory } from './markdown.js';

export const POSTGRES_HEADING = '## PostgreSQL store';
const HISTORY_SUBHEADING = '### History (PostgreSQL)';
const HISTORY_KEEP = 20;
/** vidgate's default VIDGATE_DATABASE_POOL_SIZE; the floors get the same. */
const POOL_SIZE = 10;
/** Slots of the no-op channel in each worker (the dispatcher claims up to its free slots). */
const NOOP_CONCURRENCY = 16;
const SUBMIT_CONCURRENCY = 20;
const WORKER_TIMEOUT_MS = 180_000;
const WORKER_PROCESS = fileURLToPath(new URL('./pg-worker-process.ts', import.meta.url));
const LIMITS_OFF = { VIDGATE_DEFAULT_RPM: '1000000', VIDGATE_READ_RPM: '10000000', VIDGATE_DEFAULT_IN_FLIGHT: '1000000' };
/** Issue 17's targets for the PostgreSQL rows. */
export const PG_TARGETS = { statusRatio: 0.7, submitRatio: 0.6, halfRateP99Ms: 10 } as const;

export interface PgBenchSettings {
  quick: boolean;
  connections: number;
  durationSeconds: number;
  warmupSeconds: number;
  rounds: number;
  apiKey: string;
  submitBody: object;
  ffmpegPath: string;
  dir: string;
  say: (line: string) => void;
  workerTasks: number;
  upstreamTasks: number;
  /** The SQLite upstream run of the same `npm run bench`, when it already ran; else one is run here. */
  sqliteUpstream: UpstreamLoadResult | null;
}

export interface PgRun extends LoadResult {
  /** CPU of the PostgreSQL server's processes per response (µs). */
  pgCpuUs: number;
  /** pg queries (round trips) per response, and which. */
  queries: { total: number; byStatement: Array<[string, number]> };
}

export interface PgCombined extends PgRun {
  roundsRps: number[];
}

export interface WorkerRun {
  workers: number;
  tasks: number;
  completed: number;
  failed: number;
  timedOut: boolean;
  /** From `go` to the last task's finished_at. */
  drainMs: number;
  /** From `go` to the first task's started_at (process already up, dispatcher starting). */
  firstClaimMs: number;
  tasksPerSecond: number;
  /** Worker processes' CPU (all of them) per task, µs. */
  workerCpuUsPerTask: number;
  pgCpuUsPerTask: number;
  queriesPerTask: number;
  queriesByStatement: Array<[string, number]>;
  /** The API instance queueing them: wall time of the N submits. */
  submitSeconds: number;
}

export interface PgBenchResult {
  date: string;
  serverVersion: string;
  loadAtStart: number;
  loadAtEnd: number;
  settings: { connections: number; durationSeconds: number; warmupSeconds: number; rounds: number; poolSize: number };
  statusFloor: PgCombined;
  status: PgCombined;
  submitFloor: PgCombined;
  submit: PgCombined;
  statusHalf: PgRun & { rate: number };
  statusFloorHalf: PgRun & { rate: number };
  submitHalf: PgRun & { rate: number };
  submitFloorHalf: PgRun & { rate: number };
  /** fsync, full_page_writes and synchronous_commit on. */
  durable: { floor: PgRun; submit: PgRun } | null;
  workers: WorkerRun[];
  upstream: { postgres: UpstreamLoadResult; sqlite: UpstreamLoadResult; pgServerCpuPercent: number };
  totalSeconds: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const ticksPerSecond = async () => {
  const out = await promisify(execFile)('getconf', ['CLK_TCK']).catch(() => ({ stdout: '100' }));
  const n = Number(String(out.stdout).trim());
  return Number.isInteger(n) && n > 0 ? n : 100;
};

interface Target {
  base: string;
  close: () => Promise<void>;
}

/** vidgate in-process on a PostgreSQL database, logging at info to a file like the SQLite HTTP rows. */
async function startVidgateOn(dir: string, url: string, o: PgBenchSettings, extra: { providers?: ProviderRegistry } = {}): Promise<Target & { app: App }> {
  const logFile = join(dir, 'vidgate.log');
  const destination = pino.destination({ dest: logFile, sync: false, mkdir: true });
  const logger = pino({ level: 'info', base: { service: 'vidgate' } }, destination);
  const config = loadConfig({
    VIDGATE_FFMPEG: o.ffmpegPath,
    ...LIMITS_OFF,
    VIDGATE_DATA_DIR: join(dir, 'data'),
    VIDGATE_DATABASE_URL: url,
    VIDGATE_DATABASE_POOL_SIZE: String(POOL_SIZE),
    VIDGATE_ROLE: 'api',
    VIDGATE_BOOTSTRAP_KEY: o.apiKey,
    VIDGATE_LOG_LEVEL: 'info',
    VIDGATE_HOST: '127.0.0.1',
    VIDGATE_PORT: '0',
    VIDGATE_SHUTDOWN_GRACE_SECONDS: '5',
  });
  const app = await createApp(config, { logger, runDispatcher: false, providers: extra.providers });
  await app.server.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.server.address();
  if (!address || typeof address === 'string') throw new Error('vidgate did not bind a TCP port');
  return {
    app,
    base: `http://127.0.0.1:${address.port}`,
    close: async () => {
      await app.close();
      destination.flushSync();
      destination.end();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The same statements as PgTaskQueue.submitTask and PgLedgerWriter.move, text for text (so the same plans). */
const SQL = {
  keyByHash: 'SELECT * FROM api_keys WHERE hash = $1',
  task: 'SELECT * FROM tasks WHERE id = $1',
  lockAccount: 'SELECT * FROM accounts WHERE id = $1 FOR UPDATE',
  lockKey: 'SELECT * FROM api_keys WHERE id = $1 FOR UPDATE',
  insertTask: `INSERT INTO tasks (id, account_id, key_id, status, model, request, seed, provider, estimated_seconds, cost_micros, reserved_micros, created_at, callback_url)
         VALUES ($1, $2, $3, 'pending', $4, $5, $6, $7, $8, $9, $9, $10, $11)`,
  insertLedger: `INSERT INTO ledger (account_id, key_id, task_id, kind, amount_micros, balance_after_micros, note, created_at)
       VALUES ($1, $2, $3, $4, $5, NULL, $6, $7) ON CONFLICT DO NOTHING RETURNING id`,
  updateAccount: `UPDATE accounts SET balance_micros = CASE WHEN unlimited = 1 THEN balance_micros ELSE balance_micros + $2 END,
         spent_micros = spent_micros + $3
       WHERE id = $1 RETURNING unlimited, balance_micros AS balance`,
  keySpent: 'UPDATE api_keys SET spent_micros = spent_micros + $2 WHERE id = $1',
  ledgerBalance: 'UPDATE ledger SET balance_after_micros = $2 WHERE id = $1',
  keyInFlight: 'UPDATE api_keys SET in_flight = in_flight + 1 WHERE id = $1',
  notify: 'SELECT pg_notify($1, $2)',
};
const FLOOR_COST_MICROS = 250_000;

/**
 * The floor: a bare Fastify route (no logging, no schema) doing what vidgate's path must do on the
 * database, on a pool of the same size with the same type parsers and prepared statements.
 */
async function startFloor(url: string): Promise<Target> {
  const pool = new pg.Pool({ connectionString: url, max: POOL_SIZE, types: BIGINT_AS_NUMBER, keepAlive: true, application_name: 'vidgate-floor' });
  pool.on('error', () => undefined);
  const names = new Map<string, string>();
  const named = (text: string) => {
    let name = names.get(text);
    if (!name) names.set(text, (name = `fl_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`));
    return name;
  };
  type Q = pg.Pool | pg.PoolClient;
  const q = <R extends pg.QueryResultRow>(on: Q, text: string, values: unknown[]) => on.query<R>({ name: named(text), text, values });
  const server = Fastify({ logger: false });
  const authenticate = async (header: string | undefined) => {
    const secret = /^Bearer (.+)$/.exec(header ?? '')?.[1];
    if (!secret) return null;
    const hash = createHash('sha256').update(secret, 'utf8').digest('hex');
    const key = (await q<{ id: string; account_id: string; disabled: number }>(pool, SQL.keyByHash, [hash])).rows[0];
    return key && !key.disabled ? key : null;
  };
  server.get<{ Params: { id: string } }>('/v1/tasks/:id', async (req, reply) => {
    const key = await authenticate(req.headers.authorization);
    if (!key) return reply.code(401).send({ code: 401 });
    const row = (await q<Record<string, unknown> & { account_id: string; request: string }>(pool, SQL.task, [req.params.id])).rows[0];
    if (!row || row.account_id !== key.account_id) return reply.code(404).send({ code: 404 });
    return { code: 200, data: { ...row, request: JSON.parse(row.request) } };
  });
  server.post<{ Body: { model?: unknown; prompt?: unknown } }>('/v1/videos/generations', async (req, reply) => {
    const key = await authenticate(req.headers.authorization);
    if (!key) return reply.code(401).send({ code: 401 });
    const body = req.body;
    if (typeof body?.model !== 'string' || typeof body.prompt !== 'string') return reply.code(400).send({ code: 400 });
    const id = `task_${randomUUID().replaceAll('-', '')}`;
    const now = Date.now();
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const account = (await q<{ id: string }>(client, SQL.lockAccount, [key.account_id])).rows[0]!;
      await q(client, SQL.lockKey, [key.id]);
      await q(client, SQL.insertTask, [id, account.id, key.id, body.model, JSON.stringify(body), 1, 'local', 5, FLOOR_COST_MICROS, now, null]);
      const ledger = (await q<{ id: number }>(client, SQL.insertLedger, [account.id, key.id, id, 'reserve', -FLOOR_COST_MICROS, null, now])).rows[0]!;
      const moved = (await q<{ unlimited: number; balance: number }>(client, SQL.updateAccount, [account.id, -FLOOR_COST_MICROS, FLOOR_COST_MICROS])).rows[0]!;
      await q(client, SQL.keySpent, [key.id, FLOOR_COST_MICROS]);
      if (moved.unlimited === 0) await q(client, SQL.ledgerBalance, [ledger.id, moved.balance]);
      await q(client, SQL.keyInFlight, [key.id]);
      await q(client, SQL.notify, ['vidgate_floor', `floor queued ${id}`]);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
    return { code: 200, data: [{ status: 'submitted', task_id: id }] };
  });
  await server.listen({ host: '127.0.0.1', port: 0 });
  const address = server.server.address();
  if (!address || typeof address === 'string') throw new Error('floor did not bind a TCP port');
  return {
    base: `http://127.0.0.1:${address.port}`,
    close: async () => {
      await server.close();
      await pool.end();
    },
  };
}

/** A fresh database with vidgate's schema and the bench key (through src/), for a floor to write to. */
async function preparedDatabase(adminUrl: string, apiKey: string) {
  const db = await createTestDatabase(adminUrl);
  const store = await PostgresStore.open(db.url, { maxConnections: 2 });
  try {
    await ensureBootstrapKey(store, apiKey, undefined);
  } finally {
    await store.close();
  }
  return db;
}

export async function runPostgresBench(o: PgBenchSettings): Promise<PgBenchResult> {
  const began = performance.now();
  const date = new Date().toISOString();
  const loadAtStart = Math.round(loadavg()[0]! * 100) / 100;
  const { say } = o;
  const hz = await ticksPerSecond();
  say('PostgreSQL: starting a throwaway server (test/helpers/postgres-server.ts; fsync, full_page_writes, synchronous_commit off)');
  let server: PostgresServer | null = await startPostgresServer();
  const cleanups: Array<() => Promise<unknown>> = [];
  try {
    const admin = server.adminUrl;
    let pm = await postmasterPid(admin);
    const serverVersion = await oneValue(admin, 'SHOW server_version');
    const counter = countPgQueries();

    const measure = async (spec: LoadSpec): Promise<PgRun> => {
      const pg0 = await postgresServerTicks(pm);
      const q0 = counter.read();
      const loop = monitorEventLoopDelay({ resolution: 5 });
      loop.enable();
      const cpu0 = process.cpuUsage();
      const r = await runLoad(spec);
      const cpu = process.cpuUsage(cpu0);
      loop.disable();
      const q1 = counter.read();
      const pg1 = await postgresServerTicks(pm);
      const n = r.total || NaN;
      return {
        ...r,
        serverCpuUs: (cpu.user + cpu.system) / n,
        loopDelayP99Ms: loop.percentile(99) / 1e6,
        loopDelayMaxMs: loop.max / 1e6,
        pgCpuUs: (((pg1 - pg0) / hz) * 1e6) / n,
        queries: perRequest(q0, q1, n),
      };
    };
    const load = (base: string, path: string, extra: Partial<LoadSpec> = {}): LoadSpec => ({
      url: `${base}${path}`,
      headers: { authorization: `Bearer ${o.apiKey}`, 'content-type': 'application/json' },
      connections: o.connections,
      durationSeconds: o.durationSeconds,
      ...extra,
    });
    const submitBody = JSON.stringify(o.submitBody);
    const postSpec = (base: string, extra: Partial<LoadSpec> = {}) => load(base, '/v1/videos/generations', { method: 'POST', body: submitBody, ...extra });

    // Status: one database, one task, read by vidgate and by the floor in turn.
    const statusDb = await createTestDatabase(admin);
    cleanups.push(() => statusDb.drop());
    const statusVidgate = await startVidgateOn(join(o.dir, 'pg-status'), statusDb.url, o);
    cleanups.push(() => statusVidgate.close());
    const taskId = await submitOnce(statusVidgate.base, o.apiKey, submitBody);
    const statusFloor = await startFloor(statusDb.url);
    cleanups.push(() => statusFloor.close());
    const statusSpec = load(statusVidgate.base, `/v1/tasks/${taskId}`);
    const statusFloorSpec = load(statusFloor.base, `/v1/tasks/${taskId}`);

    // Submit: every run on a fresh database, so each measures the same table sizes.
    let runs = 0;
    const onFreshDb = async <T>(fn: (url: string) => Promise<T>, prepared: boolean): Promise<T> => {
      const db = prepared ? await preparedDatabase(admin, o.apiKey) : await createTestDatabase(admin);
      try {
        return await fn(db.url);
      } finally {
        await db.drop();
      }
    };
    const submitRun = (extra: Partial<LoadSpec> = {}) =>
      onFreshDb(async (url) => {
        const v = await startVidgateOn(join(o.dir, `pg-submit-${runs++}`), url, o);
        try {
          return await measure(postSpec(v.base, extra));
        } finally {
          await v.close();
        }
      }, false);
    const submitFloorRun = (extra: Partial<LoadSpec> = {}) =>
      onFreshDb(async (url) => {
        const f = await startFloor(url);
        try {
          return await measure(postSpec(f.base, extra));
        } finally {
          await f.close();
        }
      }, true);

    say(`PostgreSQL ${serverVersion}: status and submit against floors of the same work, ${o.rounds} interleaved round(s):`);
    const warm = { durationSeconds: o.warmupSeconds };
    await runLoad({ ...statusFloorSpec, ...warm });
    await runLoad({ ...statusSpec, ...warm });
    await submitFloorRun(warm);
    await submitRun(warm);
    const rounds = { statusFloor: [] as PgRun[], status: [] as PgRun[], submitFloor: [] as PgRun[], submit: [] as PgRun[] };
    for (let round = 1; round <= o.rounds; round++) {
      rounds.statusFloor.push(await measure(statusFloorSpec));
      rounds.status.push(await measure(statusSpec));
      rounds.submitFloor.push(await submitFloorRun());
      rounds.submit.push(await submitRun());
      say(`  round ${round}/${o.rounds}: ${(Object.keys(rounds) as Array<keyof typeof rounds>).map((k) => line(k, rounds[k].at(-1)!)).join(', ')}`);
    }
    const c = {
      statusFloor: combinePg(rounds.statusFloor),
      status: combinePg(rounds.status),
      submitFloor: combinePg(rounds.submitFloor),
      submit: combinePg(rounds.submit),
    };

    const statusRate = Math.max(1, Math.round(c.status.rps / 2));
    const statusFloorHalf = { ...(await measure({ ...statusFloorSpec, overallRate: statusRate })), rate: statusRate };
    const statusHalf = { ...(await measure({ ...statusSpec, overallRate: statusRate })), rate: statusRate };
    const submitRate = Math.max(1, Math.round(c.submit.rps / 2));
    const submitFloorHalf = { ...(await submitFloorRun({ overallRate: submitRate })), rate: submitRate };
    const submitHalf = { ...(await submitRun({ overallRate: submitRate })), rate: submitRate };
    say(
      `  at 50 %: status p99 ${statusHalf.p99} ms at ${statusRate} req/s (floor ${statusFloorHalf.p99} ms); submit p99 ${submitHalf.p99} ms at ${submitRate} req/s (floor ${submitFloorHalf.p99} ms)`,
    );
    await statusFloor.close();
    await statusVidgate.close();
    cleanups.length = 0;
    await statusDb.drop();

    // Workers: N tasks queued through an API-role instance, then drained by 1, then 2, worker processes.
    const mp4 = await makeTinyMp4(o.ffmpegPath, join(o.dir, 'noop.mp4'));
    const workers: WorkerRun[] = [];
    for (const count of [1, 2]) {
      const run = await onFreshDb((url) => workerRun(url, count, mp4, o, () => postgresServerTicks(pm), hz), false);
      workers.push(run);
      say(
        `  ${count} worker process(es), ${run.tasks} no-op tasks: ${run.tasksPerSecond.toFixed(0)} tasks/s (drain ${(run.drainMs / 1000).toFixed(2)} s, ${run.queriesPerTask.toFixed(1)} queries/task, worker CPU ${run.workerCpuUsPerTask.toFixed(0)} µs/task, PostgreSQL ${run.pgCpuUsPerTask.toFixed(0)} µs/task${run.failed ? `, ${run.failed} failed` : ''})`,
      );
    }

    // Upstream polling at scale, PostgreSQL next to SQLite.
    let sqlite = o.sqliteUpstream;
    if (!sqlite) {
      say(`  upstream, SQLite: ${o.upstreamTasks} tasks against the fake Ark`);
      sqlite = await runUpstreamLoad(o.upstreamTasks);
    }
    say(`  upstream, PostgreSQL: ${o.upstreamTasks} tasks against the fake Ark`);
    const upstreamRun = await onFreshDb(async (url) => {
      const pg0 = await postgresServerTicks(pm);
      const from = Date.now();
      const r = await runUpstreamLoad(o.upstreamTasks, { databaseUrl: url });
      const pg1 = await postgresServerTicks(pm);
      return { r, pgServerCpuPercent: ((pg1 - pg0) / hz / ((Date.now() - from) / 1000)) * 100 };
    }, false);
    say(
      `  upstream done → completed p50 ${(upstreamRun.r.p50Ms / 1000).toFixed(2)} s, p99 ${(upstreamRun.r.p99Ms / 1000).toFixed(2)} s (SQLite ${(sqlite.p99Ms / 1000).toFixed(2)} s); peak RSS ${upstreamRun.r.peakRssMb.toFixed(0)} MB (SQLite ${sqlite.peakRssMb.toFixed(0)} MB)`,
    );

    // Durable: the same cluster restarted with fsync, full_page_writes and synchronous_commit on.
    let durable: PgBenchResult['durable'] = null;
    {
      say('  durable (fsync, full_page_writes, synchronous_commit on): one submit run each');
      await restartDurable(admin);
      pm = await postmasterPid(admin);
      const floor = await submitFloorRun();
      const submit = await submitRun();
      durable = { floor, submit };
      say(`  durable: ${line('submitFloor', floor)}, ${line('submit', submit)}`);
    }
    return {
      date,
      serverVersion,
      loadAtStart,
      loadAtEnd: Math.round(loadavg()[0]! * 100) / 100,
      settings: { connections: o.connections, durationSeconds: o.durationSeconds, warmupSeconds: o.warmupSeconds, rounds: o.rounds, poolSize: POOL_SIZE },
      ...c,
      statusHalf,
      statusFloorHalf,
      submitHalf,
      submitFloorHalf,
      durable,
      workers,
      upstream: { postgres: upstreamRun.r, sqlite, pgServerCpuPercent: upstreamRun.pgServerCpuPercent },
      totalSeconds: (performance.now() - began) / 1000,
    };
  } finally {
    while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
    await server?.stop();
    server = null;
  }
}

async function oneValue(url: string, sql: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query(sql);
    return String(Object.values(rows[0] ?? {})[0] ?? '');
  } finally {
    await client.end();
  }
}

/**
 * The helper starts its cluster with durability off on the command line, which outranks ALTER SYSTEM,
 * and with fsync off a synchronous commit writes the WAL but never flushes it. So the same cluster is
 * restarted with its recorded command line (postmaster.opts, which `pg_ctl restart` reuses) turned on.
 */
export async function restartDurable(adminUrl: string): Promise<void> {
  const data = await oneValue(adminUrl, 'SHOW data_directory');
  const optsFile = join(data, 'postmaster.opts');
  const opts = await readFile(optsFile, 'utf8');
  await writeFile(optsFile, opts.replace(/(fsync|full_page_writes|synchronous_commit)=off/g, '$1=on'));
  const bin = await provisionPostgres();
  const passwd = await readFile('/etc/passwd', 'utf8');
  const user =
    process.getuid?.() === 0
      ? passwd
          .split('\n')
          .find((l) => l.startsWith('postgres:'))
          ?.split(':')
      : undefined;
  const as = user ? { uid: Number(user[2]), gid: Number(user[3]) } : {};
  // With its own log file the new postmaster does not hold pg_ctl's output open (execFile would wait on it).
  await promisify(execFile)(join(bin, 'pg_ctl'), ['-D', data, '-l', join(dirname(data), 'server.log'), '-m', 'fast', '-w', '-t', '60', 'restart'], {
    ...as,
    cwd: dirname(data),
  });
  const check = await oneValue(adminUrl, 'SELECT current_setting($$fsync$$) || $$/$$ || current_setting($$synchronous_commit$$)');
  if (check !== 'on/on') throw new Error(`restart left fsync/synchronous_commit at ${check}`);
}

async function submitOnce(base: string, apiKey: string, body: string): Promise<string> {
  const res = await fetch(`${base}/v1/videos/generations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body,
  });
  const json = (await res.json()) as { data?: Array<{ task_id?: string }> };
  const id = json.data?.[0]?.task_id;
  if (res.status !== 200 || !id) throw new Error(`submit failed: HTTP ${res.status} ${JSON.stringify(json)}`);
  return id;
}

interface WorkerChild {
  child: ChildProcess;
  go(): void;
  stats(): Promise<WorkerStats>;
  stop(): Promise<void>;
}

async function startWorker(env: Record<string, string>): Promise<WorkerChild> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('VIDGATE_') && name !== 'NODE_OPTIONS'));
  const child = fork(WORKER_PROCESS, [], {
    // BENCH_WORKER_NODE_FLAGS (e.g. `--cpu-prof`) is for investigating a run, never for the record.
    execArgv: ['--import', import.meta.resolve('tsx'), ...(process.env.BENCH_WORKER_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean)],
    env: { ...inherited, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const next = <T>(type: string) =>
    new Promise<T>((resolve, reject) => {
      const onMessage = (m: { type?: string }) => {
        if (m?.type !== type) return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(m as T);
      };
      const onExit = (code: number | null) => reject(new Error(`worker process exited (${code}) before ${type}`));
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  await next('ready');
  return {
    child,
    go: () => child.send({ type: 'go' }),
    stats: () => {
      const answer = next<WorkerStats>('stats');
      child.send({ type: 'stats' });
      return answer;
    },
    stop: async () => {
      if (child.connected) child.disconnect();
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export async function workerRun(url: string, count: number, mp4: string, o: PgBenchSettings, pgTicks: () => Promise<number>, hz: number): Promise<WorkerRun> {
  const n = o.workerTasks;
  const dir = join(o.dir, `pg-workers-${count}`);
  await mkdir(dir, { recursive: true });
  const channels = noopChannels(NOOP_CONCURRENCY, mp4);
  // The API instance queues the tasks and is closed before the workers start: they alone are measured.
  const api = await startVidgateOn(join(dir, 'api'), url, o, { providers: channels });
  const agent = new Agent({ connections: SUBMIT_CONCURRENCY });
  const submitFrom = performance.now();
  let next = 0;
  const body = (i: number) => JSON.stringify({ model: 'doubao-seedance-2.0', prompt: `queue ${i}`, resolution: '480p', duration: 4 });
  try {
    await Promise.all(
      Array.from({ length: SUBMIT_CONCURRENCY }, async () => {
        while (next < n) {
          const i = next++;
          const res = await request(`${api.base}/v1/videos/generations`, {
            method: 'POST',
            dispatcher: agent,
            headers: { authorization: `Bearer ${o.apiKey}`, 'content-type': 'application/json' },
            body: body(i),
          });
          const text = await res.body.text();
          if (res.statusCode !== 200) throw new Error(`queueing submit ${i}: HTTP ${res.statusCode} ${text.slice(0, 300)}`);
        }
      }),
    );
  } finally {
    await agent.close();
    await api.close();
  }
  const submitSeconds = (performance.now() - submitFrom) / 1000;

  const children: WorkerChild[] = [];
  const reader = new pg.Client({ connectionString: url, types: BIGINT_AS_NUMBER });
  await reader.connect();
  try {
    for (let i = 0; i < count; i++) {
      children.push(
        await startWorker({
          VIDGATE_DATABASE_URL: url,
          VIDGATE_DATABASE_POOL_SIZE: String(POOL_SIZE),
          VIDGATE_ROLE: 'worker',
          VIDGATE_DATA_DIR: join(dir, `worker-${i}`),
          VIDGATE_LOG_LEVEL: 'warn',
          VIDGATE_FFMPEG: o.ffmpegPath,
          VIDGATE_SHUTDOWN_GRACE_SECONDS: '5',
          BENCH_NOOP_MP4: mp4,
          BENCH_NOOP_CONCURRENCY: String(NOOP_CONCURRENCY),
        }),
      );
    }
    const pg0 = await pgTicks();
    const goAt = Date.now();
    for (const w of children) w.go();
    let done = { completed: 0, failed: 0 };
    let timedOut = false;
    for (;;) {
      const { rows } = await reader.query<{ completed: number; failed: number }>(
        `SELECT COUNT(*) FILTER (WHERE status = 'completed')::int AS completed, COUNT(*) FILTER (WHERE status IN ('failed', 'cancelled'))::int AS failed FROM tasks`,
      );
      done = rows[0]!;
      if (done.completed + done.failed >= n) break;
      if (Date.now() - goAt > WORKER_TIMEOUT_MS) {
        timedOut = true;
        break;
      }
      await sleep(50);
    }
    const stats = await Promise.all(children.map((w) => w.stats()));
    const pg1 = await pgTicks();
    const { rows } = await reader.query<{ first: number; last: number }>('SELECT MIN(started_at) AS first, MAX(finished_at) AS last FROM tasks');
    const drainMs = rows[0]!.last - goAt;
    const queries = stats.reduce(
      (acc, s) => {
        acc.total += s.queries.total;
        for (const [k, v] of Object.entries(s.queries.byStatement)) acc.byStatement[k] = (acc.byStatement[k] ?? 0) + v;
        return acc;
      },
      { total: 0, byStatement: {} as Record<string, number> },
    );
    const per = perRequest({ total: 0, byStatement: {} }, queries, done.completed || NaN);
    return {
      workers: count,
      tasks: n,
      completed: done.completed,
      failed: done.failed,
      timedOut,
      drainMs,
      firstClaimMs: rows[0]!.first - goAt,
      tasksPerSecond: done.completed / (drainMs / 1000),
      workerCpuUsPerTask: stats.reduce((a, s) => a + s.cpuMicros, 0) / done.completed,
      pgCpuUsPerTask: (((pg1 - pg0) / hz) * 1e6) / done.completed,
      queriesPerTask: per.total,
      queriesByStatement: per.byStatement,
      submitSeconds,
    };
  } finally {
    await Promise.all(children.map((w) => w.stop()));
    await reader.end();
    await rm(dir, { recursive: true, force: true });
  }
}

function combinePg(runs: PgRun[]): PgCombined {
  return {
    ...combine(runs),
    pgCpuUs: median(runs.map((r) => r.pgCpuUs)),
    // The statements are the same every round; the middle round's counts stand for all.
    queries: runs[Math.floor(runs.length / 2)]!.queries,
  };
}

const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
const pct = (n: number) => `${Math.round(n * 100)} %`;
const us = (n: number | undefined) => (n !== undefined && Number.isFinite(n) ? `${Math.round(n)} µs` : 'n/a');
const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const bad = (r: LoadResult) => r.non2xx + r.errors + r.timeouts;
const invalid = (r: LoadResult) => (bad(r) ? ` — INVALID: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts` : '');
const line = (name: string, r: PgRun) =>
  `${name} ${int(r.rps)} req/s (p99 ${r.p99} ms, ${us(r.serverCpuUs)} + PG ${us(r.pgCpuUs)} CPU/req, ${r.queries.total.toFixed(1)} queries/req${bad(r) ? `, ${bad(r)} bad` : ''})`;

/** The history rows of the previous PostgreSQL section, read before the file is rewritten. */
export function previousPostgresHistory(file: string): Promise<string[]> {
  return previousHistory(file, POSTGRES_HEADING, HISTORY_SUBHEADING);
}

export function postgresSection(r: PgBenchResult, history: string[]): string {
  const verdict = (ok: boolean) => (ok ? 'PASS' : 'FAIL');
  const throughput = (x: PgRun) =>
    `${int(x.rps)} req/s (p50 ${x.p50} ms, p99 ${x.p99} ms, ${us(x.serverCpuUs)} CPU/req + PostgreSQL ${us(x.pgCpuUs)})${invalid(x)}`;
  const statusRatio = r.status.rps / r.statusFloor.rps;
  const submitRatio = r.submit.rps / r.submitFloor.rps;
  const rows: string[][] = [
    [
      'Status GET /v1/tasks/{id}, max',
      throughput(r.status),
      throughput(r.statusFloor),
      `${pct(statusRatio)} (CPU ${(r.status.serverCpuUs! / r.statusFloor.serverCpuUs!).toFixed(2)}×)`,
      `≥ ${pct(PG_TARGETS.statusRatio)}`,
      verdict(!bad(r.status) && statusRatio >= PG_TARGETS.statusRatio),
    ],
    [
      'Submit POST /v1/videos/generations, max',
      throughput(r.submit),
      throughput(r.submitFloor),
      `${pct(submitRatio)} (CPU ${(r.submit.serverCpuUs! / r.submitFloor.serverCpuUs!).toFixed(2)}×)`,
      `≥ ${pct(PG_TARGETS.submitRatio)}`,
      verdict(!bad(r.submit) && submitRatio >= PG_TARGETS.submitRatio),
    ],
    [
      'Status at 50 % of its max',
      `p50 ${r.statusHalf.p50} ms, p99 ${r.statusHalf.p99} ms at ${int(r.statusHalf.rate)} req/s${invalid(r.statusHalf)}`,
      `p99 ${r.statusFloorHalf.p99} ms at the same rate`,
      '—',
      `p99 < ${PG_TARGETS.halfRateP99Ms} ms`,
      verdict(!bad(r.statusHalf) && r.statusHalf.p99 < PG_TARGETS.halfRateP99Ms),
    ],
    [
      'Submit at 50 % of its max',
      `p50 ${r.submitHalf.p50} ms, p99 ${r.submitHalf.p99} ms at ${int(r.submitHalf.rate)} req/s${invalid(r.submitHalf)}`,
      `p99 ${r.submitFloorHalf.p99} ms at the same rate`,
      '—',
      `p99 < ${PG_TARGETS.halfRateP99Ms} ms`,
      verdict(!bad(r.submitHalf) && r.submitHalf.p99 < PG_TARGETS.halfRateP99Ms),
    ],
  ];
  if (r.durable) {
    rows.push([
      'Submit, max, durable (fsync + synchronous_commit on), one run',
      throughput(r.durable.submit),
      throughput(r.durable.floor),
      pct(r.durable.submit.rps / r.durable.floor.rps),
      '—',
      '—',
    ]);
  }
  const queryRows = (name: string, x: PgRun) => [
    name,
    x.queries.total.toFixed(2),
    us(x.serverCpuUs),
    us(x.pgCpuUs),
    x.queries.byStatement.map(([sql, n]) => `${n.toFixed(2)}× \`${sql.replace(/`/g, "'")}\``).join('<br>'),
  ];
  const [w1, w2] = r.workers;
  const workerRow = (w: WorkerRun) => [
    `${w.workers}`,
    `${w.completed} / ${w.tasks}${w.failed ? ` (${w.failed} failed)` : ''}${w.timedOut ? ' — time limit hit' : ''}`,
    `${w.tasksPerSecond.toFixed(0)}`,
    sec(w.drainMs),
    `${w.firstClaimMs} ms`,
    us(w.workerCpuUsPerTask),
    us(w.pgCpuUsPerTask),
    w.queriesPerTask.toFixed(1),
    `${w.submitSeconds.toFixed(1)} s (${(w.tasks / w.submitSeconds).toFixed(0)}/s)`,
  ];
  const up = r.upstream.postgres;
  const sq = r.upstream.sqlite;
  const upRow = (name: string, f: (x: UpstreamLoadResult) => string) => [name, f(up), f(sq)];
  const historyRow = `| ${[
    r.date,
    `${int(r.status.rps)} / ${int(r.statusFloor.rps)} (${pct(statusRatio)})`,
    `${int(r.submit.rps)} / ${int(r.submitFloor.rps)} (${pct(submitRatio)})`,
    `${r.statusHalf.p99} / ${r.submitHalf.p99} ms`,
    r.durable ? `${int(r.durable.submit.rps)} / ${int(r.durable.floor.rps)}` : '—',
    w1 && w2 ? `${w1.tasksPerSecond.toFixed(0)} / ${w2.tasksPerSecond.toFixed(0)}` : '—',
    `${sec(up.p99Ms)} (SQLite ${sec(sq.p99Ms)})`,
    `${up.peakRssMb.toFixed(0)} MB (SQLite ${sq.peakRssMb.toFixed(0)} MB)`,
    `${r.loadAtStart} / ${r.loadAtEnd}`,
  ].join(' | ')} |`;
  const allHistory = [...history, historyRow].slice(-HISTORY_KEEP);

  return `${POSTGRES_HEADING}

Run ${r.date}, \`BENCH_ONLY=postgres npm run bench\` or as part of \`npm run bench\` (${r.totalSeconds.toFixed(0)} s); PostgreSQL ${r.serverVersion} on the same machine, 1-min load average ${r.loadAtStart} at the start of this section and ${r.loadAtEnd} at its end. **Durability is off** in every row but the durable one: the server is the tests' throwaway cluster (test/helpers/postgres-server.ts, data in a temporary directory on the same disk) with \`fsync\`, \`full_page_writes\` and \`synchronous_commit\` off, so a commit never waits for the disk. The durable row restarts that cluster with all three on, as a real deployment runs, and measures one submit run of each. vidgate runs in-process with role \`api\`, log level info to a file, limits raised out of the way as in the SQLite rows, and a pool of ${r.settings.poolSize} connections (the default \`VIDGATE_DATABASE_POOL_SIZE\`); autocannon runs in a separate process with ${r.settings.connections} connections, ${r.settings.rounds} interleaved rounds of ${r.settings.durationSeconds} s (after ${r.settings.warmupSeconds} s warm-ups), medians reported.

The floors are bare Fastify routes (no logging, no schemas) in the same process, on a \`pg\` pool of the same size with the same type parsers and named prepared statements. Status floor: sha256 of the bearer secret, \`SELECT * FROM api_keys WHERE hash = $1\`, \`SELECT * FROM tasks WHERE id = $1\`, the row serialised with its request parsed. Submit floor: the same key lookup, a minimal body check (model and prompt are strings), then the transaction of \`PgTaskQueue.submitTask\` statement for statement, text for text: BEGIN, account FOR UPDATE, key FOR UPDATE, INSERT task, INSERT ledger, UPDATE accounts, UPDATE api_keys (spent), UPDATE api_keys (in flight), \`pg_notify\`, COMMIT (the ledger's balance-after UPDATE is skipped by both: the bench account is unlimited). Every submit run, floor or vidgate, starts on a fresh database. "CPU/req" is this process (vidgate or the floor) per response; "PostgreSQL" is the CPU of all the server's processes per response (/proc, postmaster with its reaped children plus the living ones): both share the 2 cores with the load generator.

| Measure | vidgate | Floor (same work, same run) | vs floor | Target | Pass |
| --- | --- | --- | --- | --- | --- |
${rows.map((row) => `| ${row.map((x) => x.replace(/\|/g, '\\|')).join(' | ')} |`).join('\n')}

Where the time goes: round trips (every \`pg.Client#query\` of this process, counted per response, transaction statements included) and CPU per response, at max rate (median round):

${markdownTable(
  ['Path', 'Queries per request', 'Process CPU/req', 'PostgreSQL CPU/req', 'Statements per request'],
  [
    queryRows('status, vidgate', r.status),
    queryRows('status, floor', r.statusFloor),
    queryRows('submit, vidgate', r.submit),
    queryRows('submit, floor', r.submitFloor),
  ],
)}

Workers: ${w1?.tasks ?? 0} tasks queued through an API-role instance (closed before the workers start), then drained by ${'`VIDGATE_ROLE=worker`'} processes of their own (separate Node processes, bench/pg-worker-process.ts), each with one no-op channel of ${NOOP_CONCURRENCY} slots that copies a tiny pre-made MP4 into its work folder and returns it (bench/noop-provider.ts), so every task goes through claim, lease, result storage (local files), settlement and events but no render. The workers start with their dispatcher stopped and are released together; throughput is tasks ÷ (last \`finished_at\` − release). Worker CPU is all worker processes together.

${markdownTable(
  [
    'Worker processes',
    'Completed',
    'Tasks/s',
    'Drain time',
    'Release → first claim',
    'Worker CPU/task',
    'PostgreSQL CPU/task',
    'Queries/task',
    'Queueing through the API (info)',
  ],
  r.workers.map(workerRow),
)}

${w1 && w2 ? `2 workers ÷ 1 worker: ${(w2.tasksPerSecond / w1.tasksPerSecond).toFixed(2)}×.` : ''} Worker statements per task (${w2 ? 'two workers' : 'one worker'}): ${(
    w2 ?? w1
  )?.queriesByStatement
    .slice(0, 14)
    .map(([sql, n]) => `${n.toFixed(2)}× \`${sql.replace(/`/g, "'")}\``)
    .join('; ')}.

Upstream polling at scale on PostgreSQL: the benchmark of the section "Upstream polling at scale (fake Ark)" with the gateway (\`node dist/cli/main.js serve\`, its own process) on a fresh PostgreSQL database, next to the SQLite run of the same \`npm run bench\`. Completion is read from the gateway's database in both.

${markdownTable(
  ['Measure', 'PostgreSQL', 'SQLite (same run)'],
  [
    upRow('Tasks / completed (failed or cancelled)', (x) => `${x.tasks} / ${x.completed} (${x.failed})${x.timedOut ? ' — time limit hit' : ''}`),
    upRow('Upstream done → `completed`, p50 / p99 (max)', (x) => `${sec(x.p50Ms)} / ${sec(x.p99Ms)} (${sec(x.maxMs)})`),
    upRow('Upstream requests per task per poll round', (x) => x.requestsPerTaskPerRound.toFixed(4)),
    upRow('List requests / ids polled (single GETs)', (x) => `${x.listCalls} / ${x.polledIds} (${x.pollCalls})`),
    upRow('Gateway peak RSS, VmHWM (when ready; at the end)', (x) => `${x.peakRssMb.toFixed(0)} MB (${x.startRssMb.toFixed(0)}; ${x.endRssMb.toFixed(0)} MB)`),
    upRow(
      'Gateway CPU, % of a core: whole run (submits; after)',
      (x) => `${x.cpuPercentOfOneCore.toFixed(0)} % (${x.submitPhaseCpuPercentOfOneCore.toFixed(0)} %; ${x.pollPhaseCpuPercentOfOneCore.toFixed(0)} %)`,
    ),
    ['PostgreSQL server CPU over the run, % of a core', `${r.upstream.pgServerCpuPercent.toFixed(0)} %`, '—'],
    upRow('Submit phase: wall (per submit p50 / p99)', (x) => `${x.submitSeconds.toFixed(1)} s (${x.submitP50Ms.toFixed(0)} / ${x.submitP99Ms.toFixed(0)} ms)`),
    upRow('Wall time', (x) => `${x.wallSeconds.toFixed(0)} s`),
  ],
)}

${HISTORY_SUBHEADING}

One line per run of this section, newest last, last ${HISTORY_KEEP} kept.

| Date | Status req/s vidgate / floor | Submit req/s vidgate / floor | p99 @50 % status / submit | Durable submit req/s vidgate / floor | Tasks/s 1 / 2 workers | Upstream p99 | Upstream peak RSS | Load start / end |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |
${allHistory.join('\n')}
`;
}
