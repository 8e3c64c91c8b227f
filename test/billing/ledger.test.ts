import { afterEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { createAccountWithKey } from '../../src/auth/keys.js';
import type { Store } from '../../src/store/types.js';

const CHEAP = { model: 'doubao-seedance-2.0', prompt: 'Rain on a window', resolution: '480p', duration: 4 };
const CHEAP_PRICE = 66_000 * 4; // README: Money: 0.066 USD/s at 480p

let t: TestApp;
afterEach(() => t?.close());

async function customer(store: Store, balanceUsd: number | undefined, limits = {}) {
  const created = await createAccountWithKey(store, { name: 'customer', balanceUsd });
  if (Object.keys(limits).length) await store.updateApiKeyLimits(created.key.id, limits);
  return { accountId: created.key.accountId, keyId: created.key.id, headers: { authorization: `Bearer ${created.secret}` } };
}

const submit = (headers: Record<string, string>, body: object = CHEAP) =>
  t.app.server.inject({ method: 'POST', url: '/v1/videos/generations', headers, payload: body });

/** Every account's balance equals the sum of its ledger, and never went below zero. */
async function expectBooksBalance(store: Store, accountId: string) {
  const account = (await store.getAccount(accountId))!;
  const ledger = await store.listLedger(accountId, 100_000);
  expect(ledger.reduce((sum, e) => sum + e.amountMicros, 0)).toBe(account.balanceMicros);
  expect(ledger.every((e) => e.balanceAfterMicros === null || e.balanceAfterMicros >= 0)).toBe(true);
  const spent = ledger.filter((e) => e.kind !== 'topup').reduce((sum, e) => sum - e.amountMicros, 0);
  expect(account.spentMicros).toBe(spent);
  return { account, ledger };
}

describe('reservations', () => {
  it('200 concurrent submits against a balance for exactly 10: exactly 10 tasks, balance exactly 0', async () => {
    t = await startTestApp({}, { runDispatcher: false });
    const c = await customer(t.app.store, (10 * CHEAP_PRICE) / 1e6, { inFlightLimit: 1000 });
    const answers = await Promise.all(Array.from({ length: 200 }, () => submit(c.headers)));
    const codes = answers.map((a) => a.statusCode);
    expect(codes.filter((s) => s === 200)).toHaveLength(10);
    expect(codes.filter((s) => s === 402)).toHaveLength(190);
    expect(answers.find((a) => a.statusCode === 402)!.json().error).toMatchObject({
      type: 'payment_required',
      message: expect.stringMatching(/this task costs \$0\.264 and the balance is \$0/),
    });
    expect(await t.app.store.listTasks({ accountId: c.accountId, limit: 1000 })).toHaveLength(10);
    const { account, ledger } = await expectBooksBalance(t.app.store, c.accountId);
    expect(account.balanceMicros).toBe(0);
    expect(ledger.filter((e) => e.kind === 'reserve')).toHaveLength(10);
  });

  it('a task is priced per second by model and resolution, and shows its cost', async () => {
    t = await startTestApp({}, { runDispatcher: false });
    const c = await customer(t.app.store, 100);
    const res = await submit(c.headers, { model: 'doubao-seedance-2.0-fast', prompt: 'x', resolution: '720p', duration: 10 });
    const id = res.json().data[0].task_id;
    const view = (await t.app.server.inject({ method: 'GET', url: `/v1/tasks/${id}`, headers: c.headers })).json().data;
    expect(view.cost).toBeCloseTo(0.8 * 0.142 * 10, 6);
    expect((await t.app.store.getAccount(c.accountId))!.balanceMicros).toBe(100_000_000 - 1_136_000);
  });

  it('an unlimited account is never refused for money but its usage is on record', async () => {
    t = await startTestApp({}, { runDispatcher: false });
    const c = await customer(t.app.store, undefined);
    expect((await submit(c.headers)).statusCode).toBe(200);
    const account = (await t.app.store.getAccount(c.accountId))!;
    expect(account).toMatchObject({ unlimited: true, balanceMicros: 0, spentMicros: CHEAP_PRICE });
    const balance = (await t.app.server.inject({ method: 'GET', url: '/v1/user/balance', headers: c.headers })).json();
    expect(balance).toEqual({ success: true, remain_balance: -1, used_balance: 0.264, unlimited_quota: true });
  });

  it('a key spending cap is enforced and shown by /v1/balance', async () => {
    t = await startTestApp({}, { runDispatcher: false });
    const c = await customer(t.app.store, 50, { spendCapMicros: CHEAP_PRICE + 1000 });
    expect((await submit(c.headers)).statusCode).toBe(200);
    const refused = await submit(c.headers);
    expect(refused.statusCode).toBe(402);
    expect(refused.json().error.message).toMatch(/spending cap allows \$0\.001 more/);
    const key = (await t.app.server.inject({ method: 'GET', url: '/v1/balance', headers: c.headers })).json();
    expect(key).toEqual({ success: true, remain_balance: 0.001, used_balance: 0.264, unlimited_quota: false });
    const account = (await t.app.server.inject({ method: 'GET', url: '/v1/user/balance', headers: c.headers })).json();
    expect(account).toEqual({ success: true, remain_balance: 49.736, used_balance: 0.264, unlimited_quota: false });
  });
});

describe('refunds', () => {
  it('a failed task is refunded once, however often the refund path runs', async () => {
    t = await startTestApp();
    const c = await customer(t.app.store, 5);
    // A reference on a private address fails the task when it runs, after its reservation.
    const res = await submit(c.headers, { model: 'doubao-seedance-2.0', prompt: 'x', image_urls: ['http://10.0.0.1/a.jpg'] });
    const id = res.json().data[0].task_id;
    const failed = await t.settled(id);
    expect(failed).toMatchObject({ status: 'failed', costMicros: 0 });
    expect(await t.app.store.refundTask(id, Date.now(), 'again')).toBe(0);
    expect(await t.app.store.refundTask(id, Date.now(), 'and again')).toBe(0);
    const { account, ledger } = await expectBooksBalance(t.app.store, c.accountId);
    expect(account.balanceMicros).toBe(5_000_000);
    expect(ledger.filter((e) => e.taskId === id).map((e) => [e.kind, e.amountMicros])).toEqual([
      ['reserve', -710_000],
      ['refund', 710_000],
    ]);
    const view = (await t.app.server.inject({ method: 'GET', url: `/v1/tasks/${id}`, headers: c.headers })).json().data;
    expect(view.cost).toBe(0);
  });

  it('a cancelled pending task is refunded once; cancelling again is a 409', async () => {
    t = await startTestApp({}, { runDispatcher: false });
    const c = await customer(t.app.store, 5);
    const id = (await submit(c.headers)).json().data[0].task_id;
    const cancel = () => t.app.server.inject({ method: 'POST', url: `/v1/tasks/${id}/cancel`, headers: c.headers });
    const first = await cancel();
    expect(first.statusCode).toBe(200);
    expect(first.json().data).toMatchObject({ id, status: 'cancelled', cost: 0 });
    const second = await cancel();
    expect(second.statusCode).toBe(409);
    expect(second.json().error).toMatchObject({ type: 'conflict_error', message: expect.stringMatching(/already cancelled/) });
    expect(await t.app.store.refundTask(id, Date.now(), 'again')).toBe(0);
    const { account } = await expectBooksBalance(t.app.store, c.accountId);
    expect(account.balanceMicros).toBe(5_000_000);
  });

  it('cancelling a task that is rendering stops the render and the task stays cancelled', async () => {
    t = await startTestApp({ VIDGATE_LOCAL_CONCURRENCY: '1' });
    const c = await customer(t.app.store, 20);
    const id = (await submit(c.headers, { model: 'doubao-seedance-2.0', prompt: 'A long slow pan', resolution: '1080p', duration: 15 })).json().data[0].task_id;
    await new Promise<void>((resolve) => {
      const check = async () => ((await t.app.store.getTask(id))!.status === 'processing' ? resolve() : setImmediate(check));
      void check();
    });
    const stopped = new Promise<void>((resolve) => t.app.dispatcher.onTaskSettled((done) => done === id && resolve()));
    const res = await t.app.server.inject({ method: 'POST', url: `/v1/tasks/${id}/cancel`, headers: c.headers });
    expect(res.statusCode).toBe(200);
    await stopped;
    expect(t.app.dispatcher.activeCount).toBe(0);
    expect((await t.app.store.getTask(id))!).toMatchObject({ status: 'cancelled', result: null, costMicros: 0 });
    const { account } = await expectBooksBalance(t.app.store, c.accountId);
    expect(account.balanceMicros).toBe(20_000_000);
  });

  it('a finished task cannot be cancelled', async () => {
    t = await startTestApp();
    const c = await customer(t.app.store, 5);
    const id = (await submit(c.headers)).json().data[0].task_id;
    await t.settled(id);
    const res = await t.app.server.inject({ method: 'POST', url: `/v1/tasks/${id}/cancel`, headers: c.headers });
    expect(res.statusCode).toBe(409);
    expect(res.json().error.message).toMatch(/already completed/);
  });
});

describe('settlement', () => {
  it('a reference-video task reserves the upper bound and settles on input + output seconds', async () => {
    t = await startTestApp({}, { runDispatcher: false });
    const c = await customer(t.app.store, 10);
    const body = { model: 'doubao-seedance-2.0', prompt: 'anime', resolution: '720p', duration: 5, video_urls: ['https://media.example/v.mp4'] };
    const id = (await submit(c.headers, body)).json().data[0].task_id;
    const reserved = Math.round(85_840 * (15.2 + 5));
    expect((await t.app.store.getTask(id))!.costMicros).toBe(reserved);

    const [claimed] = await t.app.store.claimTasks({ owner: 'w', now: Date.now(), leaseMs: 60_000, limit: 1, providers: ['local'] });
    // biome-ignore lint/complexity/useLiteralKeys: reaching a private field of the dispatcher on purpose
    const final = t.app.dispatcher['o'].prices.finalPrice(claimed!.request, { referenceVideoSeconds: 3.5 });
    expect(final).toBe(Math.round(85_840 * (3.5 + 5)));
    const result = { video: { key: `${id}/x/video.mp4`, bytes: 1, contentType: 'video/mp4' }, lastFrame: null, expiresAt: Date.now() + 1000 };
    expect(await t.app.store.completeTask({ id, owner: 'w' }, result, Date.now(), final)).toBe(true);
    expect(await t.app.store.refundTask(id, Date.now(), 'late failure')).toBe(0);

    const { account, ledger } = await expectBooksBalance(t.app.store, c.accountId);
    expect(account.balanceMicros).toBe(10_000_000 - final);
    expect(ledger.filter((e) => e.taskId === id).map((e) => [e.kind, e.amountMicros])).toEqual([
      ['reserve', -reserved],
      ['settle', reserved - final],
    ]);
    expect((await t.app.store.getTask(id))!.costMicros).toBe(final);
  });

  it('the ledger sums to the balance after a randomized run of submits, failures, cancels and completions', async () => {
    t = await startTestApp({}, { runDispatcher: false });
    const c = await customer(t.app.store, 30, { inFlightLimit: 1000 });
    let seed = 12345;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const open: string[] = [];
    for (let step = 0; step < 300; step++) {
      const r = random();
      if (r < 0.5 || open.length === 0) {
        const res = await submit(c.headers, { ...CHEAP, duration: 4 + Math.floor(random() * 12), resolution: random() < 0.5 ? '480p' : '720p' });
        if (res.statusCode === 200) open.push(res.json().data[0].task_id);
        else expect(res.statusCode).toBe(402);
        continue;
      }
      const id = open.splice(Math.floor(random() * open.length), 1)[0]!;
      if (r < 0.65) {
        await t.app.server.inject({ method: 'POST', url: `/v1/tasks/${id}/cancel`, headers: c.headers });
        continue;
      }
      const [task] = await t.app.store.claimTasks({ owner: `w${step}`, now: Date.now(), leaseMs: 60_000, limit: 1, providers: ['local'] });
      if (!task) throw new Error(`nothing claimable at step ${step}; open ${open.length}; ${JSON.stringify((await t.app.store.getTask(id))?.status)}`);
      const guard = { id: task!.id, owner: `w${step}` };
      if (r < 0.8) await t.app.store.failTask(guard, { code: 'render_failed', params: { detail: 'random' } }, Date.now());
      else
        await t.app.store.completeTask(
          guard,
          { video: { key: 'k', bytes: 1, contentType: 'video/mp4' }, lastFrame: null, expiresAt: Date.now() },
          Date.now(),
          task!.costMicros,
        );
      if (random() < 0.3) await t.app.store.refundTask(task!.id, Date.now(), 'duplicate refund attempt');
      // The queue hands out the oldest pending task, which may not be the one picked.
      if (task!.id !== id) open.splice(open.indexOf(task!.id), 1, id);
    }
    const { account, ledger } = await expectBooksBalance(t.app.store, c.accountId);
    expect(account.balanceMicros).toBeGreaterThanOrEqual(0);
    const tasks = await t.app.store.listTasks({ accountId: c.accountId, limit: 1000 });
    expect(tasks.reduce((sum, task) => sum + task.costMicros, 0)).toBe(account.spentMicros);
    expect(ledger.filter((e) => e.kind === 'refund').length).toBe(tasks.filter((x) => x.status === 'failed' || x.status === 'cancelled').length);
    const unfinished = tasks.filter((x) => x.status === 'pending' || x.status === 'processing').length;
    expect((await t.app.store.getApiKey(c.keyId))!.inFlight).toBe(unfinished);
  });
});

describe('limits', () => {
  it('429 with Retry-After beyond the key’s requests that create work per window, accepted again after it; reads go on', async () => {
    t = await startTestApp({ VIDGATE_RATE_WINDOW_SECONDS: '1' }, { runDispatcher: false });
    const c = await customer(t.app.store, undefined, { rpmLimit: 3 });
    const submitOne = () => submit(c.headers);
    for (let i = 0; i < 3; i++) expect((await submitOne()).statusCode).toBe(200);
    const limited = await submitOne();
    expect(limited.statusCode).toBe(429);
    expect(limited.json().error).toMatchObject({
      code: 429,
      type: 'rate_limit_error',
      message: expect.stringMatching(/3 requests that create work .* per 1 s/),
    });
    // Polling is another allowance: the key's tasks can still be read.
    expect((await t.app.server.inject({ method: 'GET', url: '/v1/tasks', headers: c.headers })).statusCode).toBe(200);
    const retryAfter = Number(limited.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    // Waiting out Retry-After is the behaviour under test.
    await new Promise((r) => setTimeout(r, retryAfter * 1000));
    expect((await submitOne()).statusCode).toBe(200);
  });

  it('429 beyond the key’s tasks in flight, accepted again once one finishes', async () => {
    t = await startTestApp({}, { runDispatcher: false });
    const c = await customer(t.app.store, undefined, { inFlightLimit: 2 });
    const first = (await submit(c.headers)).json().data[0].task_id;
    expect((await submit(c.headers)).statusCode).toBe(200);
    const refused = await submit(c.headers);
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['retry-after']).toBe('5');
    expect(refused.json().error.message).toMatch(/2 pending or processing at once/);
    await t.app.server.inject({ method: 'POST', url: `/v1/tasks/${first}/cancel`, headers: c.headers });
    expect((await submit(c.headers)).statusCode).toBe(200);
  });

  it('the default in-flight limit is 20 per key', async () => {
    t = await startTestApp({}, { runDispatcher: false });
    const c = await customer(t.app.store, undefined);
    for (let i = 0; i < 20; i++) expect((await submit(c.headers)).statusCode).toBe(200);
    expect((await submit(c.headers)).statusCode).toBe(429);
  });
});

describe('Idempotency-Key', () => {
  it('same key and body → the same task, charged once; another body → 409; after 24 h → a new task', async () => {
    t = await startTestApp({}, { runDispatcher: false });
    const c = await customer(t.app.store, 5);
    const headers = { ...c.headers, 'idempotency-key': 'order-42' };
    const answers = await Promise.all([submit(headers), submit(headers), submit(headers)]);
    const ids = new Set(answers.map((a) => a.json().data[0].task_id));
    expect(ids.size).toBe(1);
    // Key order and explicit defaults do not make it another request.
    const same = await submit(headers, { duration: 4, resolution: '480p', prompt: 'Rain on a window', model: 'doubao-seedance-2.0', size: '16:9' });
    expect(same.json().data[0].task_id).toBe([...ids][0]);
    const other = await submit(headers, { ...CHEAP, prompt: 'Snow on a window' });
    expect(other.statusCode).toBe(409);
    expect(other.json().error).toMatchObject({ type: 'conflict_error', param: 'Idempotency-Key' });
    const { ledger } = await expectBooksBalance(t.app.store, c.accountId);
    expect(ledger.filter((e) => e.kind === 'reserve')).toHaveLength(1);

    t.advanceClock(24 * 3600 * 1000 + 1);
    const later = await submit(headers);
    expect(later.statusCode).toBe(200);
    expect(ids.has(later.json().data[0].task_id)).toBe(false);
  });

  it('rejects an unusable key', async () => {
    t = await startTestApp({}, { runDispatcher: false });
    const res = await submit({ ...t.auth, 'idempotency-key': 'x'.repeat(256) });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.param).toBe('Idempotency-Key');
  });
});
