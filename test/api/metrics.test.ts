import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ VIDGATE_LOCAL_CONCURRENCY: '1' });
});
afterAll(() => t.close());

const scrape = async () => (await t.app.server.inject({ method: 'GET', url: '/metrics' })).body;

describe('GET /metrics', () => {
  it('counts requests by route pattern and task runs by outcome, in Prometheus text format', async () => {
    const done = await t.submit({ model: 'doubao-seedance-2.0', prompt: 'metrics', resolution: '480p', duration: 4 });
    const failed = await t.submit({ model: 'doubao-seedance-2.0', prompt: 'x', image_urls: ['http://10.0.0.1/a.jpg'] });
    await Promise.all([t.settled(done), t.settled(failed)]);
    await t.app.server.inject({ method: 'GET', url: `/v1/tasks/${done}`, headers: t.auth });
    await t.app.server.inject({ method: 'GET', url: '/v1/tasks/task_01KMCGF6BQGN3X28H3KSR50X5T', headers: t.auth });

    const res = await t.app.server.inject({ method: 'GET', url: '/metrics' });
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = res.body;
    expect(text).toMatch(/vidgate_http_requests_total\{method="POST",route="\/v1\/videos\/generations",status="200"\} 2/);
    expect(text).toMatch(/vidgate_http_requests_total\{method="GET",route="\/v1\/tasks\/:task_id",status="200"\} 1/);
    expect(text).toMatch(/vidgate_http_requests_total\{method="GET",route="\/v1\/tasks\/:task_id",status="404"\} 1/);
    expect(text).toMatch(/vidgate_task_runs_total\{provider="local",outcome="completed"\} 1/);
    expect(text).toMatch(/vidgate_task_runs_total\{provider="local",outcome="failed"\} 1/);
    expect(text).toMatch(/vidgate_process_resident_memory_bytes \d+/);
    // Ids never become labels.
    expect(text).not.toContain(done);
  });

  it('reports the queue by channel and status', async () => {
    await t.app.dispatcher.stop(0);
    await t.submit({ model: 'doubao-seedance-2.0', prompt: 'queued', resolution: '480p', duration: 4 });
    expect(await scrape()).toMatch(/vidgate_tasks_unfinished\{provider="local",status="pending"\} 1/);
  });
});
