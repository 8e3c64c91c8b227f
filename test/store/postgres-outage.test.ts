import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type PostgresServer, startPostgresServer } from '../helpers/postgres-server.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';

/**
 * The database goes away under a running instance (its own server here, stopped with
 * `pg_ctl -m immediate`, as a crash or failover would) and comes back.
 */
describe('PostgreSQL outage', () => {
  let server: PostgresServer;
  let t: TestApp;
  const SHORT = { model: 'doubao-seedance-2.0', prompt: 'after the outage', resolution: '480p', duration: 4, seed: 2 };

  beforeAll(async () => {
    server = await startPostgresServer({ maxConnections: 50, durableCommits: true });
    const database = await createTestDatabase(server.adminUrl);
    t = await startTestApp({ VIDGATE_DATABASE_URL: database.url });
  });
  afterAll(async () => {
    await t?.close();
    await server?.stop();
  });

  it('answers 503 in the envelope with Retry-After while the database is down, reports not ready, and serves again once it is back', async () => {
    const before = await t.submit(SHORT);
    await t.settled(before);
    await server.halt();
    const down = await t.app.server.inject({ method: 'GET', url: `/v1/tasks/${before}`, headers: t.auth });
    expect(down.statusCode).toBe(503);
    expect(down.headers['retry-after']).toBe('2');
    expect(down.json()).toEqual({ error: { code: 503, type: 'server_error', message: expect.stringMatching(/cannot reach its database/) } });
    const submit = await t.app.server.inject({ method: 'POST', url: '/v1/videos/generations', headers: t.auth, payload: SHORT });
    expect(submit.statusCode).toBe(503);
    const ready = await t.app.server.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json().checks.database).toMatch(/unavailable/);

    await server.resume();
    await expect.poll(async () => (await t.app.server.inject({ url: '/readyz' })).statusCode, { timeout: 20_000 }).toBe(200);
    const again = await t.app.server.inject({ method: 'GET', url: `/v1/tasks/${before}`, headers: t.auth });
    expect(again.json().data, again.body).toMatchObject({ status: 'completed' });
    // The queue and the change feed are back too: a new task runs to the end.
    const after = await t.submit(SHORT);
    expect(await t.settled(after)).toMatchObject({ status: 'completed' });
  }, 90_000);
});
