/**
 * Live events under load: N concurrent SSE clients (one per task, the worst case for the shared poll
 * query) held by one in-process vidgate, the clients in a child process so the server's memory is
 * measured alone. Reports RSS and heap before and after, idle CPU while holding them, how fast a change
 * made by another process (found by the poll) and one made in-process (pushed at once) reaches all.
 */
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import Database from 'better-sqlite3';
import type { App } from '../src/app.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const SSE_HEADING = '## Live events (SSE)';

export interface SseResult {
  clients: number;
  connectMs: number;
  failures: number;
  rssBeforeMiB: number;
  rssAfterMiB: number;
  heapBeforeMiB: number;
  heapAfterMiB: number;
  rssAfterCloseMiB: number;
  watchersHeld: number;
  watchersAfter: number;
  idleSeconds: number;
  idleCpuMsPerS: number;
  idleLoopDelayMaxMs: number;
  pollMs: number;
  crossProcessMs: number;
  cancelAllMs: number;
  cancelLoopDelayMaxMs: number;
}

const MiB = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

function collector(): () => void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  return () => {
    gc();
    gc();
  };
}

async function memory(gc: () => void) {
  gc();
  await new Promise((r) => setTimeout(r, 200));
  gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed };
}

async function inBatches<T>(items: T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map(work));
}

type Reply = { type: string; [k: string]: unknown };

export async function runSseBench(server: { app: App; base: string }, apiKey: string, clients: number): Promise<SseResult> {
  const { app, base } = server;
  const headers = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' };
  const ids: string[] = [];
  await inBatches(
    Array.from({ length: clients }, (_, i) => i),
    25,
    async (i) => {
      const res = await fetch(`${base}/v1/videos/generations`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ model: 'doubao-seedance-2.0', prompt: `sse client ${i}`, resolution: '480p', duration: 4 }),
      });
      const body = (await res.json()) as { data?: Array<{ task_id: string }> };
      if (res.status !== 200 || !body.data) throw new Error(`submit failed: HTTP ${res.status}`);
      ids.push(body.data[0]!.task_id);
    },
  );

  const gc = collector();
  const before = await memory(gc);
  const child = fork(join(ROOT, 'bench/sse-clients.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const replies: Reply[] = [];
  const waiting: Array<{ type: string; resolve: (r: Reply) => void }> = [];
  child.on('message', (m: Reply) => {
    const w = waiting.findIndex((x) => x.type === m.type);
    if (w >= 0) waiting.splice(w, 1)[0]!.resolve(m);
    else replies.push(m);
  });
  const reply = (type: string) =>
    new Promise<Reply>((resolve, reject) => {
      const i = replies.findIndex((r) => r.type === type);
      if (i >= 0) return resolve(replies.splice(i, 1)[0]!);
      waiting.push({ type, resolve });
      child.once('exit', (code) => reject(new Error(`SSE client process exited (${code}) before "${type}"`)));
    });
  try {
    await reply('up');
    child.send({ type: 'connect', urls: ids.map((id) => `${base}/v1/tasks/${id}/events`), headers: { authorization: headers.authorization } });
    const connected = await reply('connected');
    const after = await memory(gc);
    const watchersHeld = app.notifications.events.watchers;

    // Holding them: the shared poll query and nothing per client.
    const idleSeconds = 3;
    const idleLoop = monitorEventLoopDelay({ resolution: 5 });
    idleLoop.enable();
    const cpu0 = process.cpuUsage();
    await new Promise((r) => setTimeout(r, idleSeconds * 1000));
    const cpu = process.cpuUsage(cpu0);
    idleLoop.disable();

    // A change written by another process (a second connection to the database): found by the poll.
    const db = new Database(join(app.config.dataDir, 'vidgate.db'));
    const t0 = Date.now();
    db.prepare(`UPDATE tasks SET progress = 50 WHERE id IN (SELECT value FROM json_each(?))`).run(JSON.stringify(ids));
    db.close();
    child.send({ type: 'await', minId: 1050 });
    const reached = await reply('reached');
    const crossProcessMs = (reached.lastAt as number) - t0;

    // Changes made in this process (cancel over HTTP), pushed at once; every stream ends after it.
    const cancelLoop = monitorEventLoopDelay({ resolution: 5 });
    cancelLoop.enable();
    const t1 = Date.now();
    child.send({ type: 'ended' });
    await inBatches(ids, 20, async (id) => {
      const res = await fetch(`${base}/v1/tasks/${id}/cancel`, { method: 'POST', headers: { authorization: headers.authorization } });
      await res.arrayBuffer();
    });
    const ended = await reply('allEnded');
    cancelLoop.disable();
    const cancelAllMs = (ended.lastAt as number) - t1;
    const closedMemory = await memory(gc);

    return {
      clients,
      connectMs: connected.ms as number,
      failures: connected.failures as number,
      rssBeforeMiB: MiB(before.rss),
      rssAfterMiB: MiB(after.rss),
      heapBeforeMiB: MiB(before.heap),
      heapAfterMiB: MiB(after.heap),
      rssAfterCloseMiB: MiB(closedMemory.rss),
      watchersHeld,
      watchersAfter: app.notifications.events.watchers,
      idleSeconds,
      idleCpuMsPerS: (cpu.user + cpu.system) / 1000 / idleSeconds,
      idleLoopDelayMaxMs: idleLoop.max / 1e6,
      pollMs: app.config.eventsPollMs,
      crossProcessMs,
      cancelAllMs,
      cancelLoopDelayMaxMs: cancelLoop.max / 1e6,
    };
  } finally {
    if (child.connected) child.send({ type: 'exit' });
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
  }
}

export function sseSummary(r: SseResult): string {
  return `${r.clients} SSE clients: RSS ${r.rssBeforeMiB} → ${r.rssAfterMiB} MiB (+${(((r.rssAfterMiB - r.rssBeforeMiB) * 1024) / r.clients).toFixed(1)} KiB/client), heap ${r.heapBeforeMiB} → ${r.heapAfterMiB} MiB, idle CPU ${r.idleCpuMsPerS.toFixed(1)} ms/s, change from another process seen by all in ${r.crossProcessMs} ms, ${r.clients} cancels + terminal events in ${r.cancelAllMs} ms`;
}

export function sseSection(r: SseResult, date: string): string {
  const perClient = (mib: number) => `${((mib * 1024) / r.clients).toFixed(1)} KiB`;
  const rows = [
    [
      'Clients connected (each watching its own pending task)',
      `${r.clients - r.failures} of ${r.clients} in ${r.connectMs} ms${r.failures ? ` — ${r.failures} FAILED` : ''}`,
    ],
    [
      'Server RSS before → holding them',
      `${r.rssBeforeMiB} → ${r.rssAfterMiB} MiB (+${(r.rssAfterMiB - r.rssBeforeMiB).toFixed(1)} MiB, ${perClient(r.rssAfterMiB - r.rssBeforeMiB)} per client)`,
    ],
    ['Server V8 heap before → holding them', `${r.heapBeforeMiB} → ${r.heapAfterMiB} MiB (${perClient(r.heapAfterMiB - r.heapBeforeMiB)} per client)`],
    ['Watchers in the server while held / after all ended', `${r.watchersHeld} / ${r.watchersAfter}`],
    [
      `Server CPU while holding them idle (${r.idleSeconds} s)`,
      `${r.idleCpuMsPerS.toFixed(1)} ms per second (event-loop delay max ${r.idleLoopDelayMaxMs.toFixed(0)} ms)`,
    ],
    [`A change written by another process, seen by every client (poll every ${r.pollMs} ms)`, `${r.crossProcessMs} ms until the last client had it`],
    [
      `${r.clients} cancels over HTTP (20 at a time), each pushed in-process; every stream ended`,
      `${r.cancelAllMs} ms (event-loop delay max ${r.cancelLoopDelayMaxMs.toFixed(0)} ms)`,
    ],
    ['Server RSS after all streams ended', `${r.rssAfterCloseMiB} MiB`],
  ];
  return `${SSE_HEADING}

Run ${date}. One in-process vidgate (dispatcher stopped, so the tasks stay pending), ${r.clients} tasks, one \`GET /v1/tasks/{id}/events\` client per task — the worst case for the shared poll, which reads every watched task in one query — all held by a separate client process over 127.0.0.1, so the memory below is the server's alone (measured after a forced GC). Then a change is written straight into the database by another connection, as another instance would, and found by the poll; then every task is cancelled over HTTP, which this process pushes at once and after which each stream ends.

| Measure | Result |
| --- | --- |
${rows.map(([a, b]) => `| ${a} | ${b} |`).join('\n')}
`;
}
