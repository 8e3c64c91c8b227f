import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';

/**
 * The operator surface of README: API (OpenAPI document, docs UI, health and readiness) and what every
 * response carries (x-request-id, the error envelope for routes that do not exist), over real HTTP
 * on 127.0.0.1.
 */

let t: TestApp;
let base: string;

beforeAll(async () => {
  t = await startTestApp({}, { runDispatcher: false });
  await t.app.server.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(t.app.server.server.address() as AddressInfo).port}`;
});
afterAll(() => t?.close());

const get = (path: string, init: RequestInit = {}) => fetch(`${base}${path}`, init);

type Json = any;

/** Follows a local `#/…` JSON pointer. */
function pointer(doc: Json, ref: string): Json {
  if (!ref.startsWith('#/')) throw new Error(`not a local ref: ${ref}`);
  return ref
    .slice(2)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((node: Json, key) => (node === undefined || node === null ? undefined : node[key]), doc);
}

/** The schema itself, or what its $ref points at. */
const deref = (doc: Json, schema: Json): Json => (schema && typeof schema.$ref === 'string' ? deref(doc, pointer(doc, schema.$ref)) : schema);

function allRefs(node: Json, found: string[] = []): string[] {
  if (Array.isArray(node)) node.forEach((n) => allRefs(n, found));
  else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string') found.push(value);
      else allRefs(value, found);
    }
  }
  return found;
}

/** Enum values of a schema, looking through the anyOf/oneOf a nullable field becomes. */
function enumOf(doc: Json, schema: Json): unknown[] {
  const s = deref(doc, schema);
  if (!s) return [];
  return [...(s.enum ?? []), ...(s.const !== undefined ? [s.const] : []), ...[...(s.anyOf ?? []), ...(s.oneOf ?? [])].flatMap((m: Json) => enumOf(doc, m))];
}

/** The object/array member of a nullable field's anyOf, or the schema itself. */
function nonNull(doc: Json, schema: Json): Json {
  const s = deref(doc, schema);
  const members = [...(s?.anyOf ?? []), ...(s?.oneOf ?? [])].map((m: Json) => deref(doc, m)).filter((m: Json) => m.type !== 'null');
  return members.length === 1 ? members[0] : s;
}

describe('GET /openapi.json', () => {
  let doc: Json;
  beforeAll(async () => {
    const res = await get('/openapi.json');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    doc = await res.json();
  });

  it('is OpenAPI 3.1 with the public routes', () => {
    expect(doc.openapi).toMatch(/^3\.1\./);
    expect(doc.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
    expect(doc.paths['/v1/videos/generations']?.post).toBeDefined();
    expect(doc.paths['/v1/tasks/{task_id}']?.get).toBeDefined();
    expect(doc.paths['/v1/tasks']?.get).toBeDefined();
  });

  it('has no $ref that points nowhere', () => {
    const refs = [...new Set(allRefs(doc))];
    expect(refs.length).toBeGreaterThan(0);
    expect(refs.filter((ref) => pointer(doc, ref) === undefined)).toEqual([]);
  });

  it('documents the submit body: the seed fields, size with adaptive, image_with_roles with its roles', () => {
    const op = doc.paths['/v1/videos/generations'].post;
    expect(op.security).toEqual([{ bearer: [] }]);
    expect(doc.components?.securitySchemes?.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    const body = deref(doc, op.requestBody?.content?.['application/json']?.schema);
    expect(body, 'request body schema (after following $ref)').toBeDefined();
    expect(body.type).toBe('object');
    expect(body.required).toEqual(['model']);
    expect(Object.keys(body.properties).sort()).toEqual(
      [
        'model',
        'prompt',
        'duration',
        'size',
        'resolution',
        'seed',
        'generate_audio',
        'return_last_frame',
        'tools',
        'image_urls',
        'image_with_roles',
        'video_urls',
        'audio_urls',
        'callback_url',
      ].sort(),
    );
    expect(enumOf(doc, body.properties.size).sort()).toEqual(['16:9', '9:16', '1:1', '4:3', '3:4', '21:9', 'adaptive'].sort());
    const duration = nonNull(doc, body.properties.duration);
    expect(duration).toMatchObject({ type: 'integer', minimum: 4, maximum: 15 });
    const roles = nonNull(doc, body.properties.image_with_roles);
    expect(roles.type).toBe('array');
    expect(roles.maxItems).toBe(9);
    const item = deref(doc, roles.items);
    expect([...(item.required ?? [])].sort()).toEqual(['role', 'url']);
    expect(enumOf(doc, item.properties.role).sort()).toEqual(['first_frame', 'last_frame', 'reference_image']);
  });

  it('documents the task routes with their parameters and answers', () => {
    const one = doc.paths['/v1/tasks/{task_id}'].get;
    expect(one.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ in: 'path', name: 'task_id', required: true })]));
    // The route answers a video task or an asset-review task (README: Assets): find the video task's schema.
    const data = deref(doc, deref(doc, one.responses['200'].content['application/json'].schema).properties.data);
    const variants = (data.anyOf ?? data.oneOf ?? [data]).map((v: Json) => deref(doc, v));
    const task = variants.find((v: Json) => v.properties?.cost);
    expect(variants.some((v: Json) => v.properties?.object)).toBe(true);
    expect(Object.keys(task.properties)).toEqual(
      expect.arrayContaining(['id', 'status', 'progress', 'created', 'estimated_time', 'completed', 'actual_time', 'result', 'error', 'cost']),
    );
    expect(enumOf(doc, task.properties.status).sort()).toEqual(['cancelled', 'completed', 'failed', 'pending', 'processing']);

    const list = doc.paths['/v1/tasks'].get;
    const queryNames = list.parameters.filter((p: Json) => p.in === 'query').map((p: Json) => p.name);
    expect(queryNames).toEqual(expect.arrayContaining(['status', 'model', 'limit', 'after']));
  });

  it('is what the docs UI loads', async () => {
    const res = await get('/docs/json');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(doc);
  });
});

describe('GET /docs', () => {
  it('serves the HTML docs UI (after any redirect)', async () => {
    const res = await get('/docs', { redirect: 'follow' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toMatch(/<html/i);
    expect(html).toMatch(/swagger/i);
  });
});

describe('health', () => {
  it('GET /healthz is 200 without a key', async () => {
    const res = await get('/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('GET /readyz is 200 with the database checked, without a key', async () => {
    const res = await get('/readyz');
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.status).toBe('ready');
    expect(body.checks.database).toBe('ok');
    expect(body.checks.shutdown).toBe('no');
  });

  // Seen in-process only: once close() begins the server stops accepting connections, so a load
  // balancer sees refused connections over HTTP; inject shows what /readyz itself answers.
  it('GET /readyz is 503 once shutdown has begun', async () => {
    const own = await startTestApp({}, { runDispatcher: false });
    try {
      expect((await own.app.server.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
      const closing = own.app.close();
      const res = await own.app.server.inject({ method: 'GET', url: '/readyz' });
      await closing;
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ status: 'not_ready', checks: { shutdown: 'in progress', database: 'ok' } });
    } finally {
      await own.close();
    }
  });
});

/** Request ids vidgate makes itself are random UUIDs. */
const GENERATED_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('x-request-id', () => {
  it('is on every response: success, errors, docs, files', async () => {
    const answers = await Promise.all([
      get('/healthz'),
      get('/readyz'),
      get('/openapi.json'),
      get('/docs', { redirect: 'manual' }),
      get('/v1/tasks', { headers: t.auth }),
      get('/v1/tasks'), // 401
      get('/v1/tasks/task_01KMCGF6BQGN3X28H3KSR50X5T', { headers: t.auth }), // 404
      get('/v1/videos/generations', { method: 'POST', headers: { ...t.auth, 'content-type': 'application/json' }, body: '{"model":' }), // 400
      get('/files/task_x/token/video.mp4?expires=1&signature=nope'), // 403
      get('/no/such/route'), // 404
      get('/healthz', { method: 'DELETE' }), // wrong method
    ]);
    const statuses = answers.map((r) => r.status);
    expect(statuses).toEqual([200, 200, 200, expect.any(Number), 200, 401, 404, 400, 403, 404, expect.any(Number)]);
    for (const res of answers) {
      expect(res.headers.get('x-request-id'), `${res.url} ${res.status}`).toMatch(GENERATED_ID);
      await res.arrayBuffer();
    }
    expect(new Set(answers.map((r) => r.headers.get('x-request-id'))).size).toBe(answers.length);
  });

  it.each(['req-42', 'client.trace:0001_abc', 'a'.repeat(128), '01KMCGF6BQGN3X28H3KSR50X5T'])('echoes a sane one: %s', async (id) => {
    for (const path of ['/healthz', '/no/such/route']) {
      const res = await get(path, { headers: { 'x-request-id': id } });
      expect(res.headers.get('x-request-id')).toBe(id);
      await res.arrayBuffer();
    }
  });

  it.each([
    ['300 characters', 'a'.repeat(300)],
    ['129 characters', 'a'.repeat(129)],
    ['a space', 'abc def'],
    ['a tab', 'abc\tdef'],
    ['markup', '<script>alert(1)</script>'],
    ['quotes and semicolons', 'a";b'],
    ['an empty value', ''],
  ])('replaces one with %s by its own', async (_what, id) => {
    const res = await get('/healthz', { headers: { 'x-request-id': id } });
    expect(res.status).toBe(200);
    const echoed = res.headers.get('x-request-id');
    expect(echoed).not.toBe(id);
    expect(echoed).toMatch(GENERATED_ID);
  });

  it('never echoes one with a line break (the HTTP parser refuses the request)', async () => {
    const port = (t.app.server.server.address() as AddressInfo).port;
    const response = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () =>
        socket.end('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-Id: abc\ninjected: yes\r\nConnection: close\r\n\r\n'),
      );
      let out = '';
      socket.setEncoding('latin1');
      socket.on('data', (d: string) => (out += d));
      socket.on('end', () => resolve(out));
      socket.on('error', reject);
    });
    expect(response).toMatch(/^HTTP\/1\.1 400 /);
    expect(response.toLowerCase()).not.toContain('injected');
    expect(response).not.toMatch(/x-request-id: abc/i);
  });
});

describe('routes that do not exist', () => {
  it('an unknown path is a 404 envelope of type not_found_error', async () => {
    const res = await get('/v2/videos/generations', { headers: t.auth });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({
      error: { code: 404, type: 'not_found_error', message: expect.stringContaining('/v2/videos/generations') },
    });
  });

  it('does not need a key to say so, nor leak the query string', async () => {
    const res = await get('/nothing/here?token=secret');
    expect(res.status).toBe(404);
    const { error } = await res.json();
    expect(error.type).toBe('not_found_error');
    expect(error.message).not.toContain('secret');
  });

  it.each([
    ['GET', '/v1/videos/generations'],
    ['DELETE', '/v1/videos/generations'],
    ['PUT', '/v1/tasks'],
    ['POST', '/healthz'],
    ['PATCH', '/v1/tasks/task_01KMCGF6BQGN3X28H3KSR50X5T'],
  ])('a wrong method (%s %s) is an envelope whose code is the HTTP status', async (method, path) => {
    const res = await get(path, { method, headers: { ...t.auth, 'content-type': 'application/json' }, ...(method === 'GET' ? {} : { body: '{}' }) });
    expect([404, 405]).toContain(res.status);
    const { error } = await res.json();
    expect(error).toMatchObject({ code: res.status, type: res.status === 404 ? 'not_found_error' : 'invalid_request_error' });
    expect(error.message).toContain(method);
  });
});
