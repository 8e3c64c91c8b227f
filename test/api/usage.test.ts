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
async function claim(task: TaskRecord | string): Promise<LeaseGuard> {
  const id = typeof task === 'string' ? task : task.id;
  const claimed = await t.app.store.claimTasks({ owner: OWNER, now: Date.now(), leaseMs: 600_000, limit: 100, providers: ['local'] });
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
    expect(seen).toEqual(own);
    expect((await get('/admin/v1/usage?account_id=acct_nope', admin)).statusCode).toBe(404);
  });

  it('counts the whole service by account and by channel, balance being what limited accounts hold', async () => {
    const byAccount = (await get('/admin/v1/usage?from=2026-03-01&to=2026-03-03&group_by=account', admin)).json().data;
    expect(byAccount.account_id).toBeNull();
    expect(byAccount.buckets).toEqual([{ key: customer.accountId, tasks: 5, completed: 2, failed: 1, cancelled: 1, spent: 0.6752, output_seconds: 8 }]);
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
