/**
 * `BENCH_ONLY=upstream npm run bench`: N tasks in flight against the fake Ark (test/helpers), each
 * finishing upstream after a random 5–60 s. Measures the time from upstream completion to
 * `completed` in vidgate, upstream requests per polled task, and CPU and peak RSS of the gateway.
 * The fake Ark runs in a child process (bench/fake-ark-process.ts), so this process holds only
 * vidgate and the benchmark's own bookkeeping; the fake's CPU and RSS are reported apart.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config/env.js';
import type { FakeArkReady, FakeArkRequest, FakeArkStats } from './fake-ark-process.js';

export interface UpstreamLoadResult {
  tasks: number;
  completed: number;
  /** True when the time limit ended the wait before every task settled. */
  timedOut: boolean;
  /** Submit phase + 60 s of upstream lifetime + 60 s margin. */
  limitSeconds: number;
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
  /** Gateway process (this one), whole run (submits included). */
  cpuPercentOfOneCore: number;
  /** Gateway process after the submit phase: polling and downloading only. */
  pollPhaseCpuPercentOfOneCore: number;
  /** Gateway process (this one), sampled every 200 ms. */
  peakRssMb: number;
  /** Gateway process RSS just before the first submit (vidgate started, nothing in flight). */
  startRssMb: number;
  /** The fake Ark child process, over the same run. */
  fakeCpuPercentOfOneCore: number;
  fakePeakRssMb: number;
  submitConcurrency: number;
  submitSeconds: number;
  wallSeconds: number;
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))] ?? NaN;

/** Submits in flight at once (each an `inject`, batch after batch). */
const SUBMIT_CONCURRENCY = 50;
/** The longest an upstream task runs (bench/fake-ark-process.ts) and the slack on top of it. */
const UPSTREAM_LIFETIME_MS = 60_000;
const LIMIT_MARGIN_MS = 60_000;
const FAKE_ARK_PROCESS = fileURLToPath(new URL('./fake-ark-process.ts', import.meta.url));

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

export async function runUpstreamLoad(n: number): Promise<UpstreamLoadResult> {
  const ark = await startFakeArkProcess();
  let dir: string | undefined;
  let app: Awaited<ReturnType<typeof createApp>> | undefined;
  let rssTimer: NodeJS.Timeout | undefined;
  let limit: NodeJS.Timeout | undefined;
  try {
    dir = await mkdtemp(join(tmpdir(), 'vidgate-upstream-bench-'));
    const configFile = join(dir, 'vidgate.yaml');
    await writeFile(
      configFile,
      `channels:\n  - name: ark\n    provider: ark\n    base_url: ${ark.baseUrl}\n    api_keys: [ark-key]\n    models:\n      doubao-seedance-2.0: doubao-seedance-2-0-260128\n    max_in_flight: ${n}\n    first_poll_ms: 1000\n    max_poll_ms: 4000\n    expected_seconds: 30\n`,
    );
    const config = loadConfig({
      VIDGATE_DATA_DIR: join(dir, 'data'),
      VIDGATE_LOG_LEVEL: 'silent',
      VIDGATE_BOOTSTRAP_KEY: 'sk-bench-0123456789abcdefghijklmnop',
      VIDGATE_CONFIG: configFile,
      VIDGATE_MEDIA_ALLOW_HOSTS: '127.0.0.1',
      VIDGATE_DEFAULT_RPM: '1000000',
      VIDGATE_DEFAULT_IN_FLIGHT: '1000000',
      VIDGATE_SHUTDOWN_GRACE_SECONDS: '0',
    });
    app = await createApp(config, { logger: pino({ level: 'silent' }) });
    const server = app.server;
    const auth = { authorization: 'Bearer sk-bench-0123456789abcdefghijklmnop' };
    const doneAt = new Map<string, number>();
    const settledIds: string[] = [];
    let resolveAll!: () => void;
    const all = new Promise<void>((r) => (resolveAll = r));
    app.dispatcher.onTaskSettled((id) => {
      doneAt.set(id, Date.now());
      settledIds.push(id);
      if (settledIds.length === n) resolveAll();
    });

    ark.start();
    const startRss = process.memoryUsage().rss;
    let peakRss = startRss;
    rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 200);
    const started = Date.now();
    const cpu0 = process.cpuUsage();
    const ids: string[] = [];
    for (let from = 0; from < n; from += SUBMIT_CONCURRENCY) {
      const batch = Array.from({ length: Math.min(SUBMIT_CONCURRENCY, n - from) }, (_, k) => from + k);
      const answers = await Promise.all(
        batch.map(async (i) => {
          const res = await server.inject({ method: 'POST', url: '/v1/videos/generations', headers: auth, payload: { model: 'doubao-seedance-2.0', prompt: `bench ${i}`, resolution: '480p', duration: 4 } });
          if (res.statusCode !== 200) throw new Error(`submit ${i}: ${res.statusCode} ${res.body}`);
          return (res.json() as { data: Array<{ task_id: string }> }).data[0]!.task_id;
        }),
      );
      ids.push(...answers);
    }
    const submitMs = Date.now() - started;
    const cpuAfterSubmits = process.cpuUsage();

    // Every upstream task is done at most 60 s after it was created; creations follow the submits.
    const limitMs = submitMs + UPSTREAM_LIFETIME_MS + LIMIT_MARGIN_MS;
    let timedOut = false;
    limit = setTimeout(() => ((timedOut = true), resolveAll()), UPSTREAM_LIFETIME_MS + LIMIT_MARGIN_MS);
    await all;
    clearTimeout(limit);
    const cpu = process.cpuUsage(cpu0);
    const pollCpu = process.cpuUsage(cpuAfterSubmits);
    const wallMs = Date.now() - started;
    clearInterval(rssTimer);
    const fake = await ark.stats();

    const latencies: number[] = [];
    for (const id of ids) {
      const task = await app.store.getTask(id);
      const upstreamId = (task?.providerState as { data?: { upstreamId?: string } } | null)?.data?.upstreamId;
      const up = upstreamId ? fake.upstreamDoneAt[upstreamId] : undefined;
      const at = doneAt.get(id);
      if (task?.status === 'completed' && up !== undefined && at !== undefined) latencies.push(at - up);
    }
    latencies.sort((a, b) => a - b);
    const polled = fake.polledIds + fake.pollCalls;
    return {
      tasks: n,
      completed: latencies.length,
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
      cpuPercentOfOneCore: ((cpu.user + cpu.system) / 1000 / wallMs) * 100,
      pollPhaseCpuPercentOfOneCore: wallMs > submitMs ? ((pollCpu.user + pollCpu.system) / 1000 / (wallMs - submitMs)) * 100 : NaN,
      peakRssMb: peakRss / 1024 / 1024,
      startRssMb: startRss / 1024 / 1024,
      fakeCpuPercentOfOneCore: fake.elapsedMs ? ((fake.cpuUserMicros + fake.cpuSystemMicros) / 1000 / fake.elapsedMs) * 100 : NaN,
      fakePeakRssMb: fake.peakRss / 1024 / 1024,
      submitConcurrency: SUBMIT_CONCURRENCY,
      submitSeconds: submitMs / 1000,
      wallSeconds: wallMs / 1000,
    };
  } finally {
    clearInterval(rssTimer);
    clearTimeout(limit);
    await app?.close().catch((err: Error) => process.stderr.write(`upstream bench: closing vidgate: ${err.message}\n`));
    await ark.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  }
}

export const UPSTREAM_HEADING = '## Upstream polling at scale (fake Ark)';
/** Default 10 000; BENCH_UPSTREAM_TASKS lowers it. */
export const upstreamTasks = () => Number(process.env.BENCH_UPSTREAM_TASKS ?? 10_000);

export function upstreamSummary(r: UpstreamLoadResult): string {
  return `${r.completed}/${r.tasks} completed${r.timedOut ? ` (time limit ${r.limitSeconds.toFixed(0)} s hit)` : ''}; upstream done → completed p50 ${(r.p50Ms / 1000).toFixed(2)} s, p99 ${(r.p99Ms / 1000).toFixed(2)} s; ${r.requestsPerTaskPerRound.toFixed(4)} upstream requests per task per poll; gateway CPU ${r.cpuPercentOfOneCore.toFixed(0)} % of a core (${r.pollPhaseCpuPercentOfOneCore.toFixed(0)} % after submits), peak RSS ${r.peakRssMb.toFixed(0)} MB; fake Ark (child) CPU ${r.fakeCpuPercentOfOneCore.toFixed(0)} %, peak RSS ${r.fakePeakRssMb.toFixed(0)} MB; submits ${r.submitSeconds.toFixed(1)} s`;
}

export function upstreamSection(r: UpstreamLoadResult, date: string): string {
  const ok = (pass: boolean) => (pass ? 'met' : '**missed**');
  const rows: Array<[string, string, string]> = [
    ['Tasks in flight (each done upstream after a random 5–60 s)', String(r.tasks), ''],
    ['Completed in vidgate', `${r.completed}${r.timedOut ? ` (time limit of ${r.limitSeconds.toFixed(0)} s hit)` : ''}`, ok(r.completed === r.tasks)],
    ['Upstream done → `completed`, p50', `${(r.p50Ms / 1000).toFixed(2)} s`, ''],
    ['Upstream done → `completed`, p99 (max)', `${(r.p99Ms / 1000).toFixed(2)} s (${(r.maxMs / 1000).toFixed(2)} s)`, `≤ 5 s: ${ok(r.p99Ms <= 5000)}`],
    ['List requests / task ids polled (single GETs)', `${r.listCalls} / ${r.polledIds} (${r.pollCalls})`, ''],
    ['Upstream requests per task per poll round', r.requestsPerTaskPerRound.toFixed(4), `≤ 1: ${ok(r.requestsPerTaskPerRound <= 1)}`],
    ['Upstream submits / result downloads / other requests', `${r.upstreamSubmits} / ${r.upstreamFileRequests} / ${r.upstreamOtherRequests}`, ''],
    ['Gateway CPU, % of one core (whole run; after the submits)', `${r.cpuPercentOfOneCore.toFixed(0)} %; ${r.pollPhaseCpuPercentOfOneCore.toFixed(0)} %`, `not saturated (< 90 %): ${ok(r.cpuPercentOfOneCore < 90)}`],
    ['Gateway peak RSS (before the first submit)', `${r.peakRssMb.toFixed(0)} MB (${r.startRssMb.toFixed(0)} MB)`, `< 300 MB: ${ok(r.peakRssMb < 300)}`],
    ['Fake Ark (child process) CPU, % of one core / peak RSS', `${r.fakeCpuPercentOfOneCore.toFixed(0)} % / ${r.fakePeakRssMb.toFixed(0)} MB`, 'info'],
    [`Submit phase (${r.submitConcurrency} concurrent \`inject\` submits at a time)`, `${r.submitSeconds.toFixed(1)} s`, ''],
    ['Wall time (submits included)', `${r.wallSeconds.toFixed(0)} s`, ''],
  ];
  return `${UPSTREAM_HEADING}

\`BENCH_ONLY=upstream npm run bench\` (${date}; \`BENCH_UPSTREAM_TASKS\` sets the count). One in-process
vidgate with one \`ark\` channel (max_in_flight = N, first_poll_ms 1000, max_poll_ms 4000,
expected_seconds 30) in front of the fake Ark of the tests, which runs in a child process
(bench/fake-ark-process.ts) and holds every task queued until it marks it succeeded on a timer, a
random 5–60 s after the task was created. Submits go in through \`inject\`, ${r.submitConcurrency} at a time.
Gateway CPU (process.cpuUsage over the run) and peak RSS (sampled every 200 ms) are of the benchmark
process alone, which holds vidgate and the benchmark's bookkeeping; the fake's own figures are
given for information. Latency is from the moment the fake marks the task succeeded (its clock,
the same machine's) to vidgate's task-settled event (result downloaded into storage included).

| Measure | Result | Target |
| --- | --- | --- |
${rows.map(([a, b, c]) => `| ${a} | ${b} | ${c} |`).join('\n')}
`;
}

/** Puts the section into BENCHMARKS.md in place of the previous one, else at the end. */
export async function writeUpstreamSection(file: string, section: string): Promise<void> {
  let text = await readFile(file, 'utf8').catch(() => '# Benchmarks\n');
  const start = text.indexOf(`\n${UPSTREAM_HEADING}\n`);
  if (start >= 0) {
    const rest = text.slice(start + 1 + UPSTREAM_HEADING.length);
    const next = rest.search(/^## /m);
    const end = next < 0 ? text.length : start + 1 + UPSTREAM_HEADING.length + next;
    text = `${text.slice(0, start + 1)}${section}\n${text.slice(end)}`;
  } else {
    text = `${text.trimEnd()}\n\n${section}`;
  }
  await writeFile(file, text);
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
