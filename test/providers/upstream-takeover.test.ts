import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testDatabase } from '../helpers/test-store.js';
import { afterEach, describe, expect, it } from 'vitest';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { writeArkConfig } from '../helpers/upstreams/ark-config.js';
import { startFakeArk } from '../helpers/upstreams/fake-ark.js';

const KEY = 'sk-takeover-test-key';
const headers = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };
const TASKS = 5;
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const clean of cleanups.splice(0).reverse()) await clean();
});

async function submit(server: ServerProcess): Promise<string> {
  const body = { model: 'doubao-seedance-2.0', prompt: 'A kitten yawning at the camera', resolution: '480p', duration: 4 };
  const res = await fetch(`${server.baseUrl}/v1/videos/generations`, { method: 'POST', headers, body: JSON.stringify(body) });
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: Array<{ task_id: string }> }).data[0]!.task_id;
}

describe('parked upstream tasks when their instance dies', () => {
  it('another instance takes them over once their leases run out, and each completes once, submitted and charged once', async () => {
    // Tasks go running upstream at the first look and stay there until the test says otherwise.
    const ark = await startFakeArk({ lifecycle: { queued: 1, running: Infinity } });
    cleanups.push(() => ark.close());
    const config = await writeArkConfig({
      baseUrl: ark.baseUrl,
      models: { 'doubao-seedance-2.0': 'doubao-seedance-2-0-260128' },
      settings: { first_poll_ms: 20, max_poll_ms: 50 },
    });
    cleanups.push(config.remove);
    const dataDir = await mkdtemp(join(tmpdir(), 'vidgate-takeover-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const env = {
      VIDGATE_DATA_DIR: dataDir,
      VIDGATE_BOOTSTRAP_KEY: KEY,
      VIDGATE_BOOTSTRAP_BALANCE: '10',
      VIDGATE_CONFIG: config.file,
      VIDGATE_MEDIA_ALLOW_HOSTS: '127.0.0.1',
      VIDGATE_LEASE_SECONDS: '2',
    };
    const first = await startServerProcess(env);
    cleanups.push(async () => {
      first.child.kill('SIGKILL');
      await first.exited;
    });
    const ids: string[] = [];
    for (let i = 0; i < TASKS; i++) ids.push(await submit(first));

    const db = await testDatabase(dataDir);
    cleanups.push(() => db.close());
    const rows = () =>
      db.all<{ id: string; status: string; owner: string | null; state: string | null }>(
        `SELECT id, status, lease_owner AS owner, provider_state AS state FROM tasks WHERE id IN (${ids.map(() => '?').join(', ')})`,
        ...ids,
      );
    // All running upstream and shown processing: parked in the first instance, its leases held.
    await expect.poll(() => ark.tasks().filter((t) => t.status === 'running').length, { timeout: 20_000 }).toBe(TASKS);
    await expect.poll(async () => (await rows()).filter((r) => r.status === 'processing').length, { timeout: 20_000 }).toBe(TASKS);
    const firstOwner = (await rows())[0]!.owner;
    expect((await rows()).every((r) => r.owner === firstOwner && r.owner !== null)).toBe(true);

    // A second instance is already up when the first dies without a word.
    const second = await startServerProcess(env);
    cleanups.push(async () => {
      second.child.kill('SIGKILL');
      await second.exited;
    });
    first.child.kill('SIGKILL');
    await first.exited;

    // Its leases run out, the second claims the tasks and watches them without submitting again.
    await expect.poll(async () => (await rows()).every((r) => r.owner !== null && r.owner !== firstOwner), { timeout: 20_000 }).toBe(true);
    for (const task of ark.tasks()) ark.advance(task.id, 'succeeded');
    await expect.poll(async () => (await rows()).every((r) => r.status === 'completed'), { timeout: 20_000 }).toBe(true);

    expect(ark.submissions()).toHaveLength(TASKS);
    const upstreamIds = (await rows()).map((r) => (JSON.parse(r.state!) as { data: { upstreamId: string } }).data.upstreamId);
    expect(new Set(upstreamIds).size).toBe(TASKS);
    const ledger = await db.all<{ task: string; kind: string }>('SELECT task_id AS task, kind FROM ledger WHERE task_id IS NOT NULL');
    for (const id of ids) {
      expect(
        ledger.filter((e) => e.task === id && e.kind === 'reserve'),
        id,
      ).toHaveLength(1);
      expect(
        ledger.filter((e) => e.task === id && e.kind === 'refund'),
        id,
      ).toHaveLength(0);
    }
    const res = await fetch(`${second.baseUrl}/v1/tasks/${ids[0]}`, { headers });
    const shown = ((await res.json()) as { data: { status: string; result: { videos: Array<{ url: string[] }> } } }).data;
    expect(shown.status).toBe('completed');
    const video = await fetch(shown.result.videos[0]!.url[0]!);
    expect(video.status).toBe(200);
    expect((await video.arrayBuffer()).byteLength).toBeGreaterThan(1000);
  }, 90_000);
});
