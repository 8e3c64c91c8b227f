import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { openEvents, type SseConnection } from '../events/sse-client.js';
import { createTestDatabase } from '../helpers/postgres-server.js';
import { hashApiKey } from '../../src/auth/keys.js';
import { startTestApp, TEST_KEY, type TestApp } from '../helpers/test-app.js';

/**
 * Several vidgate instances on one PostgreSQL database, in one process here (each its own app,
 * pool, LISTEN connection and data directory): what one commits, the others act on.
 */

const SHORT = { model: 'doubao-seedance-2.0', prompt: 'two instances, one queue', resolution: '480p', duration: 4, seed: 3 };

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function sharedDatabase(): Promise<string> {
  const database = await createTestDatabase(inject('postgresAdminUrl'));
  cleanups.push(database.drop);
  return database.url;
}

async function instance(url: string, env: Record<string, string> = {}, opts: Parameters<typeof startTestApp>[1] = {}) {
  const t: TestApp = await startTestApp({ VIDGATE_DATABASE_URL: url, ...env }, { dataDir: await mkdtemp(join(tmpdir(), 'vidgate-instance-')), ...opts });
  cleanups.push(() => t.close());
  await t.app.server.listen({ host: '127.0.0.1', port: 0 });
  const { port } = t.app.server.server.address() as { port: number };
  return { ...t, base: `http://127.0.0.1:${port}` };
}

describe('several instances on one PostgreSQL', () => {
  it('instances starting together with one bootstrap key make one account, funded once, and all start', async () => {
    const url = await sharedDatabase();
    const env = { VIDGATE_BOOTSTRAP_BALANCE: '7' };
    const started = await Promise.all([instance(url, env), instance(url, env), instance(url, env)]);
    const key = (await started[0]!.app.store.findApiKeyByHash(hashApiKey(TEST_KEY)))!;
    const accounts = await started[1]!.app.store.listAccounts(10);
    expect(accounts.map((a) => a.id)).toEqual([key.accountId]);
    expect(accounts[0]).toMatchObject({ balanceMicros: 7_000_000 });
    expect((await started[2]!.app.store.listLedger(key.accountId, 10)).map((e) => [e.kind, e.amountMicros])).toEqual([['topup', 7_000_000]]);
  });

  it("share each key's allowance: requests through either instance count against one limit", async () => {
    const url = await sharedDatabase();
    const env = { VIDGATE_DEFAULT_RPM: '3' };
    const a = await instance(url, env, { runDispatcher: false });
    const b = await instance(url, env, { runDispatcher: false });
    const submit = (t: TestApp) => t.app.server.inject({ method: 'POST', url: '/v1/videos/generations', headers: t.auth, payload: SHORT });
    expect((await submit(a)).statusCode).toBe(200);
    expect((await submit(b)).statusCode).toBe(200);
    expect((await submit(a)).statusCode).toBe(200);
    const refused = await submit(b);
    expect(refused.statusCode).toBe(429);
    expect(refused.json().error.message).toMatch(/3 requests that create work/);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect((await submit(a)).statusCode).toBe(429);
  });

  it('a task submitted through an API instance is run at once by a worker, and its events reach a watcher on the API instance', async () => {
    const url = await sharedDatabase();
    // Neither instance polls within the test's time: only the database's notifications can move it.
    const quiet = { VIDGATE_EVENTS_POLL_MS: '60000', VIDGATE_QUEUE_POLL_MS: '3600000' };
    const api = await instance(url, { ...quiet, VIDGATE_ROLE: 'api' });
    const worker = await instance(url, { ...quiet, VIDGATE_ROLE: 'worker' });
    const id = await api.submit(SHORT);
    const stream: SseConnection = await openEvents(`${api.base}/v1/tasks/${id}/events`, { authorization: `Bearer ${TEST_KEY}` });
    cleanups.push(async () => stream.close());
    const completed = await stream.next((e) => e.data.data.status === 'completed');
    expect(completed.data.data).toMatchObject({ id, status: 'completed', progress: 100 });
    expect(stream.events.some((e) => e.data.data.status === 'processing')).toBe(true);
    const status = await api.app.server.inject({ method: 'GET', url: `/v1/tasks/${id}`, headers: api.auth });
    expect(status.json().data).toMatchObject({ status: 'completed' });
    // The run was the worker's: only its metrics count one.
    const runs = async (t: TestApp) => (await t.app.server.inject({ url: '/metrics' })).body.match(/^vidgate_task_runs_total\{[^}]*\} (\d+)/m)?.[1];
    expect(await runs(worker)).toBe('1');
    expect(await runs(api)).toBeUndefined();
  });

  it('a key disabled through one instance is refused by the other as soon as it hears of it', async () => {
    const url = await sharedDatabase();
    const admin = { authorization: 'Bearer admin-secret-for-the-test' };
    const a = await instance(url, { VIDGATE_ADMIN_TOKEN: 'admin-secret-for-the-test' }, { runDispatcher: false });
    const b = await instance(url, {}, { runDispatcher: false });
    const models = () => b.app.server.inject({ url: '/v1/models', headers: b.auth });
    expect((await models()).statusCode).toBe(200);
    const key = (await b.app.store.findApiKeyByHash(hashApiKey(TEST_KEY)))!;
    const disable = (disabled: boolean) => a.app.server.inject({ method: 'PATCH', url: `/admin/v1/keys/${key.id}`, headers: admin, payload: { disabled } });
    expect((await disable(true)).statusCode).toBe(200);
    await expect.poll(async () => (await models()).statusCode).toBe(401);
    expect((await disable(false)).statusCode).toBe(200);
    await expect.poll(async () => (await models()).statusCode).toBe(200);
  });

  it('a worker serves health, readiness and metrics only; the API is not there', async () => {
    const url = await sharedDatabase();
    const worker = await instance(url, { VIDGATE_ROLE: 'worker' });
    expect((await fetch(`${worker.base}/healthz`)).status).toBe(200);
    expect((await fetch(`${worker.base}/readyz`)).status).toBe(200);
    expect((await fetch(`${worker.base}/metrics`)).status).toBe(200);
    for (const path of ['/v1/models', '/v1/tasks/task_x', '/docs', '/openapi.json', '/', '/admin/v1/accounts']) {
      const res = await fetch(`${worker.base}${path}`, { headers: { authorization: `Bearer ${TEST_KEY}` } });
      expect(res.status, path).toBe(404);
      expect(((await res.json()) as { error: { code: number } }).error.code).toBe(404);
    }
  });

  it('a task cancelled through the API instance stops running on the worker at once, refunded', async () => {
    const url = await sharedDatabase();
    const api = await instance(url, { VIDGATE_ROLE: 'api' });
    const worker = await instance(url, { VIDGATE_ROLE: 'worker' });
    const id = await api.submit({ ...SHORT, resolution: '1080p', duration: 12 });
    await expect.poll(() => worker.app.dispatcher.holds(id)).toBe(true);
    const cancelled = await api.app.server.inject({ method: 'POST', url: `/v1/tasks/${id}/cancel`, headers: api.auth });
    expect(cancelled.statusCode).toBe(200);
    await expect.poll(() => worker.app.dispatcher.holds(id)).toBe(false);
    const task = (await api.app.store.getTask(id))!;
    expect(task).toMatchObject({ status: 'cancelled', costMicros: 0 });
  });
});
