import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { BIGINT_AS_NUMBER } from '../../src/store/postgres/connection.js';
import { eventId } from '../../src/events/task-events.js';
import { openEvents, type SseConnection, type SseEvent } from '../events/sse-client.js';
import { createTestDatabase } from '../helpers/postgres-server.js';
import { startTestS3, type TestS3 } from '../helpers/s3-server.js';
import { writeArkConfig } from '../helpers/upstreams/ark-config.js';
import { startFakeArk, type ArkLifecycle, type FakeArk } from '../helpers/upstreams/fake-ark.js';
import { sampleFrame, sampleSize, sampleVideo } from '../helpers/upstreams/sample-video.js';

/**
 * Issue 15, "tests with real parts": two API and two worker processes (`vidgate serve`, real child
 * processes) on one PostgreSQL database and one S3-compatible server. 200 tasks go in through both
 * APIs while the workers are SIGKILLed and restarted at random; then every task has completed
 * exactly once (one upstream submission, one reservation, at most one settlement, no refund), each
 * account's ledger adds up to its completed tasks, every result downloads byte for byte from either
 * API instance, and an SSE client that moves from one API instance to the other with Last-Event-ID
 * misses nothing.
 *
 * The work is an `ark` channel against the fake Ark in this process (cheap: no renders), which ends
 * tasks after a short random number of polls. Randomness is seeded (CHAOS_SEED=<n> replays a run's
 * choices; the timing of processes still varies).
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TASKS = 200;
const SSE_TASKS = 24;
const PREFIX = 'chaos';
const ADMIN_TOKEN = `admin-${randomBytes(8).toString('hex')}`;
const BOOTSTRAP_KEY = `sk-chaos-${randomBytes(8).toString('hex')}`;
const BOOTSTRAP_USD = 150;
const SECOND_USD = 120;
/** How long the tasks may take to finish under the chaos before the test gives up and says which are stuck. */
const FINISH_WITHIN_MS = 70_000;
/**
 * Kills at least: when the tasks finish before that many (a fast run, slow worker starts), the loop
 * goes on killing idle workers until it has, so every run puts as many starts and kills to the test.
 */
const MIN_KILLS = 5;
/** How long before a submission's arrival here the worker that sent it may have been SIGKILLed (seen: 6 ms). */
const KILL_ARRIVAL_SLACK_MS = 250;
const SEED = Number(process.env.CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));

/** mulberry32: a small seeded PRNG, so a failing run's choices can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
/** Separate streams for the kill loop, the upstream and the workload, so one's draws do not shift the others'. */
const killRandom = prng(SEED);
const arkRandom = prng(SEED ^ 0x5bd1e995);
const workRandom = prng(SEED ^ 0x27d4eb2f);
const between = (random: () => number, min: number, max: number) => min + Math.floor(random() * (max - min + 1));
const pick = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

interface LogLine {
  level?: number;
  msg?: string;
  [field: string]: unknown;
}

/** A `vidgate serve` child process; unlike test/helpers/server-process.ts it can be killed before it listens. */
interface Instance {
  name: string;
  child: ChildProcess;
  logs: LogLine[];
  stderr: () => string;
  /** The base URL once it listens; rejects if it exits first. */
  ready: Promise<string>;
  listening: boolean;
  /** Set before this test SIGKILLs it: any other exit is a crash. */
  killed: boolean;
  killedAt?: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const clean of cleanups.splice(0).reverse()) await clean().catch((err) => console.warn('chaos cleanup:', err));
});

function startInstance(name: string, env: Record<string, string>): Instance {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve'], {
    cwd: ROOT,
    env: { ...process.env, VIDGATE_HOST: '127.0.0.1', VIDGATE_PORT: '0', VIDGATE_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogLine[] = [];
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr = (stderr + chunk).slice(-8000)));
  // CHAOS_LOG_DIR=<dir> keeps every instance's log there, for looking into a failed run.
  if (process.env.CHAOS_LOG_DIR) {
    const file = createWriteStream(join(process.env.CHAOS_LOG_DIR, `${name}.log`));
    child.stdout!.pipe(file);
    child.stderr!.pipe(createWriteStream(join(process.env.CHAOS_LOG_DIR, `${name}.stderr`)));
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const instance: Instance = { name, child, logs, stderr: () => stderr, ready: undefined as never, listening: false, killed: false, exited };
  instance.ready = new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (text) => {
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        return;
      }
      logs.push(line);
      if (!instance.listening && line.msg?.startsWith('vidgate listening')) {
        instance.listening = true;
        resolve(String(line.address));
      }
    });
    void exited.then(({ code, signal }) =>
      reject(new Error(`${name} exited (code ${code}, signal ${signal}) before listening; stderr: ${stderr.slice(-2000)}`)),
    );
  });
  // Rejections of instances killed while starting are expected; whoever needs one awaits it.
  instance.ready.catch(() => undefined);
  return instance;
}

async function kill(instance: Instance): Promise<void> {
  instance.killed = true;
  instance.killedAt = Date.now();
  instance.child.kill('SIGKILL');
  await instance.exited;
}

interface Api {
  name: string;
  base: string;
}

interface Account {
  name: string;
  id: string;
  key: string;
  openingMicros: number;
}

interface Submitted {
  index: number;
  id: string;
  prompt: string;
  account: Account;
  via: Api;
}

interface TaskRow {
  id: string;
  account_id: string;
  status: string;
  progress: number;
  cost_micros: number;
  reserved_micros: number;
  attempts: number;
  lease_owner: string | null;
  lease_expires_at: number | null;
  provider_state: string | null;
  result: string | null;
  error: string | null;
  open_run: number;
  interrupted_runs: number;
  interrupted_alone: number;
}

interface LedgerRow {
  account_id: string;
  task_id: string | null;
  kind: 'topup' | 'reserve' | 'settle' | 'refund';
  amount_micros: number;
}

interface TaskView {
  id: string;
  status: string;
  cost: number;
  result?: { videos: Array<{ url: string[] }> };
}

/** The fake Ark ends each task after a short random number of reads: 1–5 queued, 1–8 running. */
function randomLifecycle(ark: FakeArk): void {
  Object.defineProperty(ark, 'lifecycle', {
    get: (): ArkLifecycle => ({ queued: between(arkRandom, 1, 5), running: between(arkRandom, 1, 8), end: 'succeeded' }),
  });
}

describe('two API and two worker instances on one PostgreSQL and one S3, workers SIGKILLed at random', () => {
  it('complete every task exactly once, charge it once, serve it from either API, and lose no live event', async () => {
    const t0 = Date.now();
    const phase = (what: string) => console.log(`chaos [seed ${SEED}] ${((Date.now() - t0) / 1000).toFixed(1)} s: ${what}`);
    phase(`seed ${SEED} (replay with CHAOS_SEED=${SEED})`);

    // The shared parts: one database, one bucket, one upstream.
    const database = await createTestDatabase(inject('postgresAdminUrl'));
    cleanups.push(database.drop);
    const sql = new pg.Client({ connectionString: database.url, types: BIGINT_AS_NUMBER });
    await sql.connect();
    cleanups.push(() => sql.end());
    const s3: TestS3 = await startTestS3();
    cleanups.push(() => s3.close());
    const ark = await startFakeArk();
    cleanups.push(() => ark.close());
    randomLifecycle(ark);
    // When each submit reached the fake, by prompt (the fake itself keeps only seconds).
    const submitTimes = new Map<string, number[]>();
    const record = ark.requests.push.bind(ark.requests);
    ark.requests.push = (...requests) => {
      for (const r of requests) {
        const text = (r.body as { content?: Array<{ text?: string }> } | undefined)?.content?.[0]?.text;
        if (r.method === 'POST' && text) submitTimes.set(text, [...(submitTimes.get(text) ?? []), Date.now()]);
      }
      return record(...requests);
    };
    const config = await writeArkConfig({
      baseUrl: ark.baseUrl,
      models: { 'doubao-seedance-2.0': 'doubao-seedance-2-0-260128', 'doubao-seedance-2.0-fast': 'doubao-seedance-2-0-fast-260128' },
      // Quick polls; a short expected time so upstream tasks report progress (more events to lose).
      settings: { first_poll_ms: 100, max_poll_ms: 400, expected_seconds: 3, max_in_flight: 200 },
    });
    cleanups.push(config.remove);
    const ratios = ['16:9', '9:16', '1:1'] as const;
    // The fake serves these files; made now so that no upstream download waits for ffmpeg.
    await Promise.all(
      ratios.flatMap((r) => [sampleVideo({ ...sampleSize(r), audio: true }), sampleVideo({ ...sampleSize(r), audio: false }), sampleFrame(sampleSize(r))]),
    );
    const dataRoot = await mkdtemp(join(tmpdir(), 'vidgate-chaos-'));
    cleanups.push(() => rm(dataRoot, { recursive: true, force: true }));

    const common: Record<string, string> = {
      VIDGATE_DATABASE_URL: database.url,
      ...s3.env(PREFIX),
      VIDGATE_CONFIG: config.file,
      VIDGATE_MEDIA_ALLOW_HOSTS: '127.0.0.1',
      VIDGATE_LEASE_SECONDS: '2',
      // Deaths here come from the test, at random: no task is their cause, so none is blamed for them
      // (the rule that blames a task is tested in test/tasks/crash-recovery.test.ts).
      VIDGATE_CRASHES_ALONE: '1000000',
      VIDGATE_MAX_ATTEMPTS: '100',
      VIDGATE_BOOTSTRAP_KEY: BOOTSTRAP_KEY,
      VIDGATE_BOOTSTRAP_BALANCE: String(BOOTSTRAP_USD),
      VIDGATE_ADMIN_TOKEN: ADMIN_TOKEN,
      VIDGATE_DEFAULT_RPM: '100000',
      VIDGATE_READ_RPM: '1000000',
      VIDGATE_ANONYMOUS_RPM: '1000000',
      VIDGATE_DEFAULT_IN_FLIGHT: '100000',
      VIDGATE_DATABASE_POOL_SIZE: '6',
    };
    let started = 0;
    const instances: Instance[] = [];
    const launch = async (role: 'api' | 'worker'): Promise<Instance> => {
      const name = `${role}-${started++}`;
      const dataDir = join(dataRoot, name);
      await mkdir(dataDir);
      const instance = startInstance(name, { ...common, VIDGATE_ROLE: role, VIDGATE_DATA_DIR: dataDir });
      instances.push(instance);
      return instance;
    };
    cleanups.push(async () => {
      await Promise.all(instances.filter((i) => i.child.exitCode === null && i.child.signalCode === null).map(kill));
    });
    const dump = () => {
      for (const i of instances) {
        const bad = i.logs.filter((l) => (l.level ?? 0) >= 40).slice(-5);
        if (bad.length || (!i.killed && i.child.exitCode !== null)) console.log(`chaos ${i.name}:`, JSON.stringify(bad), i.stderr().slice(-1500));
      }
    };

    // A worker that exits on its own is a crash, recorded (and asserted on below); it is replaced so
    // that the work goes on and the report can say what else happened.
    const workers: Instance[] = [];
    let finished = false;
    const launchWorker = async (): Promise<Instance> => {
      const worker = await launch('worker');
      void worker.exited.then(async () => {
        const slot = workers.indexOf(worker);
        if (worker.killed || finished || slot < 0) return;
        workers[slot] = await launchWorker();
      });
      return worker;
    };

    // All four start at once: concurrent migrations and concurrent bootstrap of the same key.
    const apiA = await launch('api');
    const apiB = await launch('api');
    workers.push(await launchWorker(), await launchWorker());
    const [baseA, baseB] = await Promise.all([apiA.ready, apiB.ready, ...workers.map((w) => w.ready)]);
    phase('2 API and 2 worker instances listening');
    const apis: Api[] = [
      { name: 'A', base: baseA! },
      { name: 'B', base: baseB! },
    ];
    const bootstrapAccounts = await sql.query<{ id: string }>("SELECT id FROM accounts WHERE name = 'bootstrap'");
    expect(bootstrapAccounts.rows, 'four instances bootstrapping the same key at once make one account').toHaveLength(1);
    expect((await sql.query('SELECT id FROM api_keys')).rows).toHaveLength(1);

    // A second account, with a key of its own, made through the admin API.
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
    const opened = await fetch(`${apis[1]!.base}/admin/v1/accounts`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ name: 'second', balance: SECOND_USD }),
    });
    expect(opened.status).toBe(200);
    const secondId = ((await opened.json()) as { data: { id: string } }).data.id;
    const keyed = await fetch(`${apis[0]!.base}/admin/v1/accounts/${secondId}/keys`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ name: 'chaos' }),
    });
    expect(keyed.status).toBe(200);
    const accounts: Account[] = [
      { name: 'bootstrap', id: bootstrapAccounts.rows[0]!.id, key: BOOTSTRAP_KEY, openingMicros: BOOTSTRAP_USD * 1e6 },
      { name: 'second', id: secondId, key: ((await keyed.json()) as { api_key: string }).api_key, openingMicros: SECOND_USD * 1e6 },
    ];
    const auth = (a: Account) => ({ authorization: `Bearer ${a.key}` });

    // The chaos: while tasks are unfinished, every 0.5–1.5 s a worker is SIGKILLed and replaced. The
    // victim is one that works (listening); mostly its partner is up too, so work goes on, but now
    // and then the partner is still starting, or both go at once: a moment without any worker. Once
    // in a while a replacement is killed while it is still starting.
    const kills: string[] = [];
    let bothDown = 0;
    const replace = async (slot: number) => {
      const old = workers[slot]!;
      if (!workers[1 - slot]!.listening) bothDown++;
      kills.push(`${old.name}${old.listening ? '' : ' (starting)'}`);
      await kill(old);
      workers[slot] = await launchWorker();
    };
    const chaosGoesOn = () => !finished || kills.length < MIN_KILLS;
    const killLoop = (async () => {
      while (chaosGoesOn()) {
        await sleep(between(killRandom, 500, 1500));
        const draw = killRandom();
        const victim = between(killRandom, 0, 1);
        if (draw < 0.08) {
          // Both at once.
          await Promise.all([replace(0), replace(1)]);
          continue;
        }
        if (draw < 0.16) {
          // Whichever it is, starting or not.
          await replace(victim);
          continue;
        }
        // A working one, once its partner works too (unless the draw says not to wait for it).
        const waitForPartner = draw < 0.85;
        while (chaosGoesOn()) {
          const target = workers[victim]!;
          const partner = workers[1 - victim]!;
          if (target.listening && (partner.listening || !waitForPartner)) break;
          await sleep(100);
        }
        if (!chaosGoesOn()) break;
        await replace(victim);
      }
    })();

    // The work: 200 tasks, alternately through API A and B and for each account, 8 submitters at once.
    const submitted: Submitted[] = [];
    const plans = Array.from({ length: TASKS }, (_, index) => ({
      index,
      via: apis[index % 2]!,
      account: accounts[Math.floor(index / 2) % 2]!,
      body: {
        model: pick(workRandom, ['doubao-seedance-2.0', 'doubao-seedance-2.0-fast']),
        prompt: `chaos task ${index} of seed ${SEED}`,
        resolution: pick(workRandom, ['480p', '720p']),
        duration: between(workRandom, 4, 6),
        size: pick(workRandom, ratios),
        generate_audio: workRandom() < 0.5,
        return_last_frame: workRandom() < 0.3,
      },
      // About 25 s of submitting in all, so the chaos meets tasks in every state.
      pauseMs: between(workRandom, 0, 2000),
      sse: pick(workRandom, ['first', 'processing', 'progress'] as const),
      reconnectAfterMs: between(workRandom, 0, 1500),
    }));
    const watched = new Set(plans.filter((p) => p.index % Math.floor(TASKS / SSE_TASKS) === 3).map((p) => p.index));
    const sseChecks: Array<Promise<SseResult>> = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < plans.length) {
          const plan = plans[next++]!;
          await sleep(plan.pauseMs);
          const res = await fetch(`${plan.via.base}/v1/videos/generations`, {
            method: 'POST',
            headers: { ...auth(plan.account), 'content-type': 'application/json' },
            body: JSON.stringify(plan.body),
          });
          const answer = (await res.json()) as { data: Array<{ task_id: string }> };
          expect(res.status, JSON.stringify(answer)).toBe(200);
          const task: Submitted = { index: plan.index, id: answer.data[0]!.task_id, prompt: plan.body.prompt, account: plan.account, via: plan.via };
          submitted.push(task);
          if (watched.has(plan.index)) {
            const check = followAcross(task, apis[0]!, apis[1]!, auth(plan.account), plan.sse, plan.reconnectAfterMs);
            check.catch(() => undefined); // awaited below
            sseChecks.push(check);
          }
        }
      }),
    );
    phase(`${submitted.length} tasks submitted through both APIs`);

    // Until every task is finished (or the deadline says which are stuck).
    const unfinished = async () =>
      Number((await sql.query<{ n: number }>("SELECT count(*)::int AS n FROM tasks WHERE status IN ('pending', 'processing')")).rows[0]!.n);
    const deadline = Date.now() + FINISH_WITHIN_MS;
    while ((await unfinished()) > 0 && Date.now() < deadline) await sleep(200);
    finished = true;
    const killsWhileWorking = kills.length;
    await killLoop;
    const left = await unfinished();
    if (left > 0) {
      dump();
      const stuck = await sql.query<TaskRow>("SELECT * FROM tasks WHERE status IN ('pending', 'processing') LIMIT 5");
      console.log('chaos stuck tasks:', JSON.stringify(stuck.rows, null, 1));
    }
    expect(left, `tasks unfinished after ${FINISH_WITHIN_MS / 1000} s of chaos`).toBe(0);
    phase(
      `every task finished; ${kills.length} worker kills, ${killsWhileWorking} of them while tasks were unfinished (${bothDown} leaving no worker up): ${kills.join(', ')}`,
    );

    // No instance died on its own: every exit was one of our SIGKILLs.
    const crashed = instances.filter((i) => !i.killed && (i.child.exitCode !== null || i.child.signalCode !== null));
    if (crashed.length) dump();
    expect(
      crashed.map((i) => `${i.name}${i.listening ? '' : ' (while starting)'}: ${i.stderr().slice(-600)}`),
      'instances that exited without being killed',
    ).toEqual([]);

    // Exactly once: completed, one upstream submission each, the stored upstream id is that one.
    const rows = (await sql.query<TaskRow>('SELECT * FROM tasks ORDER BY id')).rows;
    expect(rows).toHaveLength(TASKS);
    const failed = rows.filter((r) => r.status !== 'completed');
    expect(
      failed.map((r) => `${r.id} ${r.status} ${r.error} attempts=${r.attempts} interrupted=${r.interrupted_runs}/${r.interrupted_alone}`),
      'tasks that did not complete',
    ).toEqual([]);
    const byId = new Map(rows.map((r) => [r.id, r]));
    const arkTasks = ark.tasks();
    const arkByPrompt = new Map<string, string[]>();
    for (const task of arkTasks) {
      const text = task.request.content.find((c) => c.type === 'text')?.text ?? '';
      arkByPrompt.set(text, [...(arkByPrompt.get(text) ?? []), task.id]);
    }
    // One upstream submission per task, with one exception that no gateway can avoid in front of an
    // upstream without idempotent submits (Ark has none): a worker SIGKILLed after Ark accepted its
    // submit and before vidgate stored the upstream id. The next worker cannot know that task and
    // submits again (the first one is left running upstream, unknown to vidgate). Such a second
    // submission is accepted here only when it is explained exactly so: a run of the task never
    // ended (interrupted_runs), a worker that had started a run of it was SIGKILLed by this test
    // within 2 s after the earlier submission arrived (or just before it arrived here,
    // KILL_ARRIVAL_SLACK_MS), and the task kept the later upstream id.
    // The other case is a worker that stalled past its lease (2 s here) while submitting: another
    // worker took the task over and submitted it, and the stalled one, unable to store its upstream
    // id, cancelled its submission upstream (UpstreamProvider.submitNow). That is accepted only when
    // that worker logged the lease lost for this task after the earlier submission and the fake got
    // the cancel of the earlier upstream task.
    // Anything else (two live workers submitting one task, a submission without a cut-short run) fails.
    const resubmitted: string[] = [];
    for (const s of submitted) {
      const row = byId.get(s.id)!;
      expect(row.lease_owner, s.id).toBeNull();
      const upstream = arkByPrompt.get(s.prompt) ?? [];
      expect(upstream.length, `${s.id}: upstream tasks`).toBeGreaterThan(0);
      const state = JSON.parse(row.provider_state!) as { data: { upstreamId: string } };
      expect(state.data.upstreamId, s.id).toBe(upstream.at(-1));
      if (upstream.length === 1) continue;
      resubmitted.push(s.id);
      expect(row.interrupted_runs, `${s.id}: submitted ${upstream.length} times, runs cut short`).toBeGreaterThanOrEqual(upstream.length - 1);
      const earlier = submitTimes.get(s.prompt)!.at(-2)!;
      const cutShort = instances.filter(
        (i) =>
          i.killedAt !== undefined &&
          // A submit written just before the SIGKILL may reach the fake's handler, in this process,
          // a few ms after the kill was sent.
          i.killedAt >= earlier - KILL_ARRIVAL_SLACK_MS &&
          i.killedAt <= earlier + 2000 &&
          i.logs.some((l) => l.task === s.id && l.msg === 'task started' && Number(l.time) <= Math.min(earlier, i.killedAt!)),
      );
      const twinCancelled = ark.requests.some((r) => r.route === 'cancel' && r.path.endsWith(`/${upstream.at(-2)}`));
      const leaseLost = instances.filter((i) =>
        i.logs.some((l) => l.task === s.id && l.msg === 'lease lost while running; another worker owns the task' && Number(l.time) >= earlier),
      );
      expect(
        [...cutShort, ...(twinCancelled ? leaseLost : [])].map((i) => i.name),
        `${s.id}: submitted ${upstream.length} times at ${submitTimes.get(s.prompt)!.join(', ')}; a worker running it killed just after the earlier submit, ` +
          `or one that lost its lease and cancelled the earlier upstream task (cancelled: ${twinCancelled}); ` +
          instances
            .filter((i) => i.logs.some((l) => l.task === s.id))
            .map(
              (i) =>
                `${i.name} killed at ${i.killedAt ?? 'never'}: ${i.logs
                  .filter((l) => l.task === s.id)
                  .map((l) => `${l.time} ${l.msg}`)
                  .join('; ')}`,
            )
            .join(' | '),
      ).not.toEqual([]);
    }
    expect(ark.submissions()).toHaveLength(TASKS + resubmitted.length);
    // The chaos reached the tasks: many ran (submitted, watched or collected) in several workers.
    const workersOf = new Map<string, Set<string>>();
    for (const i of instances.filter((i) => i.name.startsWith('worker'))) {
      for (const line of i.logs) if (typeof line.task === 'string') workersOf.set(line.task, (workersOf.get(line.task) ?? new Set()).add(i.name));
    }
    const movedTasks = [...workersOf.values()].filter((w) => w.size > 1).length;
    // API instances ran nothing: the work was the workers' alone.
    expect([...apiA.logs, ...apiB.logs].filter((l) => l.msg === 'task started')).toEqual([]);
    expect(kills.length, 'worker kills').toBeGreaterThanOrEqual(MIN_KILLS);
    expect(movedTasks, 'tasks taken over from a killed worker').toBeGreaterThan(0);
    phase(
      `exactly once: ${movedTasks} tasks moved between workers (up to ${Math.max(...[...workersOf.values()].map((w) => w.size))} workers each), ` +
        `${rows.filter((r) => r.interrupted_runs > 0).length} had a run cut short, ${ark.submissions().length} upstream submissions ` +
        `(${resubmitted.length} tasks submitted again after their worker was killed or lost its lease mid-submit${resubmitted.length ? `: ${resubmitted.join(', ')}` : ''})`,
    );

    // Money: one reservation, at most one settlement, no refund per task; each balance is its
    // opening balance less the final cost of its completed tasks, and its ledger adds up to it.
    const ledger = (await sql.query<LedgerRow>('SELECT account_id, task_id, kind, amount_micros FROM ledger ORDER BY id')).rows;
    for (const r of rows) {
      const own = ledger.filter((e) => e.task_id === r.id);
      expect(own.filter((e) => e.kind === 'reserve').length, r.id).toBe(1);
      expect(own.filter((e) => e.kind === 'settle').length, r.id).toBeLessThanOrEqual(1);
      expect(own.filter((e) => e.kind === 'refund').length, r.id).toBe(0);
      expect(own.find((e) => e.kind === 'reserve')!.amount_micros, r.id).toBe(-r.reserved_micros);
      expect(
        own.reduce((sum, e) => sum + e.amount_micros, 0),
        r.id,
      ).toBe(-r.cost_micros);
      expect(r.cost_micros, r.id).toBeGreaterThan(0);
    }
    for (const account of accounts) {
      const mine = rows.filter((r) => r.account_id === account.id);
      expect(mine.length, account.name).toBe(TASKS / 2);
      const costs = mine.reduce((sum, r) => sum + r.cost_micros, 0);
      const [row] = (
        await sql.query<{ balance_micros: number; spent_micros: number }>('SELECT balance_micros, spent_micros FROM accounts WHERE id = $1', [account.id])
      ).rows;
      expect(row!.balance_micros, account.name).toBe(account.openingMicros - costs);
      expect(row!.spent_micros, account.name).toBe(costs);
      const movements = ledger.filter((e) => e.account_id === account.id);
      expect(movements.filter((e) => e.kind === 'topup').map((e) => e.amount_micros)).toEqual([account.openingMicros]);
      expect(
        movements.reduce((sum, e) => sum + e.amount_micros, 0),
        account.name,
      ).toBe(row!.balance_micros);
      const keys = (
        await sql.query<{ in_flight: number; spent_micros: number }>('SELECT in_flight, spent_micros FROM api_keys WHERE account_id = $1', [account.id])
      ).rows;
      expect(keys).toEqual([{ in_flight: 0, spent_micros: costs }]);
      // What the account's own key is told.
      const balance = (await (await fetch(`${apis[accounts.indexOf(account)]!.base}/v1/user/balance`, { headers: auth(account) })).json()) as {
        remain_balance: number;
      };
      expect(Math.round(balance.remain_balance * 1e6), account.name).toBe(account.openingMicros - costs);
    }
    expect(ledger.filter((e) => e.task_id === null).length).toBe(accounts.length);
    phase('money adds up');

    // Results: every one downloads from either API instance, byte for byte the object in the bucket
    // (links signed by one instance work on the other: the signing secret is shared).
    const download = async (url: string) => {
      const res = await fetch(url);
      expect(res.status, url).toBe(200);
      return Buffer.from(await res.arrayBuffer());
    };
    const views = new Map<string, TaskView>();
    let copies = 0;
    await inBatches(submitted, 24, async (s) => {
      const row = byId.get(s.id)!;
      const result = JSON.parse(row.result!) as { video: { key: string; bytes: number } };
      const stored = await s3.object(`${PREFIX}/results/${result.video.key}`);
      expect(stored?.length, s.id).toBe(result.video.bytes);
      const urls: string[] = [];
      for (const api of apis) {
        const res = await fetch(`${api.base}/v1/tasks/${s.id}`, { headers: auth(s.account) });
        const view = ((await res.json()) as { data: TaskView }).data;
        expect(view.status, s.id).toBe('completed');
        expect(Math.round(view.cost * 1e6), s.id).toBe(row.cost_micros);
        const url = view.result!.videos[0]!.url[0]!;
        expect(url.startsWith(`${api.base}/files/`), url).toBe(true);
        urls.push(url);
        views.set(s.id, view);
      }
      // Each instance's own link; for every fourth task also each link on the other instance and
      // the key-authenticated /content route of both.
      const other = (url: string, base: string) => `${base}${new URL(url).pathname}${new URL(url).search}`;
      const links = [...urls, ...(s.index % 4 === 0 ? [other(urls[0]!, apis[1]!.base), other(urls[1]!, apis[0]!.base)] : [])];
      for (const url of links) {
        expect((await download(url)).equals(stored!), `${s.id} from ${url}`).toBe(true);
        copies++;
      }
      if (s.index % 4 === 0) {
        for (const api of apis) {
          const content = await fetch(`${api.base}/v1/tasks/${s.id}/content`, { headers: auth(s.account) });
          expect(content.status).toBe(200);
          expect(Buffer.from(await content.arrayBuffer()).equals(stored!), `${s.id} /content on ${api.name}`).toBe(true);
          copies++;
        }
      }
    });
    phase(`${copies} downloads through both API instances match the bucket`);

    // Live events: the clients that moved from API A to API B missed nothing.
    const sse = await Promise.all(sseChecks);
    expect(sse.length).toBe(watched.size);
    for (const r of sse) {
      const all = [...r.before, ...r.after];
      const ids = all.map((e) => e.id);
      expect(r.before.length, `${r.task.id}: events on A before moving`).toBeGreaterThan(0);
      // Each event is the state it says (id = rank × 1000 + progress), every one newer than the last.
      for (const e of all) expect(e.id, r.task.id).toBe(eventId({ status: e.data.data.status as 'pending', progress: e.data.data.progress }));
      expect(
        ids.every((id, i) => i === 0 || id > ids[i - 1]!),
        `${r.task.id}: ids ${ids.join(' ')}`,
      ).toBe(true);
      expect(all.at(-1)!.data.data.status, r.task.id).toBe('completed');
      expect(all.filter((e) => e.data.data.status === 'completed')).toHaveLength(1);
      if (r.before.at(-1)!.data.data.status === 'completed') {
        // Finished before the client left A: B has nothing newer.
        expect(r.reconnectStatus, r.task.id).toBe(204);
        continue;
      }
      expect(r.reconnectStatus, r.task.id).toBe(200);
      expect(r.after[0]!.id, r.task.id).toBeGreaterThan(r.before.at(-1)!.id);
      // The terminal event is what the task is (the URLs are B's own, as the stream came from B).
      const final = all.at(-1)!.data.data as unknown as TaskView;
      expect(final.cost).toBe(views.get(r.task.id)!.cost);
      expect(final.result!.videos[0]!.url[0]!.startsWith(`${apis[1]!.base}/files/`)).toBe(true);
    }
    const midway = sse.filter((r) => r.before.at(-1)!.data.data.status !== 'completed').length;
    expect(midway, 'streams left before the task had finished').toBeGreaterThanOrEqual(sse.length - 2);
    phase(
      `${sse.length} event streams moved from A to B: ${sse.map((r) => `${r.before.map((e) => e.id).join(',')}|${r.after.map((e) => e.id).join(',')}`).join(' ')}`,
    );

    // Finally API A dies too: B alone still serves every task and its file.
    await kill(apiA);
    await inBatches(submitted, 16, async (s) => {
      const res = await fetch(`${apis[1]!.base}/v1/tasks/${s.id}`, { headers: auth(s.account) });
      expect(res.status).toBe(200);
      const view = ((await res.json()) as { data: TaskView }).data;
      expect(view.status).toBe('completed');
      if (s.index % 10 === 0) expect((await download(view.result!.videos[0]!.url[0]!)).length).toBeGreaterThan(1000);
    });
    const orphans = (await s3.keys(`${PREFIX}/results/`)).filter((k) => k.endsWith('.mp4')).length - TASKS;
    phase(`API A killed, B serves all; ${instances.length} instances started in all, ${orphans} result objects left by killed workers`);
    console.log(`chaos wall time ${((Date.now() - t0) / 1000).toFixed(1)} s (seed ${SEED})`);
  }, 150_000);
});

interface SseResult {
  task: Submitted;
  before: SseEvent[];
  after: SseEvent[];
  reconnectStatus: number;
}

/**
 * Follows a task on API `a`, leaves mid-way (after the first event, the first `processing` one or
 * the first with some progress), and after a pause resumes on API `b` with Last-Event-ID until the
 * stream ends.
 */
async function followAcross(
  task: Submitted,
  a: Api,
  b: Api,
  headers: Record<string, string>,
  leaveAfter: 'first' | 'processing' | 'progress',
  pauseMs: number,
): Promise<SseResult> {
  const first: SseConnection = await openEvents(`${a.base}/v1/tasks/${task.id}/events`, headers);
  expect(first.status, `${task.id} on ${a.name}`).toBe(200);
  const leave = { first: () => true, processing: (e: SseEvent) => e.data.data.status !== 'pending', progress: (e: SseEvent) => e.id > 2000 }[leaveAfter];
  // The stream may end (completed) before the awaited event: then the check below expects a 204 on B.
  await first.next(leave).catch(() => undefined);
  first.close();
  const before = [...first.events];
  await sleep(pauseMs);
  const second = await openEvents(`${b.base}/v1/tasks/${task.id}/events`, { ...headers, 'last-event-id': String(before.at(-1)!.id) });
  await second.ended;
  return { task, before, after: second.events, reconnectStatus: second.status };
}

async function inBatches<T>(items: readonly T[], size: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: size }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}
