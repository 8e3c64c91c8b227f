import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { queryTestDatabase } from '../helpers/test-store.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { startReceiver, type Receiver } from './receiver.js';

const KEY = 'sk-webhook-restart-test';
const ADMIN = 'admin-webhook-restart';
const TASK = { model: 'doubao-seedance-2.0', prompt: 'a bell tower at dusk', resolution: '480p', duration: 4, seed: 11 };

let dataDir: string;
let hook: Receiver | undefined;
const servers: ServerProcess[] = [];

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.child.kill('SIGKILL');
    await s.exited;
  }
  await hook?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function start() {
  const server = await startServerProcess({
    VIDGATE_DATA_DIR: dataDir,
    VIDGATE_BOOTSTRAP_KEY: KEY,
    VIDGATE_ADMIN_TOKEN: ADMIN,
    VIDGATE_MEDIA_ALLOW_HOSTS: '127.0.0.1',
    VIDGATE_WEBHOOK_RETRY_SCHEDULE: '100ms,100ms,100ms,100ms,100ms,100ms,100ms,100ms',
  });
  servers.push(server);
  return server;
}

function deliveries(taskId: string) {
  return queryTestDatabase<{ id: string; event: string; state: string; attempts: number; owner: string | null }>(
    dataDir,
    'SELECT id, event, state, attempts, lease_owner AS owner FROM webhook_deliveries WHERE task_id = ? ORDER BY seq',
    taskId,
  );
}

describe('webhook deliveries across process deaths', () => {
  it('kill -9 in the middle of retries (and mid-request): the next process delivers the same event', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'vidgate-webhook-restart-'));
    let mode: 'failing' | 'ok' = 'failing';
    const completedTries = new Map<string, number>();
    hook = await startReceiver((r) => {
      if (mode === 'ok') return { status: 200 };
      if (r.json.data.status !== 'completed') return { status: 200 };
      const n = (completedTries.get(r.id) ?? 0) + 1;
      completedTries.set(r.id, n);
      // Two refusals, then the third request is left hanging when the process dies.
      return n <= 2 ? { status: 503 } : 'hang';
    });

    const first = await start();
    const headers = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };
    const submitted = await fetch(`${first.baseUrl}/v1/videos/generations`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ ...TASK, callback_url: hook.url }),
    });
    expect(submitted.status).toBe(200);
    const id = ((await submitted.json()) as { data: Array<{ task_id: string }> }).data[0]!.task_id;

    const hanging = await hook.waitFor((r) => r.json.data.status === 'completed' && completedTries.get(r.id) === 3);
    first.child.kill('SIGKILL');
    await first.exited;
    const left = (await deliveries(id)).find((d) => d.event === 'completed')!;
    expect(left).toMatchObject({ id: hanging.id, state: 'pending', attempts: 2 });
    expect(left.owner).toContain(`/${first.child.pid}/`);

    mode = 'ok';
    const restartedAt = Date.now();
    const second = await start();
    const delivered = await hook.waitFor((r) => r.id === hanging.id && r.n > hanging.n);
    // The dead process's lease was taken back at start, not waited out (it would last 40 s).
    expect(Date.now() - restartedAt).toBeLessThan(20_000);
    expect(delivered.body).toBe(hanging.body);
    await second.waitForLog((l) => l.msg === 'webhook delivered' && l.delivery === hanging.id);

    const log = await fetch(`${second.baseUrl}/admin/v1/tasks/${id}/webhook-deliveries`, { headers: { authorization: `Bearer ${ADMIN}` } });
    const body = (await log.json()) as { data: Array<{ event: string; state: string; attempts: number; attempt_log: Array<{ status: number | null }> }> };
    const completed = body.data.find((d) => d.event === 'completed')!;
    expect(completed).toMatchObject({ state: 'delivered', attempts: 3 });
    expect(completed.attempt_log.map((a) => a.status)).toEqual([503, 503, 200]);
    expect(body.data.find((d) => d.event === 'processing')).toMatchObject({ state: 'delivered', attempts: 1 });
    expect(hook.received.filter((r) => r.id === hanging.id)).toHaveLength(4);
  }, 120_000);
});
