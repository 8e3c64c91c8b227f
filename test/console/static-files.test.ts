import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';

/** How vidgate serves a built console: what a browser and a cache in front of it see. */
describe('console files', () => {
  let dir: string;
  let t: TestApp;
  const script = 'console.log("console")';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vidgate-console-'));
    await mkdir(join(dir, 'static'));
    await writeFile(join(dir, 'index.html'), '<!doctype html><script type="module" src="/static/index-abc123.js"></script>');
    await writeFile(join(dir, 'static', 'index-abc123.js'), script);
    t = await startTestApp({ VIDGATE_CONSOLE_DIR: dir }, { runDispatcher: false });
  });
  afterAll(async () => {
    await t.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves index.html at / under a strict content security policy, revalidated on every visit', async () => {
    const res = await t.app.server.inject({ method: 'GET', url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.headers['content-security-policy']).toMatch(/script-src 'self'(;|$)/);
    expect(res.headers['content-security-policy']).toMatch(/connect-src 'self'/);
    expect(res.headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
    expect(res.body).toContain('/static/index-abc123.js');
    const again = await t.app.server.inject({ method: 'GET', url: '/', headers: { 'if-none-match': String(res.headers.etag) } });
    expect(again.statusCode).toBe(304);
  });

  it('serves hashed files under /static/ as immutable for a year', async () => {
    const res = await t.app.server.inject({ method: 'GET', url: '/static/index-abc123.js' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe(script);
    expect(res.headers['content-type']).toMatch(/javascript/);
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });

  it('answers a missing file or a path escape in the error envelope', async () => {
    for (const url of ['/static/nope.js', '/static/../index.html', '/static/%2e%2e/index.html']) {
      const res = await t.app.server.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(404);
      expect(res.json().error, url).toMatchObject({ code: 404, type: 'not_found_error' });
    }
  });

  it('says how to build the console when it is not built, and the API keeps working', async () => {
    const bare = await startTestApp({ VIDGATE_CONSOLE_DIR: join(dir, 'missing') }, { runDispatcher: false });
    try {
      const res = await bare.app.server.inject({ method: 'GET', url: '/' });
      expect(res.statusCode).toBe(503);
      expect(res.body).toContain('npm run build');
      expect((await bare.app.server.inject({ method: 'GET', url: '/v1/models', headers: bare.auth })).statusCode).toBe(200);
    } finally {
      await bare.close();
    }
  });
});
