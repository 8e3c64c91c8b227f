import { mkdtemp, rm, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { TaskRecord } from '../../src/store/types.js';
import { Dispatcher } from '../../src/tasks/dispatcher.js';
import { ProviderRegistry } from '../../src/providers/registry.js';
import { TaskFailureError, type Provider, type RunContext, type RunInput, type RunOutput } from '../../src/providers/types.js';
import { ResultStorage } from '../../src/storage/result-storage.js';
import { LocalFileStore } from '../../src/storage/local-file-store.js';
import type { LeaseOwner } from '../../src/tasks/lease-owner.js';
import { PriceBook } from '../../src/billing/price-book.js';
import { insertTask, newTask, seedAccount } from '../helpers/store-fixtures.js';

/** A provider whose runs the test finishes, fails or watches by hand. */
class ScriptedProvider implements Provider {
  readonly name = 'local';
  readonly started: Array<{ input: RunInput; ctx: RunContext; finish: () => void; fail: (err: Error) => void }> = [];
  private waiters: Array<() => void> = [];
  active = 0;
  maxActive = 0;

  constructor(readonly concurrency: number) {}

  estimateSeconds(): number {
    return 1;
  }

  async run(input: RunInput, ctx: RunContext): Promise<RunOutput> {
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      await new Promise<void>((resolve, reject) => {
        this.started.push({ input, ctx, finish: resolve, fail: reject });
        ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true });
        this.waiters.splice(0).forEach((w) => w());
      });
      const path = join(ctx.workDir, 'video.mp4');
      await writeFile(path, `video of ${input.taskId} seed ${input.seed}`);
      return { video: { path, name: 'video.mp4', contentType: 'video/mp4' }, lastFrame: null };
    } finally {
      this.active--;
    }
  }

  async startedCount(n: number): Promise<void> {
    while (this.started.length < n) await new Promise<void>((r) => this.waiters.push(r));
  }
}

let dir: string;
let store: SqliteStore;
let storage: ResultStorage;
const dispatchers: Dispatcher[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vidgate-dispatch-'));
  store = new SqliteStore(join(dir, 'db.sqlite'));
  storage = new ResultStorage(new LocalFileStore(dir));
  await storage.init();
});
afterEach(async () => {
  await Promise.all(dispatchers.splice(0).map((d) => d.stop(0)));
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

function dispatcher(provider: Provider, o: { owner?: string; clockOffset?: number; leaseMs?: number; maxAttempts?: number } = {}) {
  const owner: LeaseOwner = { id: o.owner ?? 'testhost/1/aaaa', host: 'testhost', pid: 1 };
  const d = new Dispatcher({
    store,
    providers: new ProviderRegistry().register(provider),
    storage,
    owner,
    logger: pino({ level: 'silent' }),
    clock: () => Date.now() + (o.clockOffset ?? 0),
    leaseMs: o.leaseMs ?? 30_000,
    maxAttempts: o.maxAttempts ?? 3,
    resultTtlMs: 3_600_000,
    workRoot: join(dir, 'work'),
    prices: new PriceBook(),
  });
  dispatchers.push(d);
  return d;
}

function settled(d: Dispatcher, id: string): Promise<TaskRecord> {
  return new Promise((resolve) => {
    const off = d.onTaskSettled(async (done) => {
      if (done !== id) return;
      off();
      resolve((await store.getTask(id))!);
    });
  });
}

async function queue(n: number): Promise<string[]> {
  const owner = await seedAccount(store);
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const task = newTask(owner);
    await insertTask(store, task);
    ids.push(task.id);
  }
  return ids;
}

describe('dispatcher', () => {
  it('starts a task as soon as it is poked, without waiting for a timer', async () => {
    const provider = new ScriptedProvider(1);
    const d = dispatcher(provider);
    await d.start();
    const [id] = await queue(1);
    d.poke();
    await provider.startedCount(1);
    expect(provider.started[0]!.input.taskId).toBe(id);
    const done = settled(d, id!);
    provider.started[0]!.finish();
    const task = await done;
    expect(task).toMatchObject({ status: 'completed', progress: 100, attempts: 1 });
    expect(task.result!.video.key).toMatch(new RegExp(`^${id}/[0-9a-f]{12}/${id}\\.mp4$`));
  });

  it('runs no more tasks at once than the provider allows, and picks up the next when one ends', async () => {
    const provider = new ScriptedProvider(2);
    const d = dispatcher(provider);
    const ids = await queue(5);
    await d.start();
    await provider.startedCount(2);
    expect(d.activeCount).toBe(2);
    expect((await store.getTask(ids[2]!))!.status).toBe('pending');
    provider.started[0]!.finish();
    await provider.startedCount(3);
    expect(provider.started[2]!.input.taskId).toBe(ids[2]);
    for (let i = 1; i < 5; i++) {
      await provider.startedCount(i + 1);
      provider.started[i]!.finish();
    }
    await Promise.all(ids.map((id) => store.getTask(id)));
    expect(provider.maxActive).toBe(2);
  });

  it('hands a task whose holder stopped renewing to another worker, and only that worker completes it', async () => {
    const stuck = new ScriptedProvider(1);
    const a = dispatcher(stuck, { owner: 'hostA/1/a', leaseMs: 60_000 });
    const [id] = await queue(1);
    await a.start();
    await stuck.startedCount(1);

    // Worker B lives past A's lease, as if A had frozen: it takes the task over.
    const healthy = new ScriptedProvider(1);
    const b = dispatcher(healthy, { owner: 'hostB/2/b', clockOffset: 60_001 });
    await b.start();
    await healthy.startedCount(1);
    expect((await store.getTask(id!))!).toMatchObject({ leaseOwner: 'hostB/2/b', attempts: 2 });

    const bDone = settled(b, id!);
    healthy.started[0]!.finish();
    const completed = await bDone;
    expect(completed.status).toBe('completed');

    // A wakes up and finishes too: its write is fenced out and its files are thrown away.
    const aDone = new Promise<void>((r) => a.onTaskSettled(() => r()));
    stuck.started[0]!.finish();
    await aDone;
    const final = (await store.getTask(id!))!;
    expect(final.result).toEqual(completed.result);
    expect(await readdir(join(dir, 'results', id!))).toEqual([completed.result!.video.key.split('/')[1]]);
  });

  it('fails a task with the provider’s own failure, without retrying', async () => {
    const provider = new ScriptedProvider(1);
    const d = dispatcher(provider);
    const [id] = await queue(1);
    await d.start();
    await provider.startedCount(1);
    const done = settled(d, id!);
    provider.started[0]!.fail(new TaskFailureError({ code: 'invalid_media', params: { field: 'image_urls[0]', detail: 'too small' } }));
    expect(await done).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'invalid_media', params: { field: 'image_urls[0]' } } });
  });

  it('turns an unexpected error into render_failed with its detail', async () => {
    const provider = new ScriptedProvider(1);
    const d = dispatcher(provider);
    const [id] = await queue(1);
    await d.start();
    await provider.startedCount(1);
    const done = settled(d, id!);
    provider.started[0]!.fail(new Error('ffmpeg exited with code 1: broken graph'));
    expect(await done).toMatchObject({ status: 'failed', error: { code: 'render_failed', params: { detail: expect.stringMatching(/broken graph/) } } });
  });

  it('gives a task up after too many interrupted attempts', async () => {
    const provider = new ScriptedProvider(1);
    const [id] = await queue(1);
    // Three earlier holders claimed it and vanished.
    const past = Date.now() - 1_000_000;
    for (let i = 0; i < 3; i++) await store.claimTasks({ owner: `gone/${i}/x`, now: past + i * 10, leaseMs: 1, limit: 1, providers: ['local'] });
    expect((await store.getTask(id!))!.attempts).toBe(3);
    const d = dispatcher(provider, { maxAttempts: 3 });
    const done = settled(d, id!);
    await d.start();
    expect(await done).toMatchObject({ status: 'failed', attempts: 4, error: { code: 'attempts_exhausted', params: { attempts: 3 } } });
    expect(provider.started).toHaveLength(0);
  });

  it('makes a run its work folder only when the provider asks for it, and removes it after', async () => {
    const provider = new ScriptedProvider(2);
    const d = dispatcher(provider);
    await d.start();
    const ids = await queue(1);
    d.poke();
    await provider.startedCount(1);
    const work = join(dir, 'work', encodeURIComponent('testhost/1/aaaa'));
    // Running, nothing written yet: no folder (an upstream run that submits and parks never makes one).
    expect(await readdir(work)).toEqual([]);
    const done = settled(d, ids[0]!);
    provider.started[0]!.finish();
    expect(await done).toMatchObject({ status: 'completed' });
    expect(await readdir(work)).toEqual([]);
  });

  it('keeps progress monotonic whatever the provider reports', async () => {
    const provider = new ScriptedProvider(1);
    const d = dispatcher(provider);
    const [id] = await queue(1);
    await d.start();
    await provider.startedCount(1);
    const { ctx, finish } = provider.started[0]!;
    ctx.reportProgress(0.5);
    ctx.reportProgress(0.2);
    // Progress is written in batches, a moment later.
    await expect.poll(async () => (await store.getTask(id!))!.progress).toBe(49);
    ctx.reportProgress(0.3);
    ctx.reportProgress(0.6);
    await expect.poll(async () => (await store.getTask(id!))!.progress).toBe(59);
    finish();
  });

  it('on stop, lets running tasks go back to the queue instead of losing them', async () => {
    const provider = new ScriptedProvider(1);
    const d = dispatcher(provider);
    const [id] = await queue(1);
    await d.start();
    await provider.startedCount(1);
    await d.stop(0);
    expect(provider.started[0]!.ctx.signal.aborted).toBe(true);
    expect((await store.getTask(id!))!).toMatchObject({ status: 'pending', leaseOwner: null });

    const next = new ScriptedProvider(1);
    const again = dispatcher(next, { owner: 'testhost/1/bbbb' });
    await again.start();
    await next.startedCount(1);
    const done = settled(again, id!);
    next.started[0]!.finish();
    // Handed back cleanly: not an interrupted attempt, and not a suspect to run alone.
    expect(await done).toMatchObject({ status: 'completed', attempts: 1, interruptedRuns: 0 });
  });

  it('at start, takes back at once the tasks of a dead process on this host', async () => {
    const provider = new ScriptedProvider(1);
    const [id] = await queue(1);
    const deadPid = 2 ** 22 + 12345; // above pid_max: no such process
    await store.claimTasks({ owner: `testhost/${deadPid}/dead`, now: Date.now(), leaseMs: 3_600_000, limit: 1, providers: ['local'] });
    const d = dispatcher(provider);
    await d.start();
    await provider.startedCount(1);
    expect(provider.started[0]!.input.taskId).toBe(id);
    provider.started[0]!.finish();
  });
});
