import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestApp, TEST_KEY, type TestApp } from '../helpers/test-app.js';
import { hashApiKey } from '../../src/auth/keys.js';
import type { AttemptEvent } from '../../src/webhooks/worker.js';
import { startReceiver, type Receiver } from './receiver.js';
import { startPythonReceiver } from '../helpers/foreign/python-webhook-receiver.js';
import { testStoreEnv } from '../helpers/test-store.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TASK = { model: 'doubao-seedance-2.0', prompt: 'a lantern on a quiet street', resolution: '480p', duration: 4, seed: 3 };
const ADMIN = 'admin-token-for-webhooks';
/** Millisecond waits between attempts, so retries happen within the test. */
const FAST = { VIDGATE_WEBHOOK_RETRY_SCHEDULE: '20ms,40ms,80ms,160ms,320ms', VIDGATE_MEDIA_ALLOW_HOSTS: '127.0.0.1', VIDGATE_ADMIN_TOKEN: ADMIN };

const apps: TestApp[] = [];
const receivers: Receiver[] = [];
afterEach(async () => {
  for (const a of apps.splice(0)) await a.close();
  for (const r of receivers.splice(0)) await r.close();
});

async function app(env: Record<string, string> = {}, opts: Parameters<typeof startTestApp>[1] = {}) {
  const t = await startTestApp({ ...FAST, ...env }, opts);
  apps.push(t);
  const key = (await t.app.store.findApiKeyByHash(hashApiKey(TEST_KEY)))!;
  const admin = async (method: string, url: string, body?: object) => {
    const res = await t.app.server.inject({ method: method as 'GET', url: `/admin/v1${url}`, headers: { authorization: `Bearer ${ADMIN}` }, payload: body });
    return { status: res.statusCode, body: res.json() };
  };
  /** Creates (or rotates) the account's secret: the only answer that shows it. */
  const secret = async (query = '') => {
    const res = await admin('POST', `/accounts/${key.accountId}/webhook-secret${query}`);
    expect(res.status).toBe(200);
    return res.body.data.secret as string;
  };
  /** Resolves at the first recorded attempt (past attempts are not replayed) that matches. */
  const attempt = (match: (e: AttemptEvent) => boolean) =>
    new Promise<AttemptEvent>((resolve) => {
      const off = t.app.notifications.worker.onAttempt((e) => {
        if (match(e)) {
          off();
          resolve(e);
        }
      });
    });
  return { ...t, key, admin, secret, attempt };
}

type Respond = Parameters<typeof startReceiver>[0];

/**
 * Who plays the customer's endpoint: our own Node receiver, and Python's http.server (a peer we did
 * not write) in its default HTTP/1.0, which closes each connection, and in HTTP/1.1 with keep-alive.
 */
const RECEIVERS: Array<{ peer: string; start: (respond?: Respond) => Promise<Receiver> }> = [
  { peer: 'our Node receiver', start: startReceiver },
  { peer: "Python's http.server in HTTP/1.0", start: (respond) => startPythonReceiver(respond, { protocol: 'HTTP/1.0' }) },
  { peer: "Python's http.server in HTTP/1.1", start: (respond) => startPythonReceiver(respond, { protocol: 'HTTP/1.1' }) },
];

describe.each(RECEIVERS)('webhooks received by $peer', ({ start }) => {
  async function receiver(respond?: Respond) {
    const r = await start(respond);
    receivers.push(r);
    return r;
  }
  /** Tests whose outcome cannot depend on who receives (nothing is delivered, or only the log is read) run once. */
  const peerIndependent = it.skipIf(start !== startReceiver);

  it('POSTs every status change as the task object, signed in the Standard Webhooks format', async () => {
    const t = await app();
    // Without VIDGATE_PUBLIC_URL, result URLs in webhook bodies use the address the server listens on.
    await t.app.server.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(t.app.server.server.address() as { port: number }).port}`;
    const hook = await receiver();
    hook.secrets = [await t.secret()];
    // The receiver sees a request before its answer reaches the sender and is logged: wait for both.
    const logged = ['processing', 'completed'].map((event) => t.attempt((e) => e.delivery.event === event && e.outcome.delivered));
    const id = await t.submit({ ...TASK, callback_url: hook.url });
    await t.settled(id);
    const completed = await hook.waitFor((r) => r.json.data.status === 'completed');
    const processing = await hook.waitFor((r) => r.json.data.status === 'processing');
    await Promise.all(logged);

    for (const r of [processing, completed]) {
      expect(r.verifiedWith).toEqual(hook.secrets);
      expect(r.signatures).toHaveLength(1);
      expect(r.id).toMatch(/^msg_[0-9a-f]{32}$/);
      expect(Math.abs(r.timestamp - Date.now() / 1000)).toBeLessThan(60);
      expect(r.contentType).toBe('application/json');
    }
    expect(processing.id).not.toBe(completed.id);
    expect(processing.json).toMatchObject({ code: 200, data: { id, status: 'processing' } });
    expect(processing.json.data).not.toHaveProperty('result');
    // The completed event is exactly what the status route answers.
    const status = await fetch(`${base}/v1/tasks/${id}`, { headers: t.auth });
    expect(completed.json).toEqual(await status.json());
    expect(completed.json.data.result!.videos[0]!.url[0]).toMatch(new RegExp(`^${base}/files/`));
    expect(completed.json.data.result).toBeDefined();
    expect(hook.received).toHaveLength(2);

    const log = await t.admin('GET', `/tasks/${id}/webhook-deliveries`);
    expect(log.status).toBe(200);
    expect(log.body.data).toHaveLength(2);
    for (const d of log.body.data) {
      expect(d).toMatchObject({
        task_id: id,
        account_id: t.key.accountId,
        url: hook.url,
        state: 'delivered',
        attempts: 1,
        last_status: 200,
        next_attempt_at: null,
      });
      expect(d.attempt_log).toEqual([expect.objectContaining({ attempt: 1, status: 200, error: null })]);
    }
    expect(log.body.data.map((d: { event: string }) => d.event)).toEqual(['completed', 'processing']);
    const byAccount = await t.admin('GET', `/accounts/${t.key.accountId}/webhook-deliveries?limit=1`);
    expect(byAccount.body).toMatchObject({ has_more: true, data: [{ event: 'completed' }] });
    const next = await t.admin('GET', `/accounts/${t.key.accountId}/webhook-deliveries?limit=1&after=${byAccount.body.next_after}`);
    expect(next.body).toMatchObject({ has_more: false, data: [{ event: 'processing' }] });
  });

  it('a receiver that fails 3 times gets the event exactly once more, then never again', async () => {
    const failures = new Map<string, number>();
    const hook = await receiver((r) => {
      const n = (failures.get(r.id) ?? 0) + 1;
      failures.set(r.id, n);
      return { status: n <= 3 ? 500 : 200 };
    });
    const t = await app();
    hook.secrets = [await t.secret()];
    const delivered = ['processing', 'completed'].map((event) => t.attempt((e) => e.delivery.event === event && e.outcome.delivered));
    const id = await t.submit({ ...TASK, callback_url: hook.url });
    await t.settled(id);
    await Promise.all(delivered);
    const log = await t.admin('GET', `/tasks/${id}/webhook-deliveries`);
    // Both events end delivered; wait out more than the rest of the schedule to see nothing else arrives.
    expect(log.body.data.map((d: { state: string }) => d.state)).toEqual(['delivered', 'delivered']);
    await new Promise((r) => setTimeout(r, 700));

    const perEvent = new Map<string, typeof hook.received>();
    for (const r of hook.received) perEvent.set(r.id, [...(perEvent.get(r.id) ?? []), r]);
    expect(perEvent.size).toBe(2);
    for (const tries of perEvent.values()) {
      expect(tries).toHaveLength(4);
      expect(new Set(tries.map((r) => r.body)).size).toBe(1);
      expect(tries.every((r) => r.verifiedWith.length === 1)).toBe(true);
    }
    for (const d of log.body.data) {
      expect(d).toMatchObject({ state: 'delivered', attempts: 4, last_status: 200 });
      expect(d.attempt_log.map((a: { status: number }) => a.status)).toEqual([500, 500, 500, 200]);
      expect(d.attempt_log[0].error).toBe('HTTP 500 Internal Server Error');
    }
  });

  it('a receiver that hangs does not hold up other tasks or their webhooks', async () => {
    const stuck = await receiver(() => 'hang');
    const fine = await receiver();
    const t = await app({ VIDGATE_WEBHOOK_TIMEOUT_MS: '60000' });
    const first = await t.submit({ ...TASK, callback_url: stuck.url });
    await stuck.waitFor((r) => r.json.data.status === 'processing');
    await t.settled(first);
    const second = await t.submit({ ...TASK, prompt: 'another one', callback_url: fine.url });
    await t.settled(second);
    const done = await fine.waitFor((r) => r.json.data.status === 'completed');
    expect(done.json.data.id).toBe(second);
    // Both of the first task's events are still waiting for an answer meanwhile.
    expect(stuck.hanging).toBe(2);
    expect((await t.app.store.getTask(first))!.status).toBe('completed');
  });

  it('does not follow redirects: a 3xx is a failed attempt, and the target never hears of it', async () => {
    const target = await receiver();
    const redirecting = await receiver(() => ({ status: 302, location: target.url }));
    const t = await app({ VIDGATE_WEBHOOK_RETRY_SCHEDULE: '10ms,10ms' });
    const id = await t.submit({ ...TASK, callback_url: redirecting.url });
    const givenUp = t.attempt((e) => e.delivery.event === 'completed' && !e.outcome.delivered && e.outcome.retryAt === null);
    await t.settled(id);
    await givenUp;
    expect(target.received).toHaveLength(0);
    const log = await t.admin('GET', `/tasks/${id}/webhook-deliveries?state=failed`);
    const completed = log.body.data.find((d: { event: string }) => d.event === 'completed');
    expect(completed).toMatchObject({ state: 'failed', attempts: 3, last_status: 302 });
    expect(completed.last_error).toContain('redirect');
    expect(completed.last_error).toContain('not followed');
  });

  peerIndependent('refuses private callback addresses at delivery unless VIDGATE_MEDIA_ALLOW_HOSTS allows them', async () => {
    const hook = await receiver();
    const t = await app({ VIDGATE_MEDIA_ALLOW_HOSTS: '' });
    const port = new URL(hook.url).port;
    const literal = await t.submit({ ...TASK, callback_url: hook.url });
    const named = await t.submit({ ...TASK, prompt: 'by name', callback_url: `http://localhost:${port}/hook` });
    const refused = (task: string) => t.attempt((e) => e.delivery.taskId === task && e.delivery.event === 'completed');
    const waits = [refused(literal), refused(named)];
    await Promise.all([t.settled(literal), t.settled(named)]);
    const outcomes = await Promise.all(waits);
    expect(hook.received).toHaveLength(0);
    for (const { outcome } of outcomes) expect(outcome).toMatchObject({ delivered: false, retryAt: null, statusCode: null });
    for (const task of [literal, named]) {
      const log = await t.admin('GET', `/tasks/${task}/webhook-deliveries`);
      for (const d of log.body.data) {
        expect(d).toMatchObject({ state: 'failed', attempts: 1, last_status: null });
        expect(d.last_error).toMatch(/private or reserved address \((127\.0\.0\.1|::1)\)/);
      }
    }
  });

  peerIndependent('validates callback_url at submit', async () => {
    const t = await app({}, { runDispatcher: false });
    const cases: Array<[unknown, RegExp]> = [
      ['ftp://example.com/hook', /http:\/\/ or https:\/\//],
      ['not a url', /http:\/\/ or https:\/\//],
      ['https://user:pw@example.com/hook', /without credentials/],
      [`https://example.com/${'a'.repeat(2048)}`, /longer than 2048/],
      [42, /URL string/],
    ];
    for (const [value, message] of cases) {
      const res = await t.app.server.inject({ method: 'POST', url: '/v1/videos/generations', headers: t.auth, payload: { ...TASK, callback_url: value } });
      expect(res.statusCode).toBe(400);
      expect(res.json().error).toMatchObject({ code: 400, type: 'invalid_request_error', param: 'callback_url' });
      expect(res.json().error.message).toMatch(message);
    }
    await t.submit({ ...TASK, callback_url: 'https://example.com/hooks/vidgate?x=1' });
    await t.submit({ ...TASK, callback_url: null });
  });

  it("uses the key's default callback_url, set through the admin API, for tasks that name none", async () => {
    const hook = await receiver();
    const t = await app();
    const patched = await t.admin('PATCH', `/keys/${t.key.id}`, { callback_url: hook.url });
    expect(patched.status).toBe(200);
    expect(patched.body.data.callback_url).toBe(hook.url);
    expect((await t.admin('PATCH', `/keys/${t.key.id}`, { callback_url: 'gopher://x' })).body.error).toMatchObject({ code: 400, param: 'callback_url' });
    hook.secrets = [await t.secret()];
    const id = await t.submit(TASK);
    await t.settled(id);
    const completed = await hook.waitFor((r) => r.json.data.status === 'completed');
    expect(completed.json.data.id).toBe(id);
    expect(completed.verifiedWith).toHaveLength(1);

    const cleared = await t.admin('PATCH', `/keys/${t.key.id}`, { callback_url: null });
    expect(cleared.body.data.callback_url).toBeNull();
    const quiet = await t.submit(TASK);
    await t.settled(quiet);
    expect((await t.admin('GET', `/tasks/${quiet}/webhook-deliveries`)).body.data).toEqual([]);
  });

  it('signs with the old and the new secret for 24 h after a rotation, or only the new one when asked', async () => {
    const hook = await receiver();
    const t = await app();
    const old = await t.secret();
    expect(old).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const state = await t.admin('GET', `/accounts/${t.key.accountId}/webhook-secret`);
    expect(state.body.data).toEqual({ exists: true, created_at: expect.any(Number), previous_valid_until: null });
    expect(JSON.stringify(state.body)).not.toContain(old);

    const rotated = await t.admin('POST', `/accounts/${t.key.accountId}/webhook-secret`);
    const current = rotated.body.data.secret as string;
    expect(current).not.toBe(old);
    expect(rotated.body.data.previous_valid_until - Date.now() / 1000).toBeGreaterThan(24 * 3600 - 60);
    hook.secrets = [current, old];
    const id = await t.submit({ ...TASK, callback_url: hook.url });
    await t.settled(id);
    const during = await hook.waitFor((r) => r.json.data.status === 'completed');
    expect(during.signatures).toHaveLength(2);
    expect(during.verifiedWith).toEqual([current, old]);

    const fresh = await t.secret('?expire_previous=true');
    hook.secrets = [fresh, current, old];
    const after = await t.submit({ ...TASK, callback_url: hook.url });
    await t.settled(after);
    const single = await hook.waitFor((r) => r.json.data.id === after && r.json.data.status === 'completed');
    expect(single.signatures).toHaveLength(1);
    expect(single.verifiedWith).toEqual([fresh]);
  });

  it('announces a cancellation', async () => {
    const hook = await receiver();
    const t = await app({}, { runDispatcher: false });
    const id = await t.submit({ ...TASK, callback_url: hook.url });
    const res = await t.app.server.inject({ method: 'POST', url: `/v1/tasks/${id}/cancel`, headers: t.auth });
    expect(res.statusCode).toBe(200);
    await t.app.notifications.start();
    const cancelled = await hook.waitFor((r) => r.json.data.status === 'cancelled');
    expect(cancelled.json).toEqual((await t.app.server.inject({ method: 'GET', url: `/v1/tasks/${id}`, headers: t.auth })).json());
    expect(cancelled.json.data.cost).toBe(0);
  });

  peerIndependent('`vidgate webhooks log` prints the delivery log from the database', async () => {
    const hook = await receiver();
    const t = await app();
    const id = await t.submit({ ...TASK, callback_url: hook.url });
    const delivered = t.attempt((e) => e.delivery.event === 'completed');
    await t.settled(id);
    await delivered;
    const storeEnv = await testStoreEnv(t.dataDir);
    const run = (args: string[]) =>
      promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'webhooks', 'log', ...args], {
        cwd: ROOT,
        env: { ...process.env, VIDGATE_DATA_DIR: t.dataDir, ...storeEnv },
      });
    const json = JSON.parse((await run(['--task', id, '--json'])).stdout);
    expect(json).toHaveLength(2);
    expect(json[0]).toMatchObject({ task_id: id, event: 'completed', state: 'delivered', attempts: 1, url: hook.url });
    const text = (await run(['--account', t.key.accountId])).stdout;
    expect(text).toContain(id);
    expect(text).toContain('delivered');
    expect(text).toContain('HTTP 200');
  });
});
