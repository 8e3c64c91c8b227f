import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { TEST_STORE, testDatabase } from '../helpers/test-store.js';

/**
 * The admin API's paging (has_more / next_after on accounts, ledger and tasks; order on the ledger),
 * include=request on an account's tasks, one webhook delivery, and callback_url on a new key.
 */
const ADMIN = 'admin-paging-token';
const admin = { authorization: `Bearer ${ADMIN}` };
const TASK = { model: 'doubao-seedance-2.0', prompt: 'a lantern on a quiet street', resolution: '480p', duration: 4 };
/** The keys of a task object without extensions: exactly the APIMart ones of a pending task. */
const PENDING_TASK_KEYS = ['cost', 'created', 'credits_cost', 'estimated_time', 'id', 'progress', 'status'];

let t: TestApp;
let acme: { id: string };
let customer: { authorization: string };
let hooked: { authorization: string };
let keyId: string;
/** acme's tasks, oldest first. */
const tasks: string[] = [];

const call = (method: 'GET' | 'POST' | 'PATCH', url: string, payload?: object, headers: Record<string, string> = admin) =>
  t.app.server.inject({ method, url: `/admin/v1${url}`, headers, ...(payload ? { payload } : {}) });
const data = async (url: string) => {
  const res = await call('GET', url);
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
};
/** Follows next_after until the last page; every page's next_after is its last entry's cursor. */
async function walk<T extends { id: string | number }>(path: string): Promise<{ ids: Array<T['id']>; sizes: number[] }> {
  const ids: Array<T['id']> = [];
  const sizes: number[] = [];
  let after: string | number | null = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const page = await data(after === null ? path : `${path}${sep}after=${after}`);
    expect(Object.keys(page).sort()).toEqual(['code', 'data', 'has_more', 'next_after']);
    expect(page.next_after).toBe(page.has_more ? page.data.at(-1).id : null);
    ids.push(...page.data.map((e: T) => e.id));
    sizes.push(page.data.length);
    after = page.next_after;
  } while (after !== null);
  return { ids, sizes };
}

beforeAll(async () => {
  t = await startTestApp({ VIDGATE_ADMIN_TOKEN: ADMIN }, { runDispatcher: false });
  acme = (await call('POST', '/accounts', { name: 'acme', balance: 10 })).json().data;
  for (const name of ['beta', 'gamma', 'delta']) await call('POST', '/accounts', { name });
  for (const amount of [1, 2, 3, 4]) await call('POST', `/accounts/${acme.id}/topups`, { amount, note: `topup ${amount}` });
  const key = (await call('POST', `/accounts/${acme.id}/keys`, { name: 'backend' })).json();
  keyId = key.data.id;
  customer = { authorization: `Bearer ${key.api_key}` };
  for (let i = 0; i < 3; i++) {
    const res = await t.app.server.inject({ method: 'POST', url: '/v1/videos/generations', headers: customer, payload: { ...TASK, seed: i } });
    expect(res.statusCode, res.body).toBe(200);
    tasks.push(res.json().data[0].task_id);
  }
  const withHook = (await call('POST', `/accounts/${acme.id}/keys`, { name: 'hooked', callback_url: 'https://hooks.example.test/vidgate?token=k' })).json();
  hooked = { authorization: `Bearer ${withHook.api_key}` };
});
afterAll(() => t?.close());

describe('GET /admin/v1/accounts', () => {
  it('answers has_more and next_after, and pages through every account by id', async () => {
    const all = await data('/accounts');
    expect(Object.keys(all).sort()).toEqual(['code', 'data', 'has_more', 'next_after']);
    expect(all).toMatchObject({ code: 200, has_more: false, next_after: null });
    expect(all.data).toHaveLength(5);
    const ids = all.data.map((a: { id: string }) => a.id);
    expect(ids).toEqual([...ids].sort());
    expect(Object.keys(all.data[0]).sort()).toEqual(['balance', 'created_at', 'id', 'key_count', 'name', 'spent', 'unlimited']);
    expect(await walk('/accounts?limit=2')).toEqual({ ids, sizes: [2, 2, 1] });
    // A full last page: has_more is false, no empty page follows.
    expect(await walk('/accounts?limit=5')).toEqual({ ids, sizes: [5] });
  });
});

describe('GET /admin/v1/accounts/{id}/ledger', () => {
  it('is oldest first by default, as before, now with has_more and next_after', async () => {
    const ledger = await data(`/accounts/${acme.id}/ledger`);
    expect(Object.keys(ledger).sort()).toEqual(['code', 'data', 'has_more', 'next_after']);
    expect(ledger).toMatchObject({ has_more: false, next_after: null });
    expect(ledger.data.map((e: { kind: string; amount: number }) => [e.kind, e.amount])).toEqual([
      ['topup', 10],
      ['topup', 1],
      ['topup', 2],
      ['topup', 3],
      ['topup', 4],
      ['reserve', -0.264],
      ['reserve', -0.264],
      ['reserve', -0.264],
    ]);
    expect(Object.keys(ledger.data[0]).sort()).toEqual(['amount', 'balance_after', 'created_at', 'id', 'key_id', 'kind', 'note', 'task_id']);
  });

  it('pages in either order, the cursor following the order', async () => {
    const ids = (await data(`/accounts/${acme.id}/ledger`)).data.map((e: { id: number }) => e.id);
    expect(await walk(`/accounts/${acme.id}/ledger?limit=3`)).toEqual({ ids, sizes: [3, 3, 2] });
    expect(await walk(`/accounts/${acme.id}/ledger?limit=3&order=asc`)).toEqual({ ids, sizes: [3, 3, 2] });
    expect((await data(`/accounts/${acme.id}/ledger?order=desc`)).data.map((e: { id: number }) => e.id)).toEqual([...ids].reverse());
    expect(await walk(`/accounts/${acme.id}/ledger?limit=3&order=desc`)).toEqual({ ids: [...ids].reverse(), sizes: [3, 3, 2] });
    // after names an entry: asc continues with later entries, desc with earlier ones.
    const middle = ids[4];
    expect((await data(`/accounts/${acme.id}/ledger?after=${middle}`)).data.map((e: { id: number }) => e.id)).toEqual(ids.slice(5));
    expect((await data(`/accounts/${acme.id}/ledger?after=${middle}&order=desc`)).data.map((e: { id: number }) => e.id)).toEqual(ids.slice(0, 4).reverse());
  });

  it.each([
    ['order=newest', 'order', /order must be asc or desc/],
    ['after=-1', 'after', /after must be a ledger entry id/],
    ['after=first', 'after', /after must be a ledger entry id/],
    ['limit=0', 'limit', /limit must be an integer from 1 to 500/],
    ['limit=501', 'limit', /limit must be an integer from 1 to 500/],
  ])('refuses %s', async (query, param, message) => {
    const res = await call('GET', `/accounts/${acme.id}/ledger?${query}`);
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 400, type: 'invalid_request_error', param, message: expect.stringMatching(message) });
  });
});

describe('GET /admin/v1/accounts/{id}/tasks', () => {
  it('answers the task objects as before, with has_more and next_after, newest first', async () => {
    const page = await data(`/accounts/${acme.id}/tasks`);
    expect(Object.keys(page).sort()).toEqual(['code', 'data', 'has_more', 'next_after']);
    expect(page).toMatchObject({ has_more: false, next_after: null });
    expect(page.data.map((task: { id: string }) => task.id)).toEqual([...tasks].reverse());
    for (const task of page.data) expect(Object.keys(task).sort()).toEqual(PENDING_TASK_KEYS);
    expect(await walk(`/accounts/${acme.id}/tasks?limit=2`)).toEqual({ ids: [...tasks].reverse(), sizes: [2, 1] });
    expect(await walk(`/accounts/${acme.id}/tasks?limit=1&status=pending`)).toEqual({ ids: [...tasks].reverse(), sizes: [1, 1, 1] });
  });

  it('include=request adds request and timings, exactly as GET /v1/tasks does', async () => {
    const listed = (await data(`/accounts/${acme.id}/tasks?include=request`)).data;
    const own = (await t.app.server.inject({ method: 'GET', url: '/v1/tasks?include=request', headers: customer })).json().data;
    expect(listed).toEqual(own);
    expect(listed[0]).toMatchObject({ request: { model: 'doubao-seedance-2.0', prompt: TASK.prompt, seed: 2 }, timings: { started: null } });
    expect(Object.keys(listed[0]).sort()).toEqual([...PENDING_TASK_KEYS, 'request', 'timings'].sort());
  });

  it.each([
    ['include=everything', 'include', /include must be "request"/],
    ['status=done', 'status', /status must be one of pending, processing, completed, failed, cancelled/],
    ['limit=0', 'limit', /limit must be an integer from 1 to 500/],
    [`after=${'t'.repeat(65)}`, 'after', /at most 64 characters/],
  ])('refuses %s', async (query, param, message) => {
    const res = await call('GET', `/accounts/${acme.id}/tasks?${query}`);
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 400, param, message: expect.stringMatching(message) });
  });
});

describe('POST /admin/v1/accounts/{id}/keys with callback_url', () => {
  it('keeps the default callback URL from the start, as PATCH /keys/{id} sets it', async () => {
    const created = await call('POST', `/accounts/${acme.id}/keys`, { name: 'with hook', callback_url: 'https://hooks.example.test/a' });
    expect(created.statusCode, created.body).toBe(200);
    expect(created.json().data).toMatchObject({ name: 'with hook', callback_url: 'https://hooks.example.test/a' });
    const listed = (await data(`/accounts/${acme.id}/keys`)).data.find((k: { id: string }) => k.id === created.json().data.id);
    expect(listed).toEqual(created.json().data);
    const none = (await call('POST', `/accounts/${acme.id}/keys`, { name: 'no hook', callback_url: null })).json().data;
    expect(none.callback_url).toBeNull();
  });

  it('answers as before without it', async () => {
    const created = (await call('POST', `/accounts/${acme.id}/keys`, { name: 'plain' })).json();
    expect(Object.keys(created).sort()).toEqual(['api_key', 'code', 'data']);
    expect(created.data.callback_url).toBeNull();
  });

  it.each([
    ['gopher://x.example/hook', /callback_url must be an absolute http:\/\/ or https:\/\/ URL without credentials/],
    ['https://user:pass@x.example/hook', /without credentials/],
    [`https://x.example/${'a'.repeat(2048)}`, /callback_url is longer than 2048 characters/],
    [42, /callback_url must be a URL string/],
  ])('refuses %s, as PATCH does', async (url, message) => {
    for (const res of [
      await call('POST', `/accounts/${acme.id}/keys`, { name: 'bad', callback_url: url }),
      await call('PATCH', `/keys/${keyId}`, { callback_url: url }),
    ]) {
      expect(res.statusCode).toBe(400);
      expect(res.json().error).toMatchObject({ code: 400, param: 'callback_url', message: expect.stringMatching(message) });
    }
    // Nothing was created by the refused POSTs.
    expect((await data(`/accounts/${acme.id}/keys`)).data.filter((k: { name: string }) => k.name === 'bad')).toEqual([]);
  });
});

describe('GET /admin/v1/webhook-deliveries/{delivery_id}', () => {
  it('answers one delivery exactly as the lists show it', async () => {
    // A key's default callback URL hears its tasks; cancelling one queues the event (nothing delivers it here).
    const submitted = await t.app.server.inject({ method: 'POST', url: '/v1/videos/generations', headers: hooked, payload: TASK });
    const taskId = submitted.json().data[0].task_id;
    expect((await t.app.server.inject({ method: 'POST', url: `/v1/tasks/${taskId}/cancel`, headers: hooked })).statusCode).toBe(200);
    const list = (await data(`/tasks/${taskId}/webhook-deliveries`)).data;
    expect(list).toEqual([
      expect.objectContaining({ task_id: taskId, event: 'cancelled', url: 'https://hooks.example.test/vidgate?token=k', state: 'pending' }),
    ]);
    const one = await call('GET', `/webhook-deliveries/${list[0].id}`);
    expect(one.statusCode).toBe(200);
    expect(one.json()).toEqual({ code: 200, data: list[0] });
    expect((await data('/webhook-deliveries')).data.find((d: { id: string }) => d.id === list[0].id)).toEqual(list[0]);
  });

  it('404 for an unknown one', async () => {
    const res = await call('GET', '/webhook-deliveries/msg_nope');
    expect(res.statusCode).toBe(404);
    expect(res.json().error).toMatchObject({ code: 404, type: 'not_found_error', message: 'webhook delivery msg_nope was not found' });
  });
});

describe('refusals', () => {
  const routes = (account: string) => [
    `/accounts`,
    `/accounts/${account}/ledger?order=desc`,
    `/accounts/${account}/tasks?include=request`,
    '/webhook-deliveries/msg_nope',
  ];

  it('401 without the admin token, or with an API key', async () => {
    for (const path of routes(acme.id)) {
      for (const headers of [{}, customer, { authorization: 'Bearer wrong' }]) {
        const res = await call('GET', path, undefined, headers);
        expect(res.statusCode, path).toBe(401);
        expect(res.json().error.type).toBe('authentication_error');
      }
    }
    expect((await call('POST', `/accounts/${acme.id}/keys`, { callback_url: 'https://x.example/' }, {})).statusCode).toBe(401);
  });

  it('404 for an unknown account', async () => {
    for (const path of [`/accounts/acct_nope/ledger?order=desc`, `/accounts/acct_nope/tasks?include=request`]) {
      const res = await call('GET', path);
      expect(res.statusCode, path).toBe(404);
      expect(res.json().error.message).toBe('account acct_nope was not found');
    }
    const key = await call('POST', '/accounts/acct_nope/keys', { callback_url: 'https://x.example/' });
    expect(key.statusCode).toBe(404);
  });
});

describe('OpenAPI', () => {
  it('documents the paging, order, include and the new routes', async () => {
    const doc = (await t.app.server.inject({ method: 'GET', url: '/openapi.json' })).json();
    const params = (path: string) => doc.paths[path].get.parameters.map((p: { name: string }) => p.name);
    expect(params('/admin/v1/accounts/{account_id}/ledger')).toEqual(expect.arrayContaining(['limit', 'after', 'order']));
    expect(params('/admin/v1/accounts/{account_id}/tasks')).toEqual(expect.arrayContaining(['limit', 'after', 'status', 'include']));
    expect(doc.paths['/admin/v1/webhook-deliveries/{delivery_id}']?.get).toBeDefined();
    const body = doc.paths['/admin/v1/accounts/{account_id}/keys'].post.requestBody.content['application/json'].schema;
    expect(Object.keys(body.properties)).toContain('callback_url');
    for (const path of ['/admin/v1/accounts', '/admin/v1/accounts/{account_id}/ledger', '/admin/v1/accounts/{account_id}/tasks']) {
      const answer = doc.paths[path].get.responses['200'].content['application/json'].schema;
      expect(Object.keys(answer.properties), path).toEqual(['code', 'data', 'has_more', 'next_after']);
    }
  });
});

describe('the ledger reads its index in both orders', () => {
  it('ledger_by_account, with no sort', async () => {
    const db = await testDatabase(t.dataDir);
    try {
      for (const sql of [
        'SELECT * FROM ledger WHERE account_id = ? AND id > ? ORDER BY id LIMIT ?',
        'SELECT * FROM ledger WHERE account_id = ? AND id < ? ORDER BY id DESC LIMIT ?',
      ]) {
        let plan: string;
        if (TEST_STORE === 'sqlite') {
          plan = (await db.all<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, acme.id, 5, 10)).map((r) => r.detail).join('\n');
        } else {
          await db.all('SET enable_seqscan = off');
          plan = (await db.all<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`, acme.id, 5, 10)).map((r) => r['QUERY PLAN']).join('\n');
        }
        expect(plan, sql).toMatch(/ledger_by_account/);
        expect(plan, sql).not.toMatch(/TEMP B-TREE|Sort/);
      }
    } finally {
      await db.close();
    }
  });
});
