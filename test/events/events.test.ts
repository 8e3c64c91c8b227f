import { afterEach, describe, expect, it, vi } from 'vitest';
import { startTestApp, TEST_KEY, type TestApp } from '../helpers/test-app.js';
import { openEvents, type SseConnection, type SseEvent } from './sse-client.js';

/** Long enough that the encoder reports progress a few times on the way. */
const TASK = { model: 'doubao-seedance-2.0', prompt: 'a paper boat on a pond', resolution: '720p', duration: 8, seed: 5 };
const SHORT = { model: 'doubao-seedance-2.0', prompt: 'a quick test', resolution: '480p', duration: 4, seed: 1 };
/** Several encoder progress reports however fast the machine: a few seconds of 1080p. */
const LONG = { ...TASK, resolution: '1080p', duration: 12 };

const apps: TestApp[] = [];
const streams: SseConnection[] = [];
afterEach(async () => {
  for (const s of streams.splice(0)) s.close();
  for (const a of apps.splice(0).reverse()) await a.close();
});

async function listening(env: Record<string, string> = {}, opts: Parameters<typeof startTestApp>[1] = {}) {
  const t = await startTestApp(env, opts);
  apps.push(t);
  await t.app.server.listen({ host: '127.0.0.1', port: 0 });
  const { port } = t.app.server.server.address() as { port: number };
  return { ...t, base: `http://127.0.0.1:${port}` };
}

async function watch(base: string, id: string, headers: Record<string, string> = {}) {
  const conn = await openEvents(`${base}/v1/tasks/${id}/events`, { authorization: `Bearer ${TEST_KEY}`, ...headers });
  streams.push(conn);
  return conn;
}

function expectMonotonic(events: SseEvent[]) {
  for (let i = 1; i < events.length; i++) {
    expect(events[i]!.id).toBeGreaterThan(events[i - 1]!.id);
    expect(events[i]!.data.data.progress).toBeGreaterThanOrEqual(events[i - 1]!.data.data.progress);
  }
}

describe('GET /v1/tasks/{id}/events', () => {
  it('streams the task from submit to completed with monotonic progress, and ends after the terminal event', async () => {
    const t = await listening();
    const id = await t.submit(LONG);
    const conn = await watch(t.base, id);
    expect(conn.status).toBe(200);
    expect(conn.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(conn.headers['cache-control']).toContain('no-cache');
    await conn.ended;

    const events = conn.events;
    expect(events[0]!.event).toBe('status');
    expect(['pending', 'processing']).toContain(events[0]!.data.data.status);
    expectMonotonic(events);
    const last = events.at(-1)!;
    expect(last).toMatchObject({ event: 'status', id: 3100, data: { code: 200, data: { id, status: 'completed', progress: 100 } } });
    // Progress the encoder reported on the way, each with its own event.
    const between = events.filter((e) => e.data.data.status === 'processing' && e.data.data.progress > 0);
    expect(between.length).toBeGreaterThan(1);
    expect(between.every((e) => e.event === 'progress' && e.id === 2000 + e.data.data.progress)).toBe(true);
    // The terminal event is exactly the status route's answer.
    const status = await fetch(`${t.base}/v1/tasks/${id}`, { headers: t.auth });
    expect(last.data).toEqual(await status.json());
  });

  it('resumes after Last-Event-ID with only newer states, and answers 204 once nothing newer can come', async () => {
    const t = await listening();
    const id = await t.submit(TASK);
    const first = await watch(t.base, id);
    const seen = await first.next((e) => e.data.data.status === 'processing' && e.data.data.progress > 0);
    first.close();

    const resumed = await watch(t.base, id, { 'last-event-id': String(seen.id) });
    await resumed.ended;
    expect(resumed.events.length).toBeGreaterThan(0);
    expect(resumed.events.every((e) => e.id > seen.id)).toBe(true);
    expectMonotonic(resumed.events);
    expect(resumed.events.at(-1)!.data.data.status).toBe('completed');

    const again = await watch(t.base, id, { 'last-event-id': '3100' });
    expect(again.status).toBe(204);
    // An older id gets the final state once, then the end.
    const late = await watch(t.base, id, { 'last-event-id': String(seen.id) });
    await late.ended;
    expect(late.events.map((e) => e.id)).toEqual([3100]);
    // The query parameter works as the header does, for clients that cannot set headers.
    const byQuery = await openEvents(`${t.base}/v1/tasks/${id}/events?last_event_id=3100`, { authorization: `Bearer ${TEST_KEY}` });
    expect(byQuery.status).toBe(204);
  });

  it('sees changes made by another instance on the same database', async () => {
    const worker = await listening({ VIDGATE_EVENTS_POLL_MS: '100' });
    const watcher = await listening({ VIDGATE_EVENTS_POLL_MS: '100' }, { runDispatcher: false, dataDir: worker.dataDir });
    const id = await worker.submit(TASK);
    const conn = await watch(watcher.base, id);
    await conn.ended;
    expect(watcher.app.dispatcher.activeCount).toBe(0);
    expect(conn.events.at(-1)!.data.data).toMatchObject({ id, status: 'completed', progress: 100 });
    expect(conn.events.some((e) => e.data.data.status === 'processing')).toBe(true);
    expectMonotonic(conn.events);
  });

  it('ends with the cancelled state when the task is cancelled', async () => {
    const t = await listening({}, { runDispatcher: false });
    const id = await t.submit(SHORT);
    const conn = await watch(t.base, id);
    await conn.next();
    const res = await fetch(`${t.base}/v1/tasks/${id}/cancel`, { method: 'POST', headers: t.auth });
    expect(res.status).toBe(200);
    await conn.ended;
    expect(conn.events.map((e) => [e.id, e.event, e.data.data.status])).toEqual([
      [1000, 'status', 'pending'],
      [3000, 'status', 'cancelled'],
    ]);
  });

  it('keeps idle streams open with heartbeat comments, and frees everything when the client goes', async () => {
    const t = await listening({ VIDGATE_EVENTS_HEARTBEAT_MS: '100' }, { runDispatcher: false });
    const id = await t.submit(SHORT);
    const conns = await Promise.all([1, 2, 3].map(() => watch(t.base, id)));
    await Promise.all(conns.map((c) => c.nextComment()));
    expect(conns.every((c) => c.comments.includes('keep-alive'))).toBe(true);
    expect(t.app.notifications.events.watchers).toBe(3);
    for (const c of conns) c.close();
    await vi.waitFor(() => expect(t.app.notifications.events.watchers).toBe(0), { interval: 10 });
  });

  it("answers another account's task like a missing one, and needs a key", async () => {
    const t = await listening({ VIDGATE_ADMIN_TOKEN: 'admin-secret' }, { runDispatcher: false });
    const id = await t.submit(SHORT);
    const admin = { authorization: 'Bearer admin-secret', 'content-type': 'application/json' };
    const account = await (await fetch(`${t.base}/admin/v1/accounts`, { method: 'POST', headers: admin, body: JSON.stringify({ name: 'other' }) })).json();
    const key = await (
      await fetch(`${t.base}/admin/v1/accounts/${account.data.id}/keys`, { method: 'POST', headers: admin, body: JSON.stringify({ name: 'k' }) })
    ).json();
    const other = await fetch(`${t.base}/v1/tasks/${id}/events`, { headers: { authorization: `Bearer ${key.api_key}` } });
    expect(other.status).toBe(404);
    expect((await other.json()).error).toMatchObject({ code: 404, type: 'not_found_error' });
    const missing = await fetch(`${t.base}/v1/tasks/task_01KMCGF6BQGN3X28H3KSR50X5T/events`, { headers: t.auth });
    expect(missing.status).toBe(404);
    expect((await fetch(`${t.base}/v1/tasks/${id}/events`)).status).toBe(401);
  });

  it('ends open streams on shutdown without holding the server open', async () => {
    const t = await listening({}, { runDispatcher: false });
    const id = await t.submit(SHORT);
    const conn = await watch(t.base, id);
    await conn.next();
    const closing = t.app.close();
    await conn.ended;
    await closing;
    apps.splice(apps.indexOf(t), 1);
    await t.close().catch(() => undefined);
  });
});
