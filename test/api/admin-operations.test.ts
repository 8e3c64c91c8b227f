import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { validatorCompiler } from 'fastify-type-provider-zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { insertTask, newTask, seedAccount } from '../helpers/store-fixtures.js';
import { startFakeArk } from '../helpers/upstreams/fake-ark.js';
import { checkSubmitRules } from '../../src/contract/submit.js';
import type { LeaseGuard, NewTask, Store } from '../../src/store/types.js';
import { adminChannelRoutes } from '../../src/api/admin/channels.js';
import type { ChannelDirectory } from '../../src/api/context.js';

const ADMIN = 'operations-admin-token';
const admin = { authorization: `Bearer ${ADMIN}` };
const OWNER = 'operations-test-owner';
const FAST = checkSubmitRules({ model: 'doubao-seedance-2.0-fast', prompt: 'queue', duration: 4, resolution: '480p' });
const RESULT = { video: { key: 'x/video.mp4', bytes: 1, contentType: 'video/mp4' }, lastFrame: null, expiresAt: Date.now() + 86_400_000 };
const HOOK = 'https://hooks.example.com/vidgate';

const CHANNELS = `channels:
  - name: ark-cn
    provider: ark
    base_url: http://127.0.0.1:9/api/v3
    api_keys: [ark-key]
    models:
      doubao-seedance-2.0-fast: doubao-seedance-2-0-fast-260128
    priority: 10
  - name: sandbox
    provider: local
    models: "*"
    priority: 0
    max_in_flight: 3
`;

let t: TestApp;
let configDir: string;
let now: number;
const accounts: Record<'a' | 'b', { accountId: string; keyId: string }> = {} as never;

const get = (url: string, headers: Record<string, string> = admin) => t.app.server.inject({ method: 'GET', url: `/admin/v1${url}`, headers });

async function add(owner: { accountId: string; keyId: string }, over: Partial<NewTask>): Promise<string> {
  const task = newTask(owner, over);
  await insertTask(t.app.store, task);
  return task.id;
}

/** Claims exactly this task of `provider` under the test's lease; whatever else was claimed goes back. */
async function claim(id: string, provider = 'sandbox'): Promise<LeaseGuard> {
  const claimed = await t.app.store.claimTasks({ owner: OWNER, now: Date.now(), leaseMs: 600_000, limit: 100, providers: [provider] });
  for (const other of claimed) if (other.id !== id) await t.app.store.releaseTask({ id: other.id, owner: OWNER });
  expect(claimed.map((c) => c.id)).toContain(id);
  return { id, owner: OWNER };
}

async function completed(createdAgoMs: number, runMs: number): Promise<void> {
  const createdAt = now - createdAgoMs;
  const id = await add(accounts.a, { provider: 'sandbox', createdAt });
  expect(await t.app.store.completeTask(await claim(id), RESULT, createdAt + runMs, 264_000)).toBe(true);
}

beforeAll(async () => {
  configDir = await mkdtemp(join(tmpdir(), 'vidgate-operations-'));
  await writeFile(join(configDir, 'vidgate.yaml'), CHANNELS);
  t = await startTestApp({ VIDGATE_ADMIN_TOKEN: ADMIN, VIDGATE_CONFIG: join(configDir, 'vidgate.yaml') }, { runDispatcher: false });
  now = Date.now();
  accounts.a = await seedAccount(t.app.store);
  accounts.b = await seedAccount(t.app.store);

  // The sandbox channel: run times of 10, 20, 30 and 40 s within the last hour, one of 1 h two hours ago.
  await completed(30 * 60_000, 10_000);
  await completed(25 * 60_000, 20_000);
  await completed(20 * 60_000, 30_000);
  await completed(45_000, 40_000);
  await completed(3 * 3600_000, 3600_000);
  const failed = await add(accounts.a, { provider: 'sandbox', createdAt: now - 10 * 60_000 });
  await t.app.store.failTask(await claim(failed), { code: 'provider_error', params: { detail: 'boom' } }, now - 9 * 60_000);
  const cancelled = await add(accounts.a, { provider: 'sandbox', createdAt: now - 9 * 60_000 });
  await t.app.store.cancelTask(cancelled, accounts.a.accountId, now - 8 * 60_000);
  // In flight: one processing and two pending on sandbox (3 = its max_in_flight), one pending on ark-cn.
  await claim(await add(accounts.a, { provider: 'sandbox', createdAt: now - 30_000 }));
  await add(accounts.a, { provider: 'sandbox', createdAt: now - 120_000 });
  await add(accounts.b, { provider: 'sandbox', createdAt: now - 60_000 });
  await add(accounts.b, { provider: 'ark-cn', request: FAST, createdAt: now - 300_000 });

  // Webhook deliveries: tasks of a channel no longer configured, cancelled with a callback URL
  // (one `cancelled` delivery each), five of account a, two of account b.
  for (const [owner, count] of [
    [accounts.a, 5],
    [accounts.b, 2],
  ] as const) {
    for (let i = 0; i < count; i++) {
      const id = await add(owner, { provider: 'retired', createdAt: now - 1000, callbackUrl: HOOK });
      await t.app.store.cancelTask(id, owner.accountId, now);
    }
  }
});
afterAll(async () => {
  await t.close();
  await rm(configDir, { recursive: true, force: true });
});

describe('admin operations routes', () => {
  it.each(['/channels', '/queue', '/webhook-deliveries', '/usage'])('%s needs the admin token', async (path) => {
    expect((await get(path, {})).statusCode).toBe(401);
    expect((await get(path, t.auth)).statusCode).toBe(401);
  });
});

describe('GET /admin/v1/channels', () => {
  it('lists every configured channel with its load, outcomes, run time percentiles and state', async () => {
    const res = await get('/channels');
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.runs_work).toBe(false);
    expect(body.data.map((c: { name: string }) => c.name)).toEqual(['ark-cn', 'sandbox']);
    const [ark, sandbox] = body.data;
    expect(ark).toEqual({
      name: 'ark-cn',
      provider: 'ark',
      models: ['doubao-seedance-2.0-fast'],
      priority: 10,
      weight: 1,
      max_in_flight: 100,
      in_flight: { pending: 1, processing: 0 },
      window_seconds: 3600,
      finished: 0,
      completed: 0,
      failed: 0,
      cancelled: 0,
      error_rate: null,
      p50_seconds: null,
      p95_seconds: null,
      sampled: 0,
      state: 'ok',
      state_reason: null,
      paused_until: null,
      cost: null,
      daily_budget_usd: null,
      today: { date: new Date().toISOString().slice(0, 10), settled: 0, in_flight: 0, spent: 0, remaining: null },
    });
    expect(sandbox).toMatchObject({
      provider: 'local',
      models: '*',
      max_in_flight: 3,
      in_flight: { pending: 2, processing: 1 },
      finished: 5,
      completed: 4,
      failed: 1,
      cancelled: 1,
      error_rate: 0.2,
      p50_seconds: 20,
      p95_seconds: 40,
      sampled: 4,
      state: 'busy',
      paused_until: null,
    });
    expect(sandbox.state_reason).toMatch(/3 unfinished tasks, max_in_flight 3/);
  });

  it('counts over the window asked for', async () => {
    const day = (await get('/channels?window=86400')).json().data[1];
    expect(day).toMatchObject({ window_seconds: 86400, completed: 5, failed: 1, finished: 6, p50_seconds: 30, p95_seconds: 3600, sampled: 5 });
    expect(day.error_rate).toBeCloseTo(1 / 6, 12);
    const minute = (await get('/channels?window=60')).json().data[1];
    expect(minute).toMatchObject({ completed: 1, failed: 0, cancelled: 0, finished: 1, error_rate: 0, p50_seconds: 40, p95_seconds: 40 });
  });

  it('reports a channel paused while a suspect runs alone in this instance, which starts nothing else meanwhile', async () => {
    const answer = async (channels: ChannelDirectory) => {
      const app = Fastify();
      app.setValidatorCompiler(validatorCompiler);
      app.setSerializerCompiler(() => (data) => JSON.stringify(data));
      const store = { countUnfinishedTasks: async () => [], channelActivity: async () => [], channelSpend: async () => [] } as unknown as Store;
      await app.register(adminChannelRoutes({ channels, clock: Date.now, store }));
      const row = (await app.inject({ method: 'GET', url: '/channels' })).json().data[0];
      await app.close();
      return row;
    };
    const local = { name: 'local', kind: 'local' as const, models: '*' as const, priority: 0, weight: 1, maxInFlight: 2, pausedUntil: null };
    const alone = await answer({ list: () => [local], runsWork: true, suspectRunningAlone: () => true });
    expect(alone).toMatchObject({ state: 'paused', paused_until: null, state_reason: expect.stringMatching(/runs alone on this instance/) });
    // An instance that runs no work has no dispatcher to hold anything back.
    expect(await answer({ list: () => [local], runsWork: false, suspectRunningAlone: () => true })).toMatchObject({ state: 'ok', state_reason: null });
  });

  it.each(['window=0', 'window=604801', 'window=1.5', 'window=hour'])('refuses %s', async (query) => {
    const res = await get(`/channels?${query}`);
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ param: 'window', message: expect.stringMatching(/window must be an integer number of seconds from 1 to 604800/) });
  });
});

describe('OpenAPI', () => {
  it('documents the console routes and their answers', async () => {
    const doc = (await t.app.server.inject({ method: 'GET', url: '/openapi.json' })).json();
    for (const path of ['/v1/usage', '/admin/v1/usage', '/admin/v1/channels', '/admin/v1/queue', '/admin/v1/webhook-deliveries']) {
      expect(doc.paths[path]?.get, path).toBeDefined();
    }
    expect(Object.keys(doc.components.schemas)).toEqual(expect.arrayContaining(['Usage', 'UsageBucket', 'AdminChannel', 'AdminQueue']));
    expect(JSON.stringify(doc.components.schemas.UsageBucket)).toMatch(/reservations minus what settlement/);
    expect(doc.components.schemas.AdminKey.properties.last_used_at.description).toMatch(/last task submitted with this key/);
    expect(doc.paths['/v1/usage'].get.parameters.map((p: { name: string }) => p.name)).toEqual(['from', 'to', 'group_by']);
  });
});

describe('GET /admin/v1/queue', () => {
  it('counts unfinished tasks by channel and model, with the age of the oldest pending one', async () => {
    const res = await get('/queue');
    expect(res.statusCode).toBe(200);
    const data = res.json().data;
    const oldest = Math.floor((now - 300_000) / 1000);
    expect(data).toMatchObject({ pending: 3, processing: 1, oldest_pending_at: oldest });
    expect(data.oldest_pending_age_seconds).toBeGreaterThanOrEqual(300);
    expect(data.oldest_pending_age_seconds).toBeLessThan(330);
    expect(data.by_channel).toEqual([
      { channel: 'ark-cn', pending: 1, processing: 0, oldest_pending_at: oldest, oldest_pending_age_seconds: expect.any(Number) },
      {
        channel: 'sandbox',
        pending: 2,
        processing: 1,
        oldest_pending_at: Math.floor((now - 120_000) / 1000),
        oldest_pending_age_seconds: expect.any(Number),
      },
    ]);
    expect(
      data.by_channel_model.map((r: { channel: string; model: string; pending: number; processing: number }) => [r.channel, r.model, r.pending, r.processing]),
    ).toEqual([
      ['ark-cn', 'doubao-seedance-2.0-fast', 1, 0],
      ['sandbox', 'doubao-seedance-2.0', 2, 1],
    ]);
  });
});

describe('GET /admin/v1/webhook-deliveries', () => {
  type Page = { data: Array<{ id: string; account_id: string; event: string; state: string }>; has_more: boolean; next_after: number | null };

  it('pages through every delivery of the service, newest first', async () => {
    const all = (await get('/webhook-deliveries')).json() as Page;
    expect(all.data).toHaveLength(7);
    expect(all).toMatchObject({ has_more: false, next_after: null });
    expect(all.data.every((d) => d.event === 'cancelled' && d.state === 'pending')).toBe(true);
    // Account b's two were queued last: they come first.
    expect(all.data.map((d) => d.account_id)).toEqual([...Array(2).fill(accounts.b.accountId), ...Array(5).fill(accounts.a.accountId)]);

    const seen: string[] = [];
    let after: number | null = null;
    let pages = 0;
    do {
      const page = (await get(`/webhook-deliveries?limit=3${after === null ? '' : `&after=${after}`}`)).json() as Page;
      seen.push(...page.data.map((d) => d.id));
      expect(page.data.length).toBeLessThanOrEqual(3);
      expect(page.has_more).toBe(page.next_after !== null);
      after = page.next_after;
      pages++;
    } while (after !== null);
    expect(pages).toBe(3);
    expect(seen).toEqual(all.data.map((d) => d.id));
  });

  it('filters by account and state', async () => {
    const ofB = (await get(`/webhook-deliveries?account_id=${accounts.b.accountId}`)).json() as Page;
    expect(ofB.data).toHaveLength(2);
    expect(ofB.data.every((d) => d.account_id === accounts.b.accountId)).toBe(true);
    const firstOfA = (await get(`/webhook-deliveries?account_id=${accounts.a.accountId}&state=pending&limit=4`)).json() as Page;
    expect(firstOfA.data).toHaveLength(4);
    expect(firstOfA.has_more).toBe(true);
    const restOfA = (await get(`/webhook-deliveries?account_id=${accounts.a.accountId}&after=${firstOfA.next_after}`)).json() as Page;
    expect(restOfA.data).toHaveLength(1);
    expect((await get('/webhook-deliveries?state=delivered')).json().data).toEqual([]);
  });

  it('refuses an unknown account or a bad query', async () => {
    expect((await get('/webhook-deliveries?account_id=acct_nope')).statusCode).toBe(404);
    const bad = await get('/webhook-deliveries?limit=0');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.param).toBe('limit');
    expect((await get('/webhook-deliveries?state=lost')).json().error.param).toBe('state');
  });
});

describe('a channel its upstream paused', () => {
  it('shows paused while the upstream’s 429 holds submissions back', async () => {
    const ark = await startFakeArk({ keys: ['ark-key'] });
    const dir = await mkdtemp(join(tmpdir(), 'vidgate-paused-'));
    const file = join(dir, 'vidgate.yaml');
    await writeFile(file, CHANNELS.replace('http://127.0.0.1:9/api/v3', ark.baseUrl).replace(/ {2}- name: sandbox[\s\S]*$/, ''));
    ark.behaviour.submit = 'status:429';
    const paused = await startTestApp({ VIDGATE_ADMIN_TOKEN: ADMIN, VIDGATE_CONFIG: file, VIDGATE_BUSY_RETRY_MS: '60000' });
    try {
      await paused.submit({ model: 'doubao-seedance-2.0-fast', prompt: 'x', duration: 4, resolution: '480p' });
      await expect.poll(() => ark.requests.filter((r) => r.route === 'submit').length).toBeGreaterThan(0);
      const channels = async () => (await paused.app.server.inject({ method: 'GET', url: '/admin/v1/channels', headers: admin })).json();
      await expect.poll(async () => (await channels()).data[0].state).toBe('paused');
      const body = await channels();
      expect(body.runs_work).toBe(true);
      expect(body.data[0].state_reason).toMatch(/answered HTTP 429/);
      expect(body.data[0].paused_until * 1000).toBeGreaterThan(Date.now() - 1000);
      expect(body.data[0].paused_until * 1000).toBeLessThanOrEqual(Date.now() + 3000);
      // The pause is two seconds: then the channel takes work again (its one task waits in the queue).
      await expect.poll(async () => (await channels()).data[0].state, { timeout: 5000 }).toBe('ok');
      expect((await channels()).data[0].in_flight).toEqual({ pending: 1, processing: 0 });
    } finally {
      await paused.close();
      await ark.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
