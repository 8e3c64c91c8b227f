/**
 * `npm run bench`: measures vidgate against floors taken in the same run, prints a table and
 * rewrites BENCHMARKS.md. Not a test: it exits 0 whatever the numbers, unless it could not measure.
 * BENCH_QUICK=1 makes every run short and leaves BENCHMARKS.md alone (for working on the benchmark).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import type { App } from '../src/app.js';
import { loadConfig } from '../src/config/env.js';
import { describeMachine } from './machine.js';
import { builtApp } from './dist.js';
import { locateFfmpeg } from '../src/render/ffmpeg.js';
import { X264_PARAMS, X264_PRESET } from '../src/render/encode.js';
import { bigRenderBench, childCpuSeconds, floorCommand, renderModesBench } from './render-modes.js';
import {
  renderRows,
  summaryRows,
  writeRenderParts,
  writeSection,
  textTable,
  writeMarkdown,
  type BenchResults,
  type RenderResults,
  type RenderRun,
} from './report.js';
import { runSseBench, sseSection, sseSummary } from './sse.js';
import { runWaitBench, waitSection, waitSummary } from './wait.js';
import { SEED_CASES } from '../test/helpers/seed-cases.js';
import { runUpstreamLoad, upstreamSection, upstreamSummary, upstreamTasks, type UpstreamLoadResult } from './upstream-load.js';
import { postgresSection, previousPostgresHistory, runPostgresBench } from './postgres.js';
import { httpRows, previousHttpHistory, runHttpBench, writeHttpParts } from './http.js';
import { burstSection, burstSummary, previousBurstHistory, runBurstBench } from './burst.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const QUICK = process.env.BENCH_QUICK === '1';
/** BENCH_ONLY=sse runs only the live-events section and rewrites only that section of BENCHMARKS.md. */
const ONLY_SSE = process.env.BENCH_ONLY === 'sse';
/** BENCH_ONLY=upstream runs only the upstream polling section (fake Ark) and rewrites only that section. */
const ONLY_UPSTREAM = process.env.BENCH_ONLY === 'upstream';
/** BENCH_ONLY=postgres runs only the PostgreSQL section (its own throwaway server) and rewrites only that section. */
const ONLY_POSTGRES = process.env.BENCH_ONLY === 'postgres';
/**
 * BENCH_ONLY=renders runs only the render rows (submit → completed, the render modes, the 4k render)
 * and rewrites only those rows, the render details and one history line. BENCH_MODES=anime (a part of
 * a mode's name) limits the modes, for working on one; such a run leaves BENCHMARKS.md alone.
 */
const ONLY_RENDERS = process.env.BENCH_ONLY === 'renders';
const ONLY_MODES = process.env.BENCH_MODES || undefined;
/**
 * BENCH_ONLY=http runs only the HTTP rows on SQLite (vidgate against its same-work floors, bench/http.ts)
 * and rewrites only those rows and the HTTP details block, with its history line.
 */
const ONLY_HTTP = process.env.BENCH_ONLY === 'http';
/** BENCH_ONLY=burst runs only the burst section (1000 clients connecting at once, bench/burst.ts) and rewrites only it. */
const ONLY_BURST = process.env.BENCH_ONLY === 'burst';
/** BENCH_ONLY=wait runs only the waiting-clients section (SDK wait over SSE against polling, bench/wait.ts) and rewrites only it. */
const ONLY_WAIT = process.env.BENCH_ONLY === 'wait';
const WAIT_TASKS = QUICK ? 5 : 20;
const BURST_CLIENTS = QUICK ? 200 : 1000;
/** Tasks drained by the no-op workers of the PostgreSQL section. */
const PG_WORKER_TASKS = QUICK ? 300 : 2000;
const SSE_CLIENTS = QUICK ? 200 : 1000;
const CONNECTIONS = 10;
const DURATION_S = QUICK ? 2 : 5;
/** Max-rate runs per target, interleaved floor / submit / status; the median is reported. */
const ROUNDS = QUICK ? 1 : 3;
const WARMUP_S = QUICK ? 1 : 2;
/** Submit → completed runs (BENCH_RENDER_REPEATS overrides, e.g. for a renders-only run on a busy machine). */
const RENDER_REPEATS = Number(process.env.BENCH_RENDER_REPEATS) || 3;
/** Runs of each render mode (each after its own floor run). */
const MODE_REPEATS = QUICK ? 1 : Number(process.env.BENCH_MODE_REPEATS) || 5;
const RENDER_TIMEOUT_MS = 120_000;
const API_KEY = 'sk-bench-0123456789abcdefghijklmnop';
/** Seed case 1: text-to-video, 720p 16:9, 5 s, with audio. */
const CASE_1 = SEED_CASES[1]!;
const CASE_1_PIXELS = '1248x704';
/**
 * Per-key limits raised so the load is measured, not refused: the limiter and the in-flight check
 * still run on every request. (Unknown variables are ignored by loadConfig.)
 */
const LIMITS_OFF = { VIDGATE_DEFAULT_RPM: '1000000', VIDGATE_READ_RPM: '10000000', VIDGATE_DEFAULT_IN_FLIGHT: '1000000' };

const cleanups: Array<() => Promise<unknown>> = [];
const say = (line: string) => process.stdout.write(`${line}\n`);

async function cleanUp(): Promise<void> {
  while (cleanups.length) {
    const step = cleanups.pop()!;
    await step().catch((err: Error) => process.stderr.write(`cleanup: ${err.message}\n`));
  }
}

interface Vidgate {
  app: App;
  base: string;
  logFile: string;
  flushLog: () => void;
  close: () => Promise<void>;
}

/**
 * Starts vidgate in-process, built (bench/dist.ts) as `npm start` runs it, with its real logger
 * (level info) writing to a file, not the terminal.
 */
async function startVidgate(dir: string, opts: { dispatcher: boolean }): Promise<Vidgate> {
  const { createApp, loadConfig } = await builtApp();
  const logFile = join(dir, 'vidgate.log');
  const destination = pino.destination({ dest: logFile, sync: false, mkdir: true });
  const logger = pino({ level: 'info', base: { service: 'vidgate' } }, destination);
  const config = loadConfig({
    ...(process.env.VIDGATE_FFMPEG ? { VIDGATE_FFMPEG: process.env.VIDGATE_FFMPEG } : {}),
    ...LIMITS_OFF,
    VIDGATE_DATA_DIR: join(dir, 'data'),
    VIDGATE_BOOTSTRAP_KEY: API_KEY,
    VIDGATE_LOG_LEVEL: 'info',
    VIDGATE_HOST: '127.0.0.1',
    VIDGATE_PORT: '0',
    VIDGATE_SHUTDOWN_GRACE_SECONDS: '5',
  });
  const app = await createApp(config, { logger, runDispatcher: opts.dispatcher });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await app.close();
    destination.flushSync();
    destination.end();
    await rm(dir, { recursive: true, force: true });
  };
  cleanups.push(close);
  // Belt and braces: in some versions runDispatcher: false only skipped dispatcher.start() while every
  // submit still poked the dispatcher into rendering. A stopped dispatcher never claims, so tasks just queue.
  if (!opts.dispatcher) await app.dispatcher.stop(0);
  // Listens like `vidgate serve` (src/cli/serve.ts), with the configured backlog: without one Node
  // queues only 511 connections, and a burst of clients past that waits for SYN retries.
  await app.server.listen({ host: '127.0.0.1', port: 0, backlog: config.listenBacklog });
  const address = app.server.server.address();
  if (!address || typeof address === 'string') throw new Error('vidgate did not bind a TCP port');
  return { app, base: `http://127.0.0.1:${address.port}`, logFile, flushLog: () => destination.flushSync(), close };
}

async function submitOnce(base: string): Promise<string> {
  const res = await fetch(`${base}/v1/videos/generations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(CASE_1),
  });
  const body = (await res.json()) as { data?: Array<{ task_id?: string }> };
  const id = body.data?.[0]?.task_id;
  if (res.status !== 200 || !id) throw new Error(`submit failed: HTTP ${res.status} ${JSON.stringify(body)}`);
  return id;
}

async function taskStatus(base: string, id: string): Promise<string> {
  const res = await fetch(`${base}/v1/tasks/${id}`, { headers: { authorization: `Bearer ${API_KEY}` } });
  const body = (await res.json()) as { data?: { status?: string; error?: { message?: string } } };
  if (res.status !== 200) throw new Error(`status failed: HTTP ${res.status} ${JSON.stringify(body)}`);
  const status = body.data?.status ?? 'unknown';
  return status === 'failed' ? `failed: ${body.data?.error?.message ?? ''}` : status;
}

/** What the HTTP rows and the burst need from this file: vidgate started as the other rows start it. */
function benchSettings(dir: string) {
  const defaults = loadConfig({ ...LIMITS_OFF });
  return {
    apiKey: API_KEY,
    backlog: defaults.listenBacklog,
    maxConnections: defaults.maxConnections,
    inFlightLimit: defaults.defaultInFlightLimit,
    dir,
    say,
    startVidgate: (at: string) => startVidgate(at, { dispatcher: false }),
    onCleanup: (step: () => Promise<unknown>) => {
      cleanups.push(step);
    },
  };
}

/** The HTTP rows on SQLite: submit and status against same-work floors (bench/http.ts). */
function httpBench(dir: string, command: string) {
  say(`HTTP on SQLite: vidgate (dispatcher stopped, log level info to a file) against same-work floors, ${ROUNDS} interleaved round(s):`);
  return runHttpBench(
    { ...benchSettings(dir), connections: CONNECTIONS, durationSeconds: DURATION_S, warmupSeconds: WARMUP_S, rounds: ROUNDS, submitBody: CASE_1 },
    command,
  );
}

/** 1000 clients connecting at once and polling status (bench/burst.ts). */
function burstBench(dir: string, command: string) {
  return runBurstBench({ ...benchSettings(dir), clients: BURST_CLIENTS, pollMs: 1000, durationMs: QUICK ? 4000 : 10_000, timeoutMs: 5000 }, command);
}

/** The encoder settings the renderer uses, so the ffmpeg floor follows any tuning of them. */
function rendererEncoder(): { preset: string; extra: string | null } {
  return { preset: X264_PRESET, extra: X264_PARAMS ? `-x264-params ${X264_PARAMS}` : null };
}

function ffmpegFloorArgs(preset: string, out: string): string[] {
  return [
    '-nostdin',
    '-hide_banner',
    '-loglevel',
    'error',
    '-f',
    'lavfi',
    '-i',
    `testsrc2=s=${CASE_1_PIXELS}:r=24:d=5`,
    '-c:v',
    'libx264',
    '-preset',
    preset,
    '-pix_fmt',
    'yuv420p',
    '-y',
    out,
  ];
}

function timeFfmpeg(binary: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code) => {
      const elapsed = performance.now() - started;
      if (code === 0) resolve(elapsed);
      else reject(new Error(`ffmpeg floor failed (${code}): ${stderr.trim()}`));
    });
  });
}

interface LogLine {
  time?: number;
  msg?: string;
  task?: string;
  ms?: number;
}

async function renderBench(dir: string) {
  const { app, base, logFile, flushLog, close } = await startVidgate(join(dir, 'render'), { dispatcher: true });
  const settledAt = new Map<string, number>();
  const waiting = new Map<string, () => void>();
  const off = app.dispatcher.onTaskSettled((id) => {
    settledAt.set(id, performance.now());
    waiting.get(id)?.();
  });
  cleanups.push(async () => off());
  const encoder = rendererEncoder();
  const floorOut = join(dir, 'floor.mp4');
  const floorArgs = ffmpegFloorArgs(encoder.preset, floorOut);
  cleanups.push(() => rm(floorOut, { force: true }));

  const renders: RenderRun[] = [];
  const ffmpegFloorMs: number[] = [];
  const submitted: Array<{ id: string; postEpoch: number }> = [];
  for (let i = 0; i < RENDER_REPEATS; i++) {
    const floorCpuBefore = await childCpuSeconds();
    const floorMs = await timeFfmpeg(app.ffmpeg.path, floorArgs);
    ffmpegFloorMs.push(floorMs);
    const floorCpuS = (await childCpuSeconds()) - floorCpuBefore;

    // The task's ffmpeg is a child of this process too (vidgate runs in-process): its CPU is counted once reaped.
    const cpuBefore = await childCpuSeconds();
    const postEpoch = Date.now();
    const started = performance.now();
    const id = await submitOnce(base);
    const postMs = performance.now() - started;
    if (!settledAt.has(id)) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`task ${id} did not settle within ${RENDER_TIMEOUT_MS} ms`)), RENDER_TIMEOUT_MS);
        waiting.set(id, () => {
          clearTimeout(timer);
          resolve();
        });
      });
      waiting.delete(id);
    }
    const totalMs = settledAt.get(id)! - started;
    const status = await taskStatus(base, id);
    if (status !== 'completed') throw new Error(`render task ${id} ended ${status}`);
    const cpuS = (await childCpuSeconds()) - cpuBefore;
    renders.push({ totalMs, postMs, queuedMs: null, runMs: null, cpuS, floorCpuS });
    submitted.push({ id, postEpoch });
    say(`  render ${i + 1}: ${(totalMs / 1000).toFixed(2)} s (bare ffmpeg ${(floorMs / 1000).toFixed(2)} s)`);
  }

  // The dispatcher's own log lines split the wall time into queueing and running.
  flushLog();
  const lines = (await readFile(logFile, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      try {
        return JSON.parse(line) as LogLine;
      } catch {
        return {} as LogLine;
      }
    });
  submitted.forEach(({ id, postEpoch }, i) => {
    const startedLine = lines.find((l) => l.task === id && l.msg === 'task started');
    const completedLine = lines.find((l) => l.task === id && l.msg === 'task completed');
    renders[i]!.queuedMs = startedLine?.time !== undefined ? startedLine.time - postEpoch : null;
    renders[i]!.runMs = typeof completedLine?.ms === 'number' ? completedLine.ms : null;
  });

  const ffmpegFloorCommand = [app.ffmpeg.path, ...floorArgs.slice(4).map((a) => (a === floorOut ? 'out.mp4' : a))].join(' ');
  const ffmpegPath = app.ffmpeg.path;
  await close();
  return { renders, ffmpegFloorMs, ffmpegFloorCommand, encoder, ffmpegPath };
}

/** Many live-event clients held by one server (see bench/sse.ts). */
async function sseBench(dir: string) {
  say(`Live events: ${SSE_CLIENTS} concurrent SSE clients held by one vidgate:`);
  const server = await startVidgate(join(dir, 'sse'), { dispatcher: false });
  try {
    const result = await runSseBench(server, API_KEY, SSE_CLIENTS);
    say(`  ${sseSummary(result)}`);
    return result;
  } finally {
    await server.close();
  }
}

/** Short renders waited for with the SDK, over the event stream and by polling (see bench/wait.ts). */
async function waitBench(dir: string) {
  say(`Clients that wait: ${WAIT_TASKS} short renders per mode, SDK wait over SSE against polling:`);
  const server = await startVidgate(join(dir, 'wait'), { dispatcher: true });
  try {
    const result = await runWaitBench(server, API_KEY, WAIT_TASKS, say);
    say(`  ${waitSummary(result)}`);
    return result;
  } finally {
    await server.close();
  }
}

/** N upstream tasks in flight against the fake Ark (QUICK: 200). */
async function upstreamBench() {
  const n = QUICK ? 200 : upstreamTasks();
  say(`Upstream polling: ${n} tasks in flight against the fake Ark, each done after 5–60 s:`);
  const r = await runUpstreamLoad(n);
  say(`  ${upstreamSummary(r)}`);
  return r;
}

/** The PostgreSQL section; `sqliteUpstream` is this run's SQLite upstream result when it has one. */
async function postgresBench(dir: string, sqliteUpstream: UpstreamLoadResult | null) {
  const ffmpeg = await locateFfmpeg(process.env.VIDGATE_FFMPEG);
  return runPostgresBench({
    quick: QUICK,
    connections: CONNECTIONS,
    durationSeconds: DURATION_S,
    warmupSeconds: WARMUP_S,
    rounds: ROUNDS,
    apiKey: API_KEY,
    submitBody: CASE_1,
    ffmpegPath: ffmpeg.path,
    dir,
    say,
    workerTasks: PG_WORKER_TASKS,
    upstreamTasks: QUICK ? 200 : upstreamTasks(),
    sqliteUpstream,
  });
}

/** The render rows: submit → completed through the dispatcher, each render mode, the 4k render. */
async function renderParts(dir: string) {
  say(`Submit → completed (seed case 1, ${RENDER_REPEATS}×, interleaved with the bare ffmpeg floor):`);
  const render = await renderBench(dir);
  const ffmpeg = await locateFfmpeg(process.env.VIDGATE_FFMPEG);
  say(`Render modes at 720p 16:9, 5 s, each run after a bare ffmpeg floor run (${MODE_REPEATS}×):`);
  const modes = await renderModesBench(ffmpeg, join(dir, 'modes'), { repeats: MODE_REPEATS, say, only: ONLY_MODES });
  let bigRender = null;
  if (QUICK || process.env.BENCH_SKIP_4K === '1') {
    say('4k 15 s render: skipped');
  } else {
    say('4k 15 s text render with audio through a `vidgate serve` process:');
    bigRender = await bigRenderBench(join(dir, 'big'), ffmpeg.path, say);
  }
  return { render, ffmpeg, modes, bigRender };
}

/** BENCH_ONLY=renders: the render parts alone, written into the render parts of BENCHMARKS.md. */
async function rendersOnly(dir: string, date: string, began: number): Promise<void> {
  const ffmpegPath = (await locateFfmpeg(process.env.VIDGATE_FFMPEG)).path;
  const machine = await describeMachine(ffmpegPath);
  const { render, ffmpeg, modes, bigRender } = await renderParts(dir);
  const results: RenderResults = {
    date,
    command: 'BENCH_ONLY=renders npm run bench',
    machine,
    renders: render.renders,
    ffmpegFloorMs: render.ffmpegFloorMs,
    ffmpegFloorCommand: render.ffmpegFloorCommand,
    encoder: render.encoder,
    modes,
    modeRepeats: MODE_REPEATS,
    modeFloorCommand: floorCommand(ffmpeg.path),
    bigRender,
    totalSeconds: (performance.now() - began) / 1000,
  };
  say('');
  say(`${machine.cpu}, ${machine.cores} cores, ${machine.ramGiB} GiB, Node ${machine.node}, load ${machine.loadAtStart} at start`);
  say(textTable(renderRows(results)));
  const partial = QUICK || ONLY_MODES !== undefined || process.env.BENCH_SKIP_4K === '1';
  if (partial) say('BENCH_QUICK, BENCH_MODES or BENCH_SKIP_4K set: BENCHMARKS.md left untouched.');
  else await writeRenderParts(join(ROOT, 'BENCHMARKS.md'), results);
  if (!partial) say('Wrote the render rows, render details and a history line of BENCHMARKS.md');
}

async function main(): Promise<void> {
  const began = performance.now();
  const date = new Date().toISOString();
  const dir = await mkdtemp(join(tmpdir(), 'vidgate-bench-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));

  say(`vidgate benchmark ${date}${QUICK ? ' (BENCH_QUICK: short runs, not for the record)' : ''}`);
  if (ONLY_SSE) {
    const sse = await sseBench(dir);
    if (!QUICK) await writeSection(join(ROOT, 'BENCHMARKS.md'), sseSection(sse, date));
    say(QUICK ? 'BENCH_QUICK set: BENCHMARKS.md left untouched.' : 'Wrote the live events section of BENCHMARKS.md');
    return;
  }
  if (ONLY_WAIT) {
    const wait = await waitBench(dir);
    if (!QUICK) await writeSection(join(ROOT, 'BENCHMARKS.md'), waitSection(wait, date, 'BENCH_ONLY=wait npm run bench'));
    else say(waitSection(wait, date, 'BENCH_QUICK=1 BENCH_ONLY=wait npm run bench'));
    say(QUICK ? 'BENCH_QUICK set: BENCHMARKS.md left untouched.' : 'Wrote the clients-that-wait section of BENCHMARKS.md');
    return;
  }
  if (ONLY_UPSTREAM) {
    const upstream = await upstreamBench();
    if (!QUICK) await writeSection(join(ROOT, 'BENCHMARKS.md'), upstreamSection(upstream, date));
    say(QUICK ? 'BENCH_QUICK set: BENCHMARKS.md left untouched.' : 'Wrote the upstream polling section of BENCHMARKS.md');
    return;
  }
  if (ONLY_RENDERS) {
    await rendersOnly(dir, date, began);
    return;
  }
  if (ONLY_HTTP) {
    const file = join(ROOT, 'BENCHMARKS.md');
    const history = await previousHttpHistory(file);
    const http = await httpBench(dir, 'BENCH_ONLY=http npm run bench');
    say('');
    say(textTable(httpRows(http)));
    if (!QUICK) await writeHttpParts(file, http, history);
    say(QUICK ? 'BENCH_QUICK set: BENCHMARKS.md left untouched.' : 'Wrote the HTTP rows, the HTTP details and a history line of BENCHMARKS.md');
    return;
  }
  if (ONLY_BURST) {
    const file = join(ROOT, 'BENCHMARKS.md');
    const history = await previousBurstHistory(file);
    const burst = await burstBench(dir, 'BENCH_ONLY=burst npm run bench');
    say(`  ${burstSummary(burst)}`);
    if (!QUICK) await writeSection(file, burstSection(burst, history));
    else say(burstSection(burst, history));
    say(QUICK ? 'BENCH_QUICK set: BENCHMARKS.md left untouched.' : 'Wrote the burst section of BENCHMARKS.md');
    return;
  }
  if (ONLY_POSTGRES) {
    const file = join(ROOT, 'BENCHMARKS.md');
    const history = await previousPostgresHistory(file);
    const pgResult = await postgresBench(dir, null);
    if (!QUICK) await writeSection(file, postgresSection(pgResult, history));
    else say(postgresSection(pgResult, history));
    say(QUICK ? 'BENCH_QUICK set: BENCHMARKS.md left untouched.' : 'Wrote the PostgreSQL section of BENCHMARKS.md');
    return;
  }
  const http = await httpBench(dir, 'npm run bench');
  const burstHistory = await previousBurstHistory(join(ROOT, 'BENCHMARKS.md'));
  const burst = await burstBench(dir, 'npm run bench');
  const { render, ffmpeg, modes, bigRender } = await renderParts(dir);
  const sse = await sseBench(dir);
  const wait = await waitBench(dir);
  const upstream = await upstreamBench();
  const pgHistory = await previousPostgresHistory(join(ROOT, 'BENCHMARKS.md'));
  const postgres = await postgresBench(dir, upstream);
  const machine = await describeMachine(render.ffmpegPath);

  const results: BenchResults = {
    date,
    command: 'npm run bench',
    machine,
    settings: { connections: CONNECTIONS, durationSeconds: DURATION_S, warmupSeconds: WARMUP_S, rounds: ROUNDS },
    http,
    renders: render.renders,
    ffmpegFloorMs: render.ffmpegFloorMs,
    ffmpegFloorCommand: render.ffmpegFloorCommand,
    encoder: render.encoder,
    modes,
    modeRepeats: MODE_REPEATS,
    modeFloorCommand: floorCommand(ffmpeg.path),
    bigRender,
    totalSeconds: (performance.now() - began) / 1000,
  };

  say('');
  say(`${machine.cpu}, ${machine.cores} cores, ${machine.ramGiB} GiB, Node ${machine.node}, load ${machine.loadAtStart} at start`);
  say(textTable(summaryRows(results)));
  if (QUICK) {
    say('BENCH_QUICK set: BENCHMARKS.md left untouched.');
  } else {
    await writeMarkdown(join(ROOT, 'BENCHMARKS.md'), results);
    await writeSection(join(ROOT, 'BENCHMARKS.md'), burstSection(burst, burstHistory));
    await writeSection(join(ROOT, 'BENCHMARKS.md'), sseSection(sse, date));
    await writeSection(join(ROOT, 'BENCHMARKS.md'), waitSection(wait, date, 'npm run bench'));
    await writeSection(join(ROOT, 'BENCHMARKS.md'), upstreamSection(upstream, date));
    await writeSection(join(ROOT, 'BENCHMARKS.md'), postgresSection(postgres, pgHistory));
    say(`Wrote BENCHMARKS.md (${results.totalSeconds.toFixed(0)} s)`);
  }
}

let interrupted = false;
process.once('SIGINT', () => {
  interrupted = true;
  say('interrupted: cleaning up');
  void cleanUp().then(() => process.exit(130));
});
process.once('uncaughtException', (err) => {
  interrupted = true;
  process.stderr.write(`benchmark crashed: ${err.stack ?? err}\n`);
  void cleanUp().then(() => process.exit(1));
});

try {
  await main();
} catch (err) {
  process.exitCode = 1;
  process.stderr.write(`benchmark failed: ${(err as Error).stack ?? err}\n`);
} finally {
  if (!interrupted) await cleanUp();
}
