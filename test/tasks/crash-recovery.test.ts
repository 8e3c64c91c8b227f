import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { probe } from '../helpers/ffprobe.js';
import { queryTestDatabase } from '../helpers/test-store.js';

const KEY = 'sk-crash-test-key';
/** Loaded into the server process: writing a caption that holds the pill kills the process, as an uncaught error does. */
const POISON_PRELOAD = new URL('./fixtures/poison-pill.mjs', import.meta.url).href;
const POISON_PILL = 'POISON-PILL-7f3a';
const headers = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };
// Long enough that the render is surely still running when the process is killed.
const LONG_TASK = {
  model: 'doubao-seedance-2.0',
  prompt: 'A lighthouse in a storm, waves crashing',
  resolution: '1080p',
  duration: 15,
  seed: 99,
  generate_audio: true,
};

let dataDir: string;
const servers: ServerProcess[] = [];

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.child.kill('SIGKILL');
    await s.exited;
  }
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function start(extra: Record<string, string> = {}, preload?: string[]) {
  const server = await startServerProcess({ VIDGATE_DATA_DIR: dataDir, VIDGATE_BOOTSTRAP_KEY: KEY, VIDGATE_LOCAL_CONCURRENCY: '1', ...extra }, { preload });
  servers.push(server);
  return server;
}

async function submit(server: ServerProcess, body: object = LONG_TASK): Promise<string> {
  const res = await fetch(`${server.baseUrl}/v1/videos/generations`, { method: 'POST', headers, body: JSON.stringify(body) });
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: Array<{ task_id: string }> }).data[0]!.task_id;
}

async function getTask(server: ServerProcess, id: string) {
  const res = await fetch(`${server.baseUrl}/v1/tasks/${id}`, { headers });
  return ((await res.json()) as { data: { status: string; progress: number; result?: { videos: Array<{ url: string[] }> } } }).data;
}

/** There is no push channel yet, so watch the task's progress until the encoder is visibly under way. */
async function untilRendering(server: ServerProcess, id: string): Promise<void> {
  await server.waitForLog((l) => l.msg === 'task started' && l.task === id);
  while ((await getTask(server, id)).progress < 5) await new Promise((r) => setTimeout(r, 50));
}

async function dbRow(id: string) {
  const [row] = await queryTestDatabase<{ status: string; attempts: number; lease_owner: string | null; error: string | null }>(
    dataDir,
    'SELECT status, attempts, lease_owner, error FROM tasks WHERE id = ?',
    id,
  );
  return row!;
}

async function ledgerOf(id: string) {
  const rows = await queryTestDatabase(dataDir, 'SELECT kind, amount_micros AS amount FROM ledger WHERE task_id = ? ORDER BY id', id);
  const [account] = await queryTestDatabase<{ balance_micros: number }>(
    dataDir,
    'SELECT balance_micros FROM accounts JOIN tasks ON tasks.account_id = accounts.id WHERE tasks.id = ?',
    id,
  );
  return { rows, balance: account?.balance_micros };
}

function processesMentioning(text: string): string[] {
  const out = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  return out.split('\n').filter((line) => line.includes(text) && !line.includes('ps -eo'));
}

describe('durable tasks across process deaths', () => {
  it('kill -9 during a render, then restart: the task completes, exactly once, and is paid for once', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'vidgate-crash-'));
    const first = await start({ VIDGATE_BOOTSTRAP_BALANCE: '10' });
    const id = await submit(first);
    await untilRendering(first, id);

    first.child.kill('SIGKILL');
    await first.exited;
    const orphaned = await dbRow(id);
    expect(orphaned).toMatchObject({ status: 'processing', attempts: 1 });
    expect(orphaned.lease_owner).toContain(`/${first.child.pid}/`);

    const second = await start();
    await second.waitForLog((l) => l.msg === 'reclaiming task from a process that died' && l.task === id);
    await second.waitForLog((l) => l.msg === 'task completed' && l.task === id);

    expect(await dbRow(id)).toMatchObject({ status: 'completed', attempts: 2, lease_owner: null });
    const price = 354_400 * 15; // README: Money: 1080p, standard model
    expect(await ledgerOf(id)).toEqual({ rows: [{ kind: 'reserve', amount: -price }], balance: 10_000_000 - price });
    expect(second.logs.filter((l) => l.msg === 'task completed' && l.task === id)).toHaveLength(1);
    expect(await readdir(join(dataDir, 'results', id))).toHaveLength(1);
    // The dead process's scratch files and encoder are gone too.
    expect(await readdir(join(dataDir, 'work'))).toHaveLength(1);
    expect(processesMentioning(encodeURIComponent(orphaned.lease_owner!))).toEqual([]);

    const task = await getTask(second, id);
    expect(task).toMatchObject({ status: 'completed', progress: 100 });
    const file = join(dataDir, 'download.mp4');
    const res = await fetch(task.result!.videos[0]!.url[0]!);
    expect(res.status).toBe(200);
    await import('node:fs/promises').then((fs) => res.arrayBuffer().then((b) => fs.writeFile(file, Buffer.from(b))));
    expect(await probe(file)).toMatchObject({ width: 1920, height: 1088, frames: 360, hasAudio: true });
  }, 180_000);

  it('SIGTERM returns a running task to the queue, and the next start finishes it', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'vidgate-term-'));
    const first = await start({ VIDGATE_SHUTDOWN_GRACE_SECONDS: '0' });
    const id = await submit(first);
    await untilRendering(first, id);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(first.logs.some((l) => l.msg === 'task returned to the queue for shutdown' && l.task === id)).toBe(true);
    expect(await dbRow(id)).toMatchObject({ status: 'pending', lease_owner: null });

    const second = await start();
    await second.waitForLog((l) => l.msg === 'task completed' && l.task === id);
    // A run handed back cleanly is not an interrupted attempt.
    expect(await dbRow(id)).toMatchObject({ status: 'completed', attempts: 1 });
  }, 180_000);

  it('SIGTERM with a grace period lets the running task finish before exiting', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'vidgate-grace-'));
    const first = await start({ VIDGATE_SHUTDOWN_GRACE_SECONDS: '120' });
    const id = await submit(first);
    await untilRendering(first, id);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(await dbRow(id)).toMatchObject({ status: 'completed', attempts: 1 });
  }, 180_000);

  it('a task whose run kills the process is retried once alone, then failed and refunded; the task beside it completes, charged once', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'vidgate-poison-'));
    const env = { VIDGATE_BOOTSTRAP_BALANCE: '10', VIDGATE_LOCAL_CONCURRENCY: '2' };
    const first = await start(env, [POISON_PRELOAD]);
    const innocent = await submit(first, { ...LONG_TASK, resolution: '720p', duration: 10 });
    await untilRendering(first, innocent);
    const poison = await submit(first, { ...LONG_TASK, resolution: '480p', duration: 4, prompt: `A calm lake ${POISON_PILL}` });
    expect(await first.exited).not.toBe(0);
    expect((await dbRow(innocent)).status).toBe('processing');

    // Both runs never ended: each is now a suspect and runs alone, the older (innocent) one first.
    const second = await start(env, [POISON_PRELOAD]);
    await second.waitForLog((l) => l.msg === 'task completed' && l.task === innocent);
    await second.waitForLog((l) => l.msg?.includes('running it alone') === true && l.task === poison);
    expect(await second.exited).not.toBe(0);
    expect(second.logs.filter((l) => l.msg === 'task started').map((l) => l.task)).toEqual([innocent, poison]);

    // The second death happened while it ran alone: it is the cause, given up before it runs again.
    const third = await start(env, [POISON_PRELOAD]);
    await third.waitForLog((l) => l.msg?.startsWith('task given up') === true && l.task === poison);
    expect(third.logs.some((l) => l.msg === 'task started' && l.task === poison)).toBe(false);
    const row = await dbRow(poison);
    expect(row.status).toBe('failed');
    expect(JSON.parse(row.error!)).toMatchObject({ code: 'run_crashed' });
    const failed = await fetch(`${third.baseUrl}/v1/tasks/${poison}`, { headers }).then(
      (r) => r.json() as Promise<{ data: { status: string; cost: number; error: { code: string; message: string; type: string } } }>,
    );
    expect(failed.data).toMatchObject({ status: 'failed', cost: 0 });
    expect(failed.data.error.message).toMatch(/stopped the server twice/);
    expect((await ledgerOf(poison)).rows).toEqual([
      { kind: 'reserve', amount: -66_000 * 4 },
      { kind: 'refund', amount: 66_000 * 4 },
    ]);
    expect(await dbRow(innocent)).toMatchObject({ status: 'completed', attempts: 2 });
    expect((await ledgerOf(innocent)).rows).toEqual([{ kind: 'reserve', amount: -142_000 * 10 }]);
    // Still serving.
    expect((await fetch(`${third.baseUrl}/healthz`)).status).toBe(200);
  }, 240_000);
});
