import { afterEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const BODY = { model: 'doubao-seedance-2.0', prompt: 'A kitten yawning at the camera' };

describe('rate limits', () => {
  it("behind a trusted proxy, the per-address allowance is the client's, named by X-Forwarded-For", async () => {
    t = await startTestApp({ VIDGATE_ANONYMOUS_RPM: '2', VIDGATE_TRUST_PROXY: '127.0.0.1' }, { runDispatcher: false });
    const from = (client: string) => t!.app.server.inject({ method: 'GET', url: '/healthz', headers: { 'x-forwarded-for': client } });
    expect([(await from('198.51.100.1')).statusCode, (await from('198.51.100.1')).statusCode, (await from('198.51.100.1')).statusCode]).toEqual([
      200, 200, 429,
    ]);
    // Another client behind the same proxy has its own allowance.
    expect((await from('198.51.100.2')).statusCode).toBe(200);
  });

  it('at the defaults, a client polling its task every second for a minute, listing and submitting, never meets a 429', async () => {
    // The service defaults, not the test app's raised ones.
    t = await startTestApp({ VIDGATE_DEFAULT_RPM: undefined!, VIDGATE_READ_RPM: undefined!, VIDGATE_ANONYMOUS_RPM: undefined! }, { runDispatcher: false });
    const app = t.app.server;
    const statuses: number[] = [];
    // All in one window: stricter than the same requests spread over the minute.
    for (let submit = 0; submit < 20; submit++) {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/videos/generations',
        headers: { ...t.auth, 'content-type': 'application/json' },
        payload: BODY,
      });
      statuses.push(res.statusCode);
      const id = res.json().data[0].task_id as string;
      for (let second = 0; second < 60; second++) {
        statuses.push((await app.inject({ method: 'GET', url: `/v1/tasks/${id}`, headers: t.auth })).statusCode);
      }
      statuses.push((await app.inject({ method: 'GET', url: '/v1/tasks?limit=5', headers: t.auth })).statusCode);
      statuses.push((await app.inject({ method: 'GET', url: '/v1/balance', headers: t.auth })).statusCode);
    }
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(statuses).toHaveLength(20 * 63);
  });

  it('reads have their own allowance per key, answered 429 with Retry-After in the envelope', async () => {
    t = await startTestApp({ VIDGATE_READ_RPM: '5' }, { runDispatcher: false });
    const read = () => t!.app.server.inject({ method: 'GET', url: '/v1/models', headers: t!.auth });
    for (let i = 0; i < 5; i++) expect((await read()).statusCode).toBe(200);
    const limited = await read();
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(limited.json()).toEqual({ error: { code: 429, type: 'rate_limit_error', message: expect.stringMatching(/5 reads per 60 s; retry in/) } });
    // Creating work is another allowance.
    const submit = await t.app.server.inject({
      method: 'POST',
      url: '/v1/videos/generations',
      headers: { ...t.auth, 'content-type': 'application/json' },
      payload: BODY,
    });
    expect(submit.statusCode).toBe(200);
  });

  it('requests without a valid key are limited per address: guesses first, then signed files and the rest', async () => {
    t = await startTestApp({ VIDGATE_ANONYMOUS_RPM: '4' }, { runDispatcher: false });
    const app = t.app.server;
    const guess = (n: number) => app.inject({ method: 'GET', url: '/v1/tasks', headers: { authorization: `Bearer sk-wrong-${n}` } });
    for (let i = 0; i < 4; i++) expect((await guess(i)).statusCode).toBe(401);
    const blocked = await guess(99);
    expect(blocked.statusCode).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(blocked.json().error).toMatchObject({
      code: 429,
      type: 'rate_limit_error',
      message: expect.stringMatching(/without a valid API key from this address: at most 4 per 60 s/),
    });
    // A valid key from the same address is not held back by strangers' guesses.
    expect((await app.inject({ method: 'GET', url: '/v1/tasks', headers: t.auth })).statusCode).toBe(200);
    // Routes that need no key share the address's allowance (a separate count from refusals).
    const open = [];
    for (let i = 0; i < 5; i++) open.push(await app.inject({ method: 'GET', url: '/healthz' }));
    expect(open.map((r) => r.statusCode)).toEqual([200, 200, 200, 200, 429]);
    const another = await app.inject({ method: 'GET', url: '/healthz', remoteAddress: '203.0.113.9' });
    expect(another.statusCode).toBe(200);
    // Unknown paths too.
    const unknown = [];
    for (let i = 0; i < 5; i++) unknown.push(await app.inject({ method: 'GET', url: '/nothing-here', remoteAddress: '203.0.113.10' }));
    expect(unknown.map((r) => r.statusCode)).toEqual([404, 404, 404, 404, 429]);
  });
});
