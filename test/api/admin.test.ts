import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

const ADMIN = 'admin-secret-token';
const admin = { authorization: `Bearer ${ADMIN}` };
let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({ VIDGATE_ADMIN_TOKEN: ADMIN }, { runDispatcher: false });
});
afterAll(() => t.close());

const call = (method: 'GET' | 'POST' | 'PATCH', url: string, payload?: object, headers: Record<string, string> = admin) =>
  t.app.server.inject({ method, url: `/admin/v1${url}`, headers, ...(payload ? { payload } : {}) });

describe('admin API', () => {
  it('401 without the admin token, or with an API key', async () => {
    expect((await call('GET', '/accounts', undefined, {})).statusCode).toBe(401);
    const withKey = await call('GET', '/accounts', undefined, t.auth);
    expect(withKey.statusCode).toBe(401);
    expect(withKey.json().error).toMatchObject({ type: 'authentication_error', message: 'invalid admin token' });
  });

  it('runs an account end to end: open, key with limits, top up, spend, ledger, tasks, disable', async () => {
    const opened = await call('POST', '/accounts', { name: 'acme', balance: 1 });
    expect(opened.statusCode).toBe(200);
    const account = opened.json().data;
    expect(account).toMatchObject({ name: 'acme', unlimited: false, balance: 1, spent: 0 });

    const keyRes = await call('POST', `/accounts/${account.id}/keys`, { name: 'backend', spend_cap: 5, rpm_limit: 100, in_flight_limit: 3 });
    const { data: key, api_key } = keyRes.json();
    expect(api_key).toMatch(/^sk-vg-/);
    expect(key).toMatchObject({ account_id: account.id, spend_cap: 5, rpm_limit: 100, in_flight_limit: 3, disabled: false });
    const listed = (await call('GET', `/accounts/${account.id}/keys`)).json().data;
    expect(listed).toEqual([key]);
    expect(JSON.stringify(listed)).not.toContain(api_key);

    const topped = await call('POST', `/accounts/${account.id}/topups`, { amount: 2.5, note: 'invoice 17' });
    expect(topped.json().data.balance).toBe(3.5);

    const customer = { authorization: `Bearer ${api_key}` };
    const submit = await t.app.server.inject({
      method: 'POST',
      url: '/v1/videos/generations',
      headers: customer,
      payload: { model: 'doubao-seedance-2.0', prompt: 'x', resolution: '480p', duration: 5 },
    });
    expect(submit.statusCode).toBe(200);
    const taskId = submit.json().data[0].task_id;

    const ledger = (await call('GET', `/accounts/${account.id}/ledger`)).json().data;
    expect(ledger.map((e: { kind: string; amount: number; balance_after: number }) => [e.kind, e.amount, e.balance_after])).toEqual([
      ['topup', 1, 1],
      ['topup', 2.5, 3.5],
      ['reserve', -0.33, 3.17],
    ]);
    expect(ledger[1].note).toBe('invoice 17');
    expect(ledger[2]).toMatchObject({ task_id: taskId, key_id: key.id });

    const tasks = (await call('GET', `/accounts/${account.id}/tasks`)).json().data;
    expect(tasks).toEqual([expect.objectContaining({ id: taskId, status: 'pending', cost: 0.33 })]);
    expect((await call('GET', `/accounts/${account.id}`)).json().data).toMatchObject({ balance: 3.17, spent: 0.33 });

    const disabled = await call('PATCH', `/keys/${key.id}`, { disabled: true, rpm_limit: null });
    expect(disabled.json().data).toMatchObject({ disabled: true, rpm_limit: null, in_flight_limit: 3 });
    expect((await t.app.server.inject({ method: 'GET', url: '/v1/tasks', headers: customer })).statusCode).toBe(401);
  });

  it('answers clearly for what does not exist or makes no sense', async () => {
    expect((await call('GET', '/accounts/acct_nope')).json().error).toMatchObject({ code: 404, message: 'account acct_nope was not found' });
    expect((await call('PATCH', '/keys/key_nope', { disabled: true })).statusCode).toBe(404);
    const unlimited = (await call('POST', '/accounts', { name: 'free' })).json().data;
    expect(unlimited).toMatchObject({ unlimited: true });
    const topup = await call('POST', `/accounts/${unlimited.id}/topups`, { amount: 1 });
    expect(topup.statusCode).toBe(400);
    expect(topup.json().error.message).toMatch(/unlimited quota/);
    const negative = await call('POST', `/accounts/${unlimited.id}/topups`, { amount: -5 });
    expect(negative.statusCode).toBe(400);
    expect(negative.json().error.param).toBe('amount');
  });

  it('is closed to everyone when no admin token is configured', async () => {
    const closed = await startTestApp({}, { runDispatcher: false });
    try {
      const res = await closed.app.server.inject({ method: 'GET', url: '/admin/v1/accounts', headers: { authorization: 'Bearer anything' } });
      expect(res.statusCode).toBe(401);
      expect(res.json().error.message).toMatch(/VIDGATE_ADMIN_TOKEN/);
    } finally {
      await closed.close();
    }
  });
});

describe('GET /v1/models', () => {
  it('lists every model with resolutions, features and the README: Money prices', async () => {
    const data = (await t.app.server.inject({ method: 'GET', url: '/v1/models', headers: t.auth })).json().data;
    expect(data.map((m: { id: string }) => m.id)).toEqual([
      'doubao-seedance-2.0',
      'doubao-seedance-2.0-fast',
      'doubao-seedance-2.0-face',
      'doubao-seedance-2.0-fast-face',
      'doubao-seedance-2.0-mini',
    ]);
    const byId = Object.fromEntries(data.map((m: { id: string }) => [m.id, m]));
    expect(byId['doubao-seedance-2.0'].pricing.per_second).toEqual({ '480p': 0.066, '720p': 0.142, '1080p': 0.3544, '4k': 0.722 });
    expect(byId['doubao-seedance-2.0'].pricing.per_second_with_reference_video['720p']).toBe(0.08584);
    expect(byId['doubao-seedance-2.0-face'].pricing.per_second).toEqual({ '480p': 0.0992, '720p': 0.2136, '1080p': 0.5 });
    expect(byId['doubao-seedance-2.0-fast'].pricing.per_second['720p']).toBeCloseTo(0.1136, 10);
    expect(byId['doubao-seedance-2.0-fast-face'].pricing.per_second['480p']).toBeCloseTo(0.07936, 10);
    expect(byId['doubao-seedance-2.0-mini'].pricing.per_second['480p']).toBe(0.033);
    expect(byId['doubao-seedance-2.0-mini']).toMatchObject({ resolutions: ['480p', '720p'], features: { asset_urls: false, prompt_limit: null } });
    expect(byId['doubao-seedance-2.0-fast'].aliases).toEqual(['seedance-2.0-fast']);
  });
});

describe('operator CLI', () => {
  it('opens an account, tops it up and lists it, all without a server', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'vidgate-cli-acct-'));
    const run = (...args: string[]) =>
      promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { env: { ...process.env, VIDGATE_DATA_DIR: dataDir } });
    try {
      const account = JSON.parse((await run('accounts', 'create', '--name', 'shop', '--balance', '2', '--json')).stdout);
      expect(account).toMatchObject({ unlimited: false, balance: 2 });
      const key = JSON.parse((await run('keys', 'create', '--account', account.account_id, '--spend-cap', '1', '--rpm', '10', '--json')).stdout);
      expect(JSON.parse((await run('topup', account.account_id, '3.25', '--json')).stdout)).toEqual({ account_id: account.account_id, balance: 5.25 });
      const listed = JSON.parse((await run('accounts', 'list', '--json')).stdout);
      expect(listed).toEqual([expect.objectContaining({ id: account.account_id, balance: 5.25 })]);
      expect((await run('keys', 'disable', key.key_id)).stdout).toMatch(/disabled/);
      const store = new SqliteStore(join(dataDir, 'vidgate.db'));
      expect(await store.getApiKey(key.key_id)).toMatchObject({ disabled: true, limits: { spendCapMicros: 1_000_000, rpmLimit: 10 } });
      await store.close();
      const failure = await run('topup', 'acct_missing', '1').catch((e) => e);
      expect(failure.code).toBe(2);
      expect(failure.stderr.trim()).toBe('vidgate: account acct_missing does not exist');
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
