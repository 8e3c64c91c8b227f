import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { insertTask, newTask } from '../helpers/store-fixtures.js';
import { checkSubmitRules } from '../../src/contract/submit.js';
import type { LeaseGuard, TaskRecord } from '../../src/store/types.js';

const ADMIN = 'usage-admin-token';
const admin = { authorization: `Bearer ${ADMIN}` };
const DAY_MS = 86_400_000;
const at = (iso: string) => Date.parse(iso);
const OWNER = 'usage-test-owner';

const STANDARD = checkSubmitRules({ model: 'doubao-seedance-2.0', prompt: 'usage', duration: 4, resolution: '480p' });
const FAST = checkSubmitRules({ model: 'doubao-seedance-2.0-fast', prompt: 'usage', duration: 4, resolution: '480p' });
const STANDARD_5S = checkSubmitRules({ model: 'doubao-seedance-2.0', prompt: 'usage', duration: 5, resolution: '480p' });

let t: TestApp;
/** An account with 10 USD and its key, made through the admin API. */
let customer: { accountId: string; keyId: string; idleKeyId: string; auth: { authorization: string } };
const created: Record<string, number> = {};

const get = (url: string, headers: Record<string, string>) => t.app.server.inject({ method: 'GET', url, headers });

/** Claims exactly this (pending, due) task under the test's own lease. */
async function claim(task: TaskRecord | string, provider = 'local'): Promise<LeaseGuard> {
  const id = typeof task === 'string' ? task : task.id;
  const claimed = await t.app.store.claimTasks({ owner: OWNER, now: Date.now(), leaseMs: 600_000, limit: 100, providers: [provider] });
  // Everything else claimed goes straight back.
  for (const other of claimed) if (other.id !== id) await t.app.store.releaseTask({ id: other.id, owner: OWNER });
  expect(claimed.map((c) => c.id)).toContain(id);
  return { id, owner: OWNER };
}

const RESULT = { video: { key: 'x/video.mp4', bytes: 1, contentType: 'video/mp4' }, lastFrame: null, expiresAt: Date.now() + 365 * DAY_MS };

async function task(name: string, request: typeof STANDARD, createdAt: number, costMicros: number): Promise<string> {
  const fresh = newTask({ accountId: customer.accountId, keyId: customer.keyId }, { request, createdAt, costMicros });
  await insertTask(t.app.store, fresh);
  created[name] = createdAt;
  return fresh.id;
}

beforeAll(async () => {
  t = await startTestApp({ VIDGATE_ADMIN_TOKEN: ADMIN }, { runDispatcher: false });
  const account = (await t.app.server.inject({ method: 'POST', url: '/admin/v1/accounts', headers: admin, payload: { name: 'usage', balance: 10 } })).json()
    .data;
  const key = (await t.app.server.inject({ method: 'POST', url: `/admin/v1/accounts/${account.id}/keys`, headers: admin, payload: { name: 'main' } })).json();
  const idle = (await t.app.server.inject({ method: 'POST', url: `/admin/v1/accounts/${account.id}/keys`, headers: admin, payload: { name: 'idle' } })).json();
  customer = { accountId: account.id, keyId: key.data.id, idleKeyId: idle.data.id, auth: { authorization: `Bearer ${key.api_key}` } };

  // 2026-03-01: one completed (settled below its reservation), one failed (refunded).
  const t1 = await task('t1', STANDARD, at('2026-03-01T08:00:00Z'), 264_000);
  await t.app.store.completeTask(await claim(t1), RESULT, at('2026-03-01T08:01:00Z'), 200_000);
  const t2 = await task('t2', FAST, at('2026-03-01T23:59:59Z'), 211_200);
  await t.app.store.failTask(await claim(t2), { code: 'provider_error', params: { detail: 'boom' } }, at('2026-03-02T00:00:30Z'));
  // 2026-03-02: nothing. 2026-03-03: one cancelled, one still pending, one completed at its exact price.
  const t3 = await task('t3', STANDARD_5S, at('2026-03-03T00:00:00Z'), 330_000);
  expect((await t.app.store.cancelTask(t3, customer.accountId, at('2026-03-03T00:00:05Z'))).kind).toBe('cancelled');
  await task('t4', FAST, at('2026-03-03T12:00:00Z'), 211_200);
  const t5 = await task('t5', STANDARD, at('2026-03-03T18:30:00Z'), 264_000);
  await t.app.store.completeTask(await claim(t5), RESULT, at('2026-03-03T18:31:00Z'), 264_000);
});
afterAll(() => t.close());

const zeros = { tasks: 0, completed: 0, failed: 0, cancelled: 0, spent: 0, output_seconds: 0 };

describe('GET /v1/usage', () => {
  it('counts every day of the range, zeros included, with what the ledger charged', async () => {
    const res = await get('/v1/usage?from=2026-03-01&to=2026-03-03&group_by=day', customer.auth);
    expect(res.statusCode).toBe(200);
    const data = res.json().data;
    expect(data).toMatchObject({
      account_id: customer.accountId,
      from: '2026-03-01',
      to: '2026-03-03',
      start: at('2026-03-01T00:00:00Z') / 1000,
      end: at('2026-03-04T00:00:00Z') / 1000,
      group_by: 'day',
      currency: 'USD',
    });
    expect(data.buckets).toEqual([
      // t1 charged 0.2 after settlement; t2 was refunded in full. t2 counts on the day it was created.
      { key: '2026-03-01', tasks: 2, completed: 1, failed: 1, cancelled: 0, spent: 0.2, output_seconds: 4 },
      { key: '2026-03-02', ...zeros },
      // t3 cancelled (refunded: 0), t4 pending (its reservation), t5 at its exact price.
      { key: '2026-03-03', tasks: 3, completed: 1, failed: 0, cancelled: 1, spent: 0.4752, output_seconds: 4 },
    ]);
    expect(data.total).toEqual({ tasks: 5, completed: 2, failed: 1, cancelled: 1, spent: 0.6752, output_seconds: 8 });
  });

  it('spent is what left the balance: the opening 10 USD minus the balance now', async () => {
    const data = (await get('/v1/usage?from=2026-01-01&to=2026-12-31', customer.auth)).json().data;
    const account = (await get(`/admin/v1/accounts/${customer.accountId}`, admin)).json().data;
    expect(data.balance).toBe(account.balance);
    expect(data.total.spent).toBeCloseTo(10 - data.balance, 9);
    expect(data.total.spent).toBeCloseTo(account.spent, 9);
    expect(data.buckets).toHaveLength(365);
  });

  it('splits by model, refunded and cancelled tasks charging nothing', async () => {
    const data = (await get('/v1/usage?from=2026-03-01&to=2026-03-03&group_by=model', customer.auth)).json().data;
    expect(data.buckets).toEqual([
      { key: 'doubao-seedance-2.0', tasks: 3, completed: 2, failed: 0, cancelled: 1, spent: 0.464, output_seconds: 8 },
      { key: 'doubao-seedance-2.0-fast', tasks: 2, completed: 0, failed: 1, cancelled: 0, spent: 0.2112, output_seconds: 0 },
    ]);
    expect(data.total.spent).toBe(0.6752);
  });

  it('takes unix seconds, `to` inclusive to the second', async () => {
    const from = at('2026-03-03T12:00:00Z') / 1000;
    const to = at('2026-03-03T18:30:00Z') / 1000;
    const data = (await get(`/v1/usage?from=${from}&to=${to}`, customer.auth)).json().data;
    expect(data).toMatchObject({ from: '2026-03-03', to: '2026-03-03', start: from, end: to + 1 });
    // t4 at 12:00:00 and t5 at 18:30:00 exactly, both ends counted.
    expect(data.buckets).toEqual([{ key: '2026-03-03', tasks: 2, completed: 1, failed: 0, cancelled: 0, spent: 0.4752, output_seconds: 4 }]);
    const before = (await get(`/v1/usage?from=${from}&to=${to - 1}`, customer.auth)).json().data;
    expect(before.total.tasks).toBe(1);
  });

  it('defaults to the last 30 days ending today', async () => {
    const data = (await get('/v1/usage', customer.auth)).json().data;
    const today = new Date().toISOString().slice(0, 10);
    expect(data.group_by).toBe('day');
    expect(data.buckets).toHaveLength(30);
    expect(data.to).toBe(today);
    expect(data.buckets.at(-1).key).toBe(today);
    expect(data.from).toBe(new Date(Date.parse(today) - 29 * DAY_MS).toISOString().slice(0, 10));
    expect(data.total).toEqual(zeros);
    // Only `to`: the 30 days up to it.
    const ending = (await get('/v1/usage?to=2026-03-03', customer.auth)).json().data;
    expect(ending).toMatchObject({ from: '2026-02-02', to: '2026-03-03' });
    expect(ending.total.tasks).toBe(5);
  });

  it("sees only the caller's own account", async () => {
    const data = (await get('/v1/usage?from=2026-03-01&to=2026-03-03', t.auth)).json().data;
    expect(data.account_id).not.toBe(customer.accountId);
    expect(data.total).toEqual(zeros);
    // The bootstrap account has unlimited quota: no balance to show.
    expect(data.balance).toBeNull();
  });

  it.each([
    ['from=2026-13-01', 'from', /from is not a calendar date/],
    ['from=2026-02-30', 'from', /from is not a calendar date/],
    ['from=yesterday', 'from', /from must be a date YYYY-MM-DD \(UTC\) or unix seconds/],
    ['to=2026-3-1', 'to', /to must be a date/],
    ['from=2026-03-03&to=2026-03-01', 'to', /to \(2026-03-01\) is before from \(2026-03-03\)/],
    ['from=2099-01-01', 'from', /before from \(2099-01-01\)/],
    ['from=2025-01-01&to=2026-03-01', 'from', /covers 425 days; at most 400/],
    ['group_by=week', 'group_by', /group_by must be day or model/],
    ['group_by=account', 'group_by', /group_by must be day or model/],
  ])('refuses %s with a 400 naming %s', async (query, param, message) => {
    const res = await get(`/v1/usage?${query}`, customer.auth);
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 400, type: 'invalid_request_error', param });
    expect(res.json().error.message).toMatch(message);
  });

  it('accepts the longest range, 400 days', async () => {
    const res = await get('/v1/usage?from=2025-01-01&to=2026-02-04', customer.auth);
    expect(res.statusCode).toBe(200);
    expect(res.json().data.buckets).toHaveLength(400);
  });

  it('needs a key', async () => {
    expect((await get('/v1/usage', {})).statusCode).toBe(401);
  });
});

describe('GET /admin/v1/usage', () => {
  it('is the admin token’s only', async () => {
    expect((await get('/admin/v1/usage', {})).statusCode).toBe(401);
    expect((await get('/admin/v1/usage', customer.auth)).statusCode).toBe(401);
  });

  it('counts one account like its own key does', async () => {
    const own = (await get('/v1/usage?from=2026-03-01&to=2026-03-03', customer.auth)).json().data;
    const seen = (await get(`/admin/v1/usage?from=2026-03-01&to=2026-03-03&account_id=${customer.accountId}`, admin)).json().data;
    // The same, with the operator's own figures beside (none of these tasks ran on a channel declaring a cost).
    const costs = { upstream_cost: 0, margin: 0 };
    expect(seen).toEqual({ ...own, total: { ...own.total, ...costs }, buckets: own.buckets.map((b: object) => ({ ...b, ...costs })) });
    expect((await get('/admin/v1/usage?account_id=acct_nope', admin)).statusCode).toBe(404);
  });

  it('counts the whole service by account and by channel, balance being what limited accounts hold', async () => {
    const byAccount = (await get('/admin/v1/usage?from=2026-03-01&to=2026-03-03&group_by=account', admin)).json().data;
    expect(byAccount.account_id).toBeNull();
    expect(byAccount.buckets).toEqual([
      { key: customer.accountId, tasks: 5, completed: 2, failed: 1, cancelled: 1, spent: 0.6752, output_seconds: 8, upstream_cost: 0, margin: 0 },
    ]);
    const accounts = (await get('/admin/v1/accounts', admin)).json().data as Array<{ unlimited: boolean; balance: number }>;
    const held = accounts.filter((a) => !a.unlimited).reduce((sum, a) => sum + a.balance, 0);
    expect(byAccount.balance).toBeCloseTo(held, 9);
    const byChannel = (await get('/admin/v1/usage?from=2026-03-01&to=2026-03-03&group_by=channel', admin)).json().data;
    expect(byChannel.buckets).toEqual([{ key: 'local', ...byAccount.total }]);
    const byDay = (await get('/admin/v1/usage?from=2026-02-28&to=2026-03-02', admin)).json().data;
    expect(byDay.buckets.map((b: { key: string; tasks: number }) => [b.key, b.tasks])).toEqual([
      ['2026-02-28', 0],
      ['2026-03-01', 2],
      ['2026-03-02', 0],
    ]);
  });

  it('refuses what it cannot count', async () => {
    const res = await get('/admin/v1/usage?group_by=key', admin);
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ param: 'group_by', message: expect.stringMatching(/day, model, account or channel/) });
    expect((await get('/admin/v1/usage?from=2026-03-05&to=2026-03-04', admin)).json().error.param).toBe('to');
  });
});

describe('upstream cost and margin', () => {
  /** Another account (with a key of its own), on days of its own, on channels that declare costs: the figures above stay as they are. */
  let shop: { accountId: string; keyId: string; auth: { authorization: string } };
  const margins: Record<string, number | null> = {};

  beforeAll(async () => {
    const account = (await t.app.server.inject({ method: 'POST', url: '/admin/v1/accounts', headers: admin, payload: { name: 'margins' } })).json().data;
    const key = (await t.app.server.inject({ method: 'POST', url: `/admin/v1/accounts/${account.id}/keys`, headers: admin, payload: {} })).json();
    shop = { accountId: account.id, keyId: key.data.id, auth: { authorization: `Bearer ${key.api_key}` } };
    const add = async (provider: string, createdAt: number, upstreamCostMicros: number | null) => {
      const fresh = newTask(shop, { request: STANDARD, createdAt, costMicros: 264_000, provider, upstreamCostMicros });
      await insertTask(t.app.store, fresh);
      return fresh.id;
    };
    // ark-a: price 0.264, upstream 0.18 (its expected cost was 0.2): margin 0.084.
    const cheap = await add('ark-a', at('2026-05-01T10:00:00Z'), 200_000);
    await t.app.store.completeTask(await claim(cheap, 'ark-a'), RESULT, at('2026-05-01T10:02:00Z'), 264_000, 180_000);
    // relay: settled below its reservation (0.2), upstream 0.3: margin −0.1, a loss.
    const dear = await add('relay', at('2026-05-01T11:00:00Z'), 300_000);
    await t.app.store.completeTask(await claim(dear, 'relay'), RESULT, at('2026-05-01T11:02:00Z'), 200_000, 300_000);
    // A failed task: the upstream is not paid, nothing is kept.
    const failed = await add('relay', at('2026-05-02T09:00:00Z'), 300_000);
    await t.app.store.failTask(await claim(failed, 'relay'), { code: 'provider_error', params: { detail: 'boom' } }, at('2026-05-02T09:01:00Z'));
    // Completed on a channel without a declared cost; and one still in flight on relay.
    const local = await add('local', at('2026-05-02T10:00:00Z'), null);
    await t.app.store.completeTask(await claim(local), RESULT, at('2026-05-02T10:01:00Z'), 264_000);
    await add('relay', at('2026-05-02T12:00:00Z'), 300_000);
    for (const [name, id] of Object.entries({ cheap, dear, failed, local })) margins[name] = (await t.app.store.getTask(id))!.marginMicros;
  });

  it('each completed task keeps its margin, price charged minus upstream cost; the others none', async () => {
    expect(margins).toEqual({ cheap: 264_000 - 180_000, dear: 200_000 - 300_000, failed: null, local: null });
  });

  it('the admin usage sums upstream cost and margin per bucket, by channel and by day', async () => {
    const byChannel = (await get(`/admin/v1/usage?from=2026-05-01&to=2026-05-02&group_by=channel&account_id=${shop.accountId}`, admin)).json().data;
    expect(byChannel.buckets).toEqual([
      { key: 'ark-a', tasks: 1, completed: 1, failed: 0, cancelled: 0, spent: 0.264, output_seconds: 4, upstream_cost: 0.18, margin: 0.084 },
      { key: 'local', tasks: 1, completed: 1, failed: 0, cancelled: 0, spent: 0.264, output_seconds: 4, upstream_cost: 0, margin: 0 },
      // The unfinished task counts its reservation in spent, and no upstream cost yet.
      { key: 'relay', tasks: 3, completed: 1, failed: 1, cancelled: 0, spent: 0.464, output_seconds: 4, upstream_cost: 0.3, margin: -0.1 },
    ]);
    expect(byChannel.total).toMatchObject({ tasks: 5, upstream_cost: 0.48, margin: expect.closeTo(-0.016, 9) });
    const byDay = (await get(`/admin/v1/usage?from=2026-05-01&to=2026-05-02&account_id=${shop.accountId}`, admin)).json().data;
    expect(byDay.buckets.map((b: { key: string; upstream_cost: number; margin: number }) => [b.key, b.upstream_cost, b.margin])).toEqual([
      ['2026-05-01', 0.48, expect.closeTo(-0.016, 9)],
      ['2026-05-02', 0, 0],
    ]);
    // Service-wide, the other accounts' tasks (no declared cost) add nothing to either.
    const all = (await get('/admin/v1/usage?from=2026-01-01&to=2026-12-31&group_by=model', admin)).json().data;
    expect(all.total).toMatchObject({ upstream_cost: 0.48, margin: expect.closeTo(-0.016, 9) });
  });

  it("the account's own usage shows neither upstream cost nor margin, in its answer or its schema", async () => {
    for (const query of ['from=2026-05-01&to=2026-05-02', 'from=2026-05-01&to=2026-05-02&group_by=model']) {
      const res = await get(`/v1/usage?${query}`, shop.auth);
      expect(res.statusCode).toBe(200);
      const data = res.json().data;
      expect(data.total.tasks).toBe(5);
      expect(res.body).not.toMatch(/upstream|margin/);
      for (const bucket of [data.total, ...data.buckets])
        expect(Object.keys(bucket).sort()).toEqual(
          Object.keys(zeros)
            .concat(bucket.key ? ['key'] : [])
            .sort(),
        );
    }
    const doc = (await get('/openapi.json', {})).json();
    expect(JSON.stringify(doc.components.schemas.Usage)).not.toMatch(/upstream_cost|margin/);
    expect(JSON.stringify(doc.components.schemas.UsageBucket)).not.toMatch(/upstream_cost|margin/);
    expect(Object.keys(doc.components.schemas.AdminUsageBucket.properties)).toEqual(expect.arrayContaining(['upstream_cost', 'margin']));
    const admin200 = doc.paths['/admin/v1/usage'].get.responses['200'].content['application/json'].schema;
    expect(JSON.stringify(admin200)).toMatch(/AdminUsage/);
  });
});

describe('keys and accounts for the console', () => {
  it("a key's last_used_at is when it last submitted a task; an account counts its keys", async () => {
    const keys = (await get(`/admin/v1/accounts/${customer.accountId}/keys`, admin)).json().data as Array<{ id: string; last_used_at: number | null }>;
    expect(keys.find((k) => k.id === customer.keyId)!.last_used_at).toBe(created.t5! / 1000);
    expect(keys.find((k) => k.id === customer.idleKeyId)!.last_used_at).toBeNull();
    const patched = await t.app.server.inject({ method: 'PATCH', url: `/admin/v1/keys/${customer.keyId}`, headers: admin, payload: { rpm_limit: 50 } });
    expect(patched.json().data).toMatchObject({ rpm_limit: 50, last_used_at: created.t5! / 1000 });

    const account = (await get(`/admin/v1/accounts/${customer.accountId}`, admin)).json().data;
    expect(account.key_count).toBe(2);
    expect(account.balance).toBeCloseTo(10 - 0.6752, 9);
    const listed = (await get('/admin/v1/accounts', admin)).json().data as Array<{ id: string; key_count: number }>;
    expect(listed.find((a) => a.id === customer.accountId)!.key_count).toBe(2);
    const opened = await t.app.server.inject({ method: 'POST', url: '/admin/v1/accounts', headers: admin, payload: { name: 'empty' } });
    expect(opened.json().data.key_count).toBe(0);
  });
});

describe('usage of real tasks', () => {
  it('a rendered task charges its price, a cancelled one nothing, and the balance moves by exactly that', async () => {
    const live = await startTestApp({ VIDGATE_ADMIN_TOKEN: ADMIN });
    try {
      const call = (method: 'GET' | 'POST', url: string, headers: Record<string, string>, payload?: object) =>
        live.app.server.inject({ method, url, headers, ...(payload ? { payload } : {}) });
      const account = (await call('POST', '/admin/v1/accounts', admin, { name: 'live', balance: 2 })).json().data;
      const key = (await call('POST', `/admin/v1/accounts/${account.id}/keys`, admin, {})).json();
      const auth = { authorization: `Bearer ${key.api_key}` };
      const body = { model: 'doubao-seedance-2.0-mini', prompt: 'a red ball', duration: 4, resolution: '480p' };
      const rendered = (await call('POST', '/v1/videos/generations', auth, body)).json().data[0].task_id;
      expect(await live.settled(rendered)).toMatchObject({ status: 'completed' });
      const cancelled = (await call('POST', '/v1/videos/generations', auth, body)).json().data[0].task_id;
      await call('POST', `/v1/tasks/${cancelled}/cancel`, auth);
      await live.settled(cancelled);

      expect((await live.app.store.getTask(cancelled))!.status).toBe('cancelled');

      const usage = (await call('GET', '/v1/usage?group_by=model', auth)).json().data;
      const price = (await call('GET', `/v1/tasks/${rendered}`, auth)).json().data.cost;
      expect(price).toBeGreaterThan(0);
      expect(usage.buckets).toEqual([{ key: 'doubao-seedance-2.0-mini', tasks: 2, completed: 1, failed: 0, cancelled: 1, spent: price, output_seconds: 4 }]);
      expect(usage.total.spent).toBeCloseTo(2 - usage.balance, 9);
    } finally {
      await live.close();
    }
  });
});
