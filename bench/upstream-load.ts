/**
 * `BENCH_ONLY=upstream npm run bench`: N tasks in flight against the fake Ark (test/helpers), each
 * finishing upstream after a random 5–60 s. Measures the time from upstream completion to
 * `completed` in vidgate, list requests per polled task, CPU and peak RSS of this process.
 * Note: the fake Ark runs in the same process, so CPU and RSS include it (an upper bound for vidgate).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config/env.js';
import { startFakeArk } from '../test/helpers/upstreams/fake-ark.js';

export interface UpstreamLoadResult {
  tasks: number;
  completed: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  listCalls: number;
  polledIds: number;
  requestsPerTaskPerRound: number;
  cpuPercentOfOneCore: number;
  peakRssMb: number;
  wallSeconds: number;
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))] ?? NaN;

export async function runUpstreamLoad(n: number): Promise<UpstreamLoadResult> {
  const ark = await startFakeArk({ lifecycle: { queued: Infinity, running: Infinity } });
  const dir = await mkdtemp(join(tmpdir(), 'vidgate-upstream-bench-'));
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
  const app = await createApp(config, { logger: pino({ level: 'silent' }) });
  const auth = { authorization: 'Bearer sk-bench-0123456789abcdefghijklmnop' };
  let peakRss = process.memoryUsage().rss;
  const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 200);
  const doneAt = new Map<string, number>();
  const upstreamDoneAt = new Map<string, number>();
  const settledIds: string[] = [];
  let resolveAll!: () => void;
  const all = new Promise<void>((r) => (resolveAll = r));
  app.dispatcher.onTaskSettled((id) => {
    doneAt.set(id, Date.now());
    settledIds.push(id);
    if (settledIds.length === n) resolveAll();
  });
  const started = Date.now();
  const cpu0 = process.cpuUsage();
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await app.server.inject({ method: 'POST', url: '/v1/videos/generations', headers: auth, payload: { model: 'doubao-seedance-2.0', prompt: `bench ${i}`, resolution: '480p', duration: 4 } });
    if (res.statusCode !== 200) throw new Error(`submit ${i}: ${res.statusCode} ${res.body}`);
    ids.push(res.json().data[0].task_id);
  }
  // Each upstream task finishes 5–60 s after it was created upstream.
  const scheduled = new Set<string>();
  const schedule = setInterval(() => {
    for (const task of ark.tasks()) {
      if (scheduled.has(task.id)) continue;
      scheduled.add(task.id);
      setTimeout(() => {
        ark.advance(task.id, 'succeeded');
        upstreamDoneAt.set(task.id, Date.now());
      }, 5000 + Math.random() * 55_000);
    }
    // The fake's request log grows with every request; keep only list requests' sizes.
    for (const r of ark.requests.splice(0)) if (r.route === 'list') (listCalls++, (polledIds += r.query.getAll('filter.task_ids').length));
  }, 250);
  let listCalls = 0;
  let polledIds = 0;
  const limit = setTimeout(() => resolveAll(), 240_000);
  await all;
  clearTimeout(limit);
  clearInterval(schedule);
  for (const r of ark.requests.splice(0)) if (r.route === 'list') (listCalls++, (polledIds += r.query.getAll('filter.task_ids').length));
  const cpu = process.cpuUsage(cpu0);
  const wallMs = Date.now() - started;
  clearInterval(rssTimer);
  const latencies: number[] = [];
  for (const id of ids) {
    const task = await app.store.getTask(id);
    const upstreamId = (task?.providerState as { data?: { upstreamId?: string } } | null)?.data?.upstreamId;
    const up = upstreamId ? upstreamDoneAt.get(upstreamId) : undefined;
    const at = doneAt.get(id);
    if (task?.status === 'completed' && up !== undefined && at !== undefined) latencies.push(at - up);
  }
  latencies.sort((a, b) => a - b);
  await app.close();
  await ark.close();
  await rm(dir, { recursive: true, force: true });
  return {
    tasks: n,
    completed: latencies.length,
    p50Ms: pct(latencies, 0.5),
    p99Ms: pct(latencies, 0.99),
    maxMs: latencies.at(-1) ?? NaN,
    listCalls,
    polledIds,
    requestsPerTaskPerRound: polledIds ? listCalls / polledIds : NaN,
    cpuPercentOfOneCore: ((cpu.user + cpu.system) / 1000 / wallMs) * 100,
    peakRssMb: peakRss / 1024 / 1024,
    wallSeconds: wallMs / 1000,
  };
}

export const UPSTREAM_HEADING = '## Upstream polling at scale (fake Ark)';
/** Default 10 000; BENCH_UPSTREAM_TASKS lowers it. */
export const upstreamTasks = () => Number(process.env.BENCH_UPSTREAM_TASKS ?? 10_000);

export function upstreamSummary(r: UpstreamLoadResult): string {
  return `${r.completed}/${r.tasks} completed; upstream done → completed p50 ${(r.p50Ms / 1000).toFixed(2)} s, p99 ${(r.p99Ms / 1000).toFixed(2)} s; ${r.requestsPerTaskPerRound.toFixed(4)} list requests per task per poll; CPU ${r.cpuPercentOfOneCore.toFixed(0)} % of a core; peak RSS ${r.peakRssMb.toFixed(0)} MB`;
}

export function upstreamSection(r: UpstreamLoadResult, date: string): string {
  const ok = (pass: boolean) => (pass ? 'met' : '**missed**');
  const rows: Array<[string, string, string]> = [
    ['Tasks in flight (each done upstream after a random 5–60 s)', String(r.tasks), ''],
    ['Completed in vidgate', `${r.completed}`, ok(r.completed === r.tasks)],
    ['Upstream done → `completed`, p50', `${(r.p50Ms / 1000).toFixed(2)} s`, ''],
    ['Upstream done → `completed`, p99 (max)', `${(r.p99Ms / 1000).toFixed(2)} s (${(r.maxMs / 1000).toFixed(2)} s)`, `≤ 5 s: ${ok(r.p99Ms <= 5000)}`],
    ['List requests / task ids polled', `${r.listCalls} / ${r.polledIds}`, ''],
    ['Upstream requests per task per poll round', r.requestsPerTaskPerRound.toFixed(4), `≤ 1: ${ok(r.requestsPerTaskPerRound <= 1)}`],
    ['CPU of the process (gateway + fake Ark), % of one core', `${r.cpuPercentOfOneCore.toFixed(0)} %`, `not saturated: ${ok(r.cpuPercentOfOneCore < 90)}`],
    ['Peak RSS of the process (gateway + fake Ark)', `${r.peakRssMb.toFixed(0)} MB`, `< 300 MB: ${ok(r.peakRssMb < 300)}`],
    ['Wall time (submits included)', `${r.wallSeconds.toFixed(0)} s`, ''],
  ];
  return `${UPSTREAM_HEADING}

\`BENCH_ONLY=upstream npm run bench\` (${date}; \`BENCH_UPSTREAM_TASKS\` sets the count). One in-process
vidgate with one \`ark\` channel (max_in_flight = N, first_poll_ms 1000, max_poll_ms 4000,
expected_seconds 30) in front of the fake Ark of the tests, which holds every task queued until
the benchmark marks it succeeded on a timer. The fake Ark runs in the same process, so CPU and
memory are upper bounds for vidgate alone. Latency is from the moment the fake marks the task
succeeded to vidgate's task-settled event (result downloaded into storage included).

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
