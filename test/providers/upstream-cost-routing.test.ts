import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { startFakeArk, type FakeArk } from '../helpers/upstreams/fake-ark.js';
import { startFakeApimart, type FakeApimart } from '../helpers/upstreams/fake-apimart.js';
import { utcDayStart } from '../../src/billing/upstream-cost.js';

/**
 * Cost-aware routing and daily budgets end to end (README: Configuration, `routing`, `cost`,
 * `daily_budget_usd`), with the fake Ark and APIMart upstreams as two channels of different
 * declared costs. Also runs on PostgreSQL: budgets are counted from the database.
 */

const ADMIN = 'cost-routing-admin';
const admin = { authorization: `Bearer ${ADMIN}` };
const DAY_MS = 86_400_000;
/** 480p, 4 s: the price is 0.066 × 4 = 0.264 USD; ark-a costs 0.05 × 4 = 0.2 upstream, relay 0.03 × 4 = 0.12. */
const TASK = { model: 'doubao-seedance-2.0', prompt: 'A lighthouse at dusk', resolution: '480p', duration: 4 };
const PRICE = 264_000;
const ARK_COST = 200_000;
const RELAY_COST = 120_000;

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const clean of cleanups.splice(0).reverse()) await clean();
});

interface Upstreams {
  ark: FakeArk;
  apimart: FakeApimart;
}

async function upstreams(): Promise<Upstreams> {
  const ark = await startFakeArk({ keys: ['ark-key'] });
  cleanups.push(() => ark.close());
  const apimart = await startFakeApimart({ keys: ['apimart-key'] });
  cleanups.push(() => apimart.close());
  return { ark, apimart };
}

/**
 * ark-a is first by priority but dearer; relay is cheaper (and declares nothing at 720p). Extra
 * lines go under each channel; `top` above the channels.
 */
async function gateway(u: Upstreams, o: { top?: string; ark?: string; relay?: string } = {}): Promise<TestApp & { day: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'vidgate-cost-routing-'));
  const file = join(dir, 'vidgate.yaml');
  await writeFile(
    file,
    `${o.top ?? ''}
channels:
  - name: ark-a
    provider: ark
    base_url: ${u.ark.baseUrl}
    api_keys: [ark-key]
    models:
      doubao-seedance-2.0: doubao-seedance-2-0-260128
    priority: 10
    first_poll_ms: 5
    max_poll_ms: 20
    cost:
      per_second:
        doubao-seedance-2.0: { 480p: 0.05, 720p: 0.1 }
${o.ark ?? ''}
  - name: relay
    provider: apimart
    base_url: ${u.apimart.baseUrl}
    api_keys: [apimart-key]
    models: "*"
    priority: 0
    first_poll_ms: 5
    max_poll_ms: 20
    cost:
      per_second:
        doubao-seedance-2.0: { 480p: 0.03 }
${o.relay ?? ''}
`,
  );
  const t = await startTestApp({ VIDGATE_CONFIG: file, VIDGATE_ADMIN_TOKEN: ADMIN, VIDGATE_MEDIA_ALLOW_HOSTS: '127.0.0.1' });
  // Noon UTC on the app's clock: a run of this file never crosses a budget's day by accident.
  const day = utcDayStart(Date.now());
  t.advanceClock(day + DAY_MS / 2 - Date.now());
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  cleanups.push(() => t.close());
  return Object.assign(t, { day });
}

const channels = async (t: TestApp) =>
  ((await t.app.server.inject({ method: 'GET', url: '/admin/v1/channels', headers: admin })).json().data as Array<Record<string, unknown>>).reduce(
    (byName, c) => Object.assign(byName, { [c.name as string]: c }),
    {} as Record<string, Record<string, unknown>>,
  );

/** Every task charged exactly once: one reservation each, no refund, and the upstream asked once per task. */
async function chargedOnce(t: TestApp, ids: string[], u: Upstreams): Promise<void> {
  const tasks = await Promise.all(ids.map(async (id) => (await t.app.store.getTask(id))!));
  const ledger = await t.app.store.listLedger(tasks[0]!.accountId, 1000);
  for (const task of tasks) {
    expect(
      ledger.filter((e) => e.taskId === task.id && e.kind === 'reserve'),
      task.id,
    ).toHaveLength(1);
    expect(
      ledger.filter((e) => e.taskId === task.id && e.kind === 'refund'),
      task.id,
    ).toHaveLength(0);
  }
  expect(u.ark.submissions().length + u.apimart.submissions().length).toBe(ids.length);
}

describe('routing: cost', () => {
  it('sends each task to the cheapest channel that can take it, and records its margin', async () => {
    const u = await upstreams();
    const t = await gateway(u, { top: 'routing: cost' });
    const cheap = await t.submit(TASK);
    // relay declares no cost at 720p: ark-a's declared 0.1 × 5 wins over an unknown one.
    const hd = await t.submit({ ...TASK, resolution: '720p', duration: 5 });
    // ark-a does not serve -mini: relay is the only channel that can take it (no declared cost).
    const mini = await t.submit({ ...TASK, model: 'doubao-seedance-2.0-mini' });
    const [a, b, c] = await Promise.all([cheap, hd, mini].map((id) => t.settled(id)));
    expect(a).toMatchObject({ status: 'completed', provider: 'relay', costMicros: PRICE, upstreamCostMicros: RELAY_COST, marginMicros: PRICE - RELAY_COST });
    expect(b).toMatchObject({ status: 'completed', provider: 'ark-a', costMicros: 710_000, upstreamCostMicros: 500_000, marginMicros: 210_000 });
    expect(c).toMatchObject({ status: 'completed', provider: 'relay', upstreamCostMicros: null, marginMicros: null });
    await chargedOnce(t, [cheap, hd, mini], u);

    // The admin usage sums them by channel; the account's own usage shows neither figure.
    const usage = (await t.app.server.inject({ method: 'GET', url: '/admin/v1/usage?group_by=channel', headers: admin })).json().data;
    expect(usage.buckets).toEqual([
      expect.objectContaining({ key: 'ark-a', tasks: 1, upstream_cost: 0.5, margin: 0.21 }),
      expect.objectContaining({ key: 'relay', tasks: 2, upstream_cost: 0.12, margin: 0.144 }),
    ]);
    expect(usage.total).toMatchObject({ upstream_cost: 0.62, margin: 0.354 });
    const own = await t.app.server.inject({ method: 'GET', url: '/v1/usage?group_by=model', headers: t.auth });
    expect(own.json().data.total.spent).toBeCloseTo(usage.total.spent, 9);
    expect(own.body).not.toMatch(/upstream|margin/);
  });

  it('a channel that fails at submit hands the task to the next cheapest, which records its own cost', async () => {
    const u = await upstreams();
    u.apimart.behaviour.submit = 'status:500';
    const t = await gateway(u, { top: 'routing: cost' });
    const id = await t.submit(TASK);
    const task = await t.settled(id);
    expect(task).toMatchObject({ status: 'completed', provider: 'ark-a', providerState: { tried: ['relay'] }, upstreamCostMicros: ARK_COST });
    expect(task.marginMicros).toBe(PRICE - ARK_COST);
    const ledger = await t.app.store.listLedger(task.accountId, 100);
    expect(ledger.filter((e) => e.taskId === id).map((e) => e.kind)).toEqual(['reserve']);
  });
});

describe('daily budgets', () => {
  it('a budget running out moves new tasks to the next cheapest; when all are spent a submit is refused until the next UTC day', async () => {
    const u = await upstreams();
    // Held upstream until released below: they stay in flight, and count at their expected cost.
    u.apimart.lifecycle.pending = Infinity;
    u.ark.lifecycle.queued = Infinity;
    const t = await gateway(u, { top: 'routing: cost', relay: '    daily_budget_usd: 0.2', ark: '    daily_budget_usd: 0.3' });
    const ids: string[] = [];
    const submitWithKey = (key: string) =>
      t.app.server.inject({ method: 'POST', url: '/v1/videos/generations', headers: { ...t.auth, 'idempotency-key': key }, payload: TASK });
    const next = async (idempotencyKey?: string) => {
      const id = idempotencyKey ? (await submitWithKey(idempotencyKey)).json().data[0].task_id : await t.submit(TASK);
      ids.push(id);
      return (await t.app.store.getTask(id))!;
    };
    // relay: 0 → 0.12 → 0.24, which reaches 0.2; then ark-a: 0 → 0.2 → 0.4, which reaches 0.3.
    expect((await next()).provider).toBe('relay');
    expect((await next()).provider).toBe('relay');
    expect(await next()).toMatchObject({ provider: 'ark-a', upstreamCostMicros: ARK_COST });
    expect((await next('the-fourth')).provider).toBe('ark-a');

    const before = await channels(t);
    expect(before.relay).toMatchObject({
      state: 'paused',
      state_reason: expect.stringMatching(/^daily budget spent: 0\.24 of 0\.2 USD today/),
      paused_until: (t.day + DAY_MS) / 1000,
      cost: { per_second: { 'doubao-seedance-2.0': { '480p': 0.03 } }, per_second_with_reference_video: {} },
      daily_budget_usd: 0.2,
      today: { settled: 0, in_flight: 0.24, spent: 0.24, remaining: 0 },
    });
    expect(before['ark-a']).toMatchObject({ state: 'paused', today: { settled: 0, in_flight: 0.4, spent: 0.4, remaining: 0 } });

    // Both spent: refused, nothing reserved, until 00:00 UTC.
    const refused = await t.app.server.inject({ method: 'POST', url: '/v1/videos/generations', headers: t.auth, payload: TASK });
    expect(refused.statusCode).toBe(503);
    expect(refused.json().error.message).toMatch(
      /no channel can take a doubao-seedance-2\.0 task now: ark-a, relay spent their daily budget; try again after 00:00 UTC/,
    );
    const untilMidnight = Number(refused.headers['retry-after']);
    expect(untilMidnight).toBeGreaterThan(DAY_MS / 2000 - 600);
    expect(untilMidnight).toBeLessThanOrEqual(DAY_MS / 2000);
    // A client retrying a submit whose answer it lost still gets its task; a new key does not.
    expect((await submitWithKey('fresh-key')).statusCode).toBe(503);
    const replayed = await submitWithKey('the-fourth');
    expect(replayed.statusCode).toBe(200);
    expect(replayed.headers['idempotency-replayed']).toBe('true');
    expect(replayed.json().data[0].task_id).toBe(ids[3]);

    // Released: they complete, and what was in flight is now settled, still today's.
    u.apimart.lifecycle.pending = 1;
    u.ark.lifecycle.queued = 1;
    const done = await Promise.all(ids.map((id) => t.settled(id)));
    expect(done.map((d) => [d.provider, d.status, d.marginMicros])).toEqual([
      ['relay', 'completed', PRICE - RELAY_COST],
      ['relay', 'completed', PRICE - RELAY_COST],
      ['ark-a', 'completed', PRICE - ARK_COST],
      ['ark-a', 'completed', PRICE - ARK_COST],
    ]);
    await chargedOnce(t, ids, u);
    expect(u.apimart.submissions()).toHaveLength(2);
    expect(u.ark.submissions()).toHaveLength(2);
    const after = await channels(t);
    expect(after.relay).toMatchObject({ state: 'paused', today: { settled: 0.24, in_flight: 0, spent: 0.24 } });
    expect((await t.app.server.inject({ method: 'POST', url: '/v1/videos/generations', headers: t.auth, payload: TASK })).statusCode).toBe(503);

    // A new UTC day: yesterday's spend no longer counts, the cheapest takes work again.
    t.advanceClock(DAY_MS);
    const tomorrow = await next();
    expect(tomorrow.provider).toBe('relay');
    expect((await channels(t)).relay).toMatchObject({ state: 'ok', state_reason: null, today: { settled: 0, in_flight: 0.12, remaining: 0.08 } });
    u.apimart.lifecycle.pending = 1;
    expect(await t.settled(tomorrow.id)).toMatchObject({ status: 'completed', marginMicros: PRICE - RELAY_COST });
  });

  it('a task that fails counts nothing against the budget, so the channel takes work again', async () => {
    const u = await upstreams();
    u.apimart.lifecycle.pending = Infinity;
    u.apimart.lifecycle.end = 'failed';
    const t = await gateway(u, { top: 'routing: cost', relay: '    daily_budget_usd: 0.1' });
    const first = await t.submit(TASK);
    // In flight, relay's 0.12 reaches its 0.1: the next task goes to ark-a while the first runs.
    expect((await t.app.store.getTask(await t.submit(TASK)))!.provider).toBe('ark-a');
    u.apimart.lifecycle.pending = 1;
    expect(await t.settled(first)).toMatchObject({ status: 'failed', provider: 'relay', upstreamCostMicros: null, marginMicros: null });
    expect((await channels(t)).relay).toMatchObject({ state: 'ok', today: { settled: 0, in_flight: 0, spent: 0 } });
    expect((await t.app.store.getTask(await t.submit(TASK)))!.provider).toBe('relay');
  });
});

describe('routing: priority (the default)', () => {
  it('keeps the priority order whatever the costs, and still records each task’s margin', async () => {
    const u = await upstreams();
    const t = await gateway(u);
    const ids = [await t.submit(TASK), await t.submit(TASK), await t.submit(TASK)];
    const done = await Promise.all(ids.map((id) => t.settled(id)));
    expect(done.map((d) => [d.provider, d.status, d.upstreamCostMicros, d.marginMicros])).toEqual(
      ids.map(() => ['ark-a', 'completed', ARK_COST, PRICE - ARK_COST]),
    );
    expect(u.apimart.submissions()).toHaveLength(0);
    await chargedOnce(t, ids, u);
    expect((await channels(t))['ark-a']).toMatchObject({ state: 'ok', daily_budget_usd: null, today: { settled: 0.6, in_flight: 0, remaining: null } });
  });
});
