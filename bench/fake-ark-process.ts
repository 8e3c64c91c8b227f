/**
 * The fake Ark of the tests in a process of its own, for bench/upstream-load.ts (started with
 * `child_process.fork` and tsx as loader), so the gateway's CPU and memory are measured alone.
 *
 * Every task is held queued until a timer marks it succeeded, a random 5–60 s after the task was
 * seen (at most ~250 ms after it was created); the time of that is recorded per upstream id. The
 * fake's request log is emptied every 250 ms and only counted.
 *
 * IPC, child → parent: `{ type: 'ready', baseUrl }` once listening; `FakeArkStats` (type 'stats')
 * in answer to `{ type: 'stats' }`. Parent → child: `{ type: 'start' }` (optional) resets the CPU
 * and peak-RSS baselines; `{ type: 'stats' }` asks for the numbers. The child closes the fake and
 * exits when the IPC channel closes (parent disconnected or gone) or on SIGTERM / SIGINT.
 */
import { startFakeArk } from '../test/helpers/upstreams/fake-ark.js';

export interface FakeArkReady {
  type: 'ready';
  baseUrl: string;
}

export interface FakeArkStats {
  type: 'stats';
  /** Upstream task id → Date.now() when the fake marked it succeeded. */
  upstreamDoneAt: Record<string, number>;
  /** Upstream tasks created (and scheduled to succeed). */
  tasks: number;
  listCalls: number;
  /** Task ids asked for across all list calls (`filter.task_ids`). */
  polledIds: number;
  /** Single-task GETs (`…/tasks/{id}`; part of otherRequests). */
  pollCalls: number;
  submits: number;
  /** Requests of any other route: single GETs, cancels, result files, unmatched. */
  otherRequests: number;
  /** Result file downloads (part of otherRequests). */
  fileRequests: number;
  /** CPU of this process since it was ready (or since `start`), microseconds. */
  cpuUserMicros: number;
  cpuSystemMicros: number;
  /** Wall time the CPU figures cover, ms. */
  elapsedMs: number;
  /** Peak RSS of this process (sampled every 200 ms), bytes. */
  peakRss: number;
}

export type FakeArkRequest = { type: 'start' } | { type: 'stats' };

const MIN_LIFETIME_MS = 5_000;
const MAX_LIFETIME_MS = 60_000;

const send = (message: FakeArkReady | FakeArkStats) =>
  new Promise<void>((resolve, reject) => {
    if (!process.send) return reject(new Error('fake-ark-process: no IPC channel (start it with child_process.fork)'));
    process.send(message, (err: Error | null) => (err ? reject(err) : resolve()));
  });

async function main(): Promise<void> {
  const ark = await startFakeArk({ lifecycle: { queued: Infinity, running: Infinity } });
  const upstreamDoneAt: Record<string, number> = {};
  let scheduledCount = 0;
  let listCalls = 0;
  let polledIds = 0;
  let pollCalls = 0;
  let submits = 0;
  let otherRequests = 0;
  let fileRequests = 0;

  let cpu0 = process.cpuUsage();
  let since = Date.now();
  let peakRss = process.memoryUsage().rss;
  const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 200);

  const succeed = (id: string) => {
    ark.advance(id, 'succeeded');
    upstreamDoneAt[id] = Date.now();
  };
  /**
   * Tasks are never removed and `tasks()` is in creation order, so the new ones are the tail past
   * those already scheduled. `tasks()` copies the whole map, so it is only looked at while submits
   * arrive (in the tick that saw one and the next), not on every tick of the polling phase.
   */
  const scheduleNew = () => {
    const all = ark.tasks();
    for (let i = scheduledCount; i < all.length; i++) {
      const id = all[i]!.id;
      setTimeout(succeed, MIN_LIFETIME_MS + Math.random() * (MAX_LIFETIME_MS - MIN_LIFETIME_MS), id);
    }
    scheduledCount = all.length;
  };
  /** Counts and drops the recorded requests; true when a submit was among them. */
  const drainLog = () => {
    let submitted = false;
    for (const r of ark.requests.splice(0)) {
      if (r.route === 'list') {
        listCalls++;
        polledIds += r.query.getAll('filter.task_ids').length;
      } else if (r.route === 'submit') {
        submits++;
        submitted = true;
      } else {
        otherRequests++;
        if (r.route === 'poll') pollCalls++;
        if (r.route === 'file') fileRequests++;
      }
    }
    return submitted;
  };
  let scanNext = false;
  const tick = () => {
    const submitted = drainLog();
    if (submitted || scanNext) scheduleNew();
    scanNext = submitted;
  };
  const ticker = setInterval(tick, 250);

  const stats = (): FakeArkStats => {
    tick();
    scheduleNew();
    const cpu = process.cpuUsage(cpu0);
    return {
      type: 'stats',
      upstreamDoneAt,
      tasks: scheduledCount,
      listCalls,
      polledIds,
      pollCalls,
      submits,
      otherRequests,
      fileRequests,
      cpuUserMicros: cpu.user,
      cpuSystemMicros: cpu.system,
      elapsedMs: Date.now() - since,
      peakRss: Math.max(peakRss, process.memoryUsage().rss),
    };
  };

  process.on('message', (message: FakeArkRequest) => {
    if (message?.type === 'start') {
      cpu0 = process.cpuUsage();
      since = Date.now();
      peakRss = process.memoryUsage().rss;
    } else if (message?.type === 'stats') {
      send(stats()).catch((err: Error) => process.stderr.write(`fake-ark-process: ${err.message}\n`));
    }
  });
  // Exit through process.exit so the sample files' exit hook removes their temp dir.
  let closing = false;
  const shutDown = () => {
    if (closing) return;
    closing = true;
    clearInterval(ticker);
    clearInterval(rssTimer);
    void ark.close().finally(() => process.exit(0));
  };
  process.once('disconnect', shutDown);
  process.once('SIGTERM', shutDown);
  process.once('SIGINT', shutDown);
  await send({ type: 'ready', baseUrl: ark.baseUrl });
}

main().catch((err: unknown) => {
  process.stderr.write(`fake-ark-process failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
