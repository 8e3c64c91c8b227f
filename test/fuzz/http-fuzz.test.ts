import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, TEST_KEY, type TestApp } from '../helpers/test-app.js';
import { rawRequest } from '../helpers/raw-client.js';

/**
 * Generated inputs against a real server: whatever a client sends, the answer is a success or an
 * error in the envelope, never a 5xx, and the server keeps serving. The dispatcher stays off, so
 * accepted submits cost nothing but a row.
 */
let t: TestApp;
let port: number;
beforeAll(async () => {
  t = await startTestApp({ VIDGATE_DEFAULT_IN_FLIGHT: '1000000' }, { runDispatcher: false });
  await t.app.server.listen({ host: '127.0.0.1', port: 0 });
  port = (t.app.server.server.address() as AddressInfo).port;
});
afterAll(() => t.close());

const RUNS = Number(process.env.FUZZ_RUNS ?? 150);

function assertAnswer(status: number, body: string): void {
  expect(status, body).toBeLessThan(500);
  if (status < 400) return;
  const parsed = JSON.parse(body) as { error: Record<string, unknown> };
  expect(Object.keys(parsed)).toEqual(['error']);
  expect(parsed.error.code).toBe(status);
  expect(typeof parsed.error.message).toBe('string');
  expect(typeof parsed.error.type).toBe('string');
}

async function stillServing(): Promise<void> {
  const res = await t.app.server.inject({ method: 'GET', url: '/healthz' });
  expect(res.statusCode).toBe(200);
}

const URL_LIKE = fc.oneof(
  fc.webUrl(),
  fc.constantFrom('asset://asset_x', 'asset://', 'ftp://x/y.png', 'http://', 'javascript:alert(1)', 'http://127.0.0.1/a.png', ''),
  fc.string({ maxLength: 40 }),
);
/** A value of any JSON type, biased towards the shapes the submit rules expect. */
const ANY = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant(null), fc.integer(), fc.double(), fc.boolean(), fc.string({ unit: 'binary', maxLength: 30 }));
const SUBMIT_FIELDS = {
  model: fc.oneof(
    fc.constantFrom(
      'doubao-seedance-2.0',
      'doubao-seedance-2.0-fast',
      'doubao-seedance-2.0-face',
      'doubao-seedance-2.0-fast-face',
      'doubao-seedance-2.0-mini',
      'seedance-2.0',
      'gpt-4',
    ),
    ANY,
  ),
  prompt: fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), fc.string({ minLength: 3990, maxLength: 4010 }), ANY),
  duration: fc.oneof(fc.integer({ min: -2, max: 20 }), fc.double(), ANY),
  size: fc.oneof(fc.constantFrom('16:9', '9:16', '1:1', '4:3', '3:4', '21:9', 'adaptive', '2:1'), ANY),
  resolution: fc.oneof(fc.constantFrom('480p', '720p', '1080p', '4k', '8k'), ANY),
  seed: fc.oneof(fc.integer({ min: -3, max: 2 }), fc.constantFrom(4294967295, 4294967296, -1, 2 ** 53), ANY),
  generate_audio: fc.oneof(fc.boolean(), ANY),
  return_last_frame: fc.oneof(fc.boolean(), ANY),
  tools: fc.oneof(fc.constant([{ type: 'web_search' }]), fc.array(ANY, { maxLength: 3 }), ANY),
  image_urls: fc.oneof(fc.array(URL_LIKE, { maxLength: 11 }), ANY),
  image_with_roles: fc.oneof(
    fc.array(fc.record({ url: URL_LIKE, role: fc.oneof(fc.constantFrom('first_frame', 'last_frame', 'reference_image'), ANY) }, { requiredKeys: [] }), {
      maxLength: 11,
    }),
    ANY,
  ),
  video_urls: fc.oneof(fc.array(URL_LIKE, { maxLength: 5 }), ANY),
  audio_urls: fc.oneof(fc.array(URL_LIKE, { maxLength: 5 }), ANY),
  callback_url: fc.oneof(URL_LIKE, ANY),
};
const SUBMIT_BODY = fc.oneof(
  { weight: 8, arbitrary: fc.record(SUBMIT_FIELDS, { requiredKeys: [] }) },
  { weight: 1, arbitrary: fc.jsonValue() },
  { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 12 }), ANY, { maxKeys: 8 }) },
);

describe('fuzz: generated requests never get a 5xx or an answer outside the envelope', () => {
  it('submit bodies', async () => {
    await fc.assert(
      fc.asyncProperty(SUBMIT_BODY, fc.option(fc.string({ maxLength: 80 }), { nil: undefined }), async (body, idempotencyKey) => {
        const res = await t.app.server.inject({
          method: 'POST',
          url: '/v1/videos/generations',
          headers: {
            ...t.auth,
            'content-type': 'application/json',
            ...(idempotencyKey !== undefined ? { 'idempotency-key': idempotencyKey.replace(/[^\x21-\x7e]/g, 'x') } : {}),
          },
          payload: JSON.stringify(body),
        });
        assertAnswer(res.statusCode, res.body);
        if (res.statusCode === 200) expect(res.json().data[0].task_id).toMatch(/^task_[0-9A-HJKMNP-TV-Z]{26}$/);
      }),
      { numRuns: RUNS * 2 },
    );
    await stillServing();
  });

  it('bodies that are not JSON, with any content type', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 300 }),
          fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('latin1')),
        ),
        fc.constantFrom(
          'application/json',
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          'application/json; charset=utf-16',
          '',
        ),
        fc.constantFrom('/v1/videos/generations', '/v1/seedance2/private-avatar', '/v1/uploads/images', '/v1/tasks/task_01KMCGF6BQGN3X28H3KSR50X5T/cancel'),
        async (payload, contentType, url) => {
          const res = await t.app.server.inject({
            method: 'POST',
            url,
            headers: { ...t.auth, ...(contentType ? { 'content-type': contentType } : {}) },
            payload,
          });
          assertAnswer(res.statusCode, res.body);
        },
      ),
      { numRuns: RUNS },
    );
    await stillServing();
  });

  it('paths, query strings and headers', async () => {
    const segment = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 20 }).map(encodeURIComponent),
      fc.constantFrom('%', '%ff', '%zz', '..', '%2e%2e', '%00', `task_${'A'.repeat(300)}`),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'DELETE', 'PUT', 'PATCH', 'HEAD', 'OPTIONS'),
        fc.constantFrom(
          '/v1/tasks/',
          '/v1/tasks',
          '/v1/models',
          '/v1/balance',
          '/v1/assets/',
          '/files/',
          '/uploads/',
          '/admin/v1/accounts/',
          '/v1/model-docs',
          '/',
        ),
        fc.array(segment, { maxLength: 3 }),
        fc.dictionary(
          fc.constantFrom('limit', 'after', 'status', 'model', 'language', 'variant', 'expires', 'signature'),
          fc.string({ unit: 'binary', maxLength: 30 }),
          { maxKeys: 4 },
        ),
        fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/), fc.string({ unit: 'grapheme-ascii', maxLength: 100 }), { maxKeys: 6 }),
        fc.boolean(),
        async (method, base, segments, query, headers, authed) => {
          const qs = new URLSearchParams(query).toString();
          const url = `${base}${segments.join('/')}${qs ? `?${qs}` : ''}`;
          const res = await t.app.server.inject({ method: method as 'GET', url, headers: { ...headers, ...(authed ? t.auth : {}) } });
          if (method !== 'HEAD') assertAnswer(res.statusCode, res.body);
          else expect(res.statusCode).toBeLessThan(500);
        },
      ),
      { numRuns: RUNS * 2 },
    );
    await stillServing();
  });

  it('raw HTTP bytes on a real socket', async () => {
    // Mostly well-formed, so that requests get past the parser and reach routes, hooks and parsers.
    const mostly = <T>(usual: fc.Arbitrary<T>, odd: fc.Arbitrary<T>) => fc.oneof({ weight: 4, arbitrary: usual }, { weight: 1, arbitrary: odd });
    const line = mostly(
      fc.constantFrom(
        'Content-Length: 5',
        'Content-Length: 0',
        'Transfer-Encoding: chunked',
        'Expect: 100-continue',
        'Connection: close',
        'Connection: upgrade',
        'Upgrade: websocket',
        `Authorization: Bearer ${TEST_KEY}`,
        'Authorization: Bearer',
        'Content-Type: application/json',
        'Content-Type: multipart/form-data; boundary=zz',
        'Accept-Encoding: gzip',
        'Range: bytes=0-',
        'If-None-Match: *',
      ),
      fc.oneof(
        fc.string({ unit: 'binary-ascii', maxLength: 60 }),
        fc.constantFrom('Content-Length: -1', 'Content-Length: 99999999999', 'Transfer-Encoding: gzip, chunked', 'Host:', 'X: \u0000'),
      ),
    );
    await fc.assert(
      fc.asyncProperty(
        mostly(fc.constantFrom('GET', 'POST', 'DELETE', 'PUT', 'HEAD', 'OPTIONS'), fc.constantFrom('PRI', 'G\u0000T', 'CONNECT', '', 'get')),
        mostly(
          fc.constantFrom(
            '/v1/models',
            '/v1/videos/generations',
            '/v1/tasks',
            '/v1/tasks/task_01KMCGF6BQGN3X28H3KSR50X5T/events',
            '/v1/uploads/images',
            '/healthz',
            '/files/x/y.mp4?expires=1&signature=x',
            '/admin/v1/accounts',
          ),
          fc.oneof(fc.constantFrom('*', '/%ff', 'http://x/v1/models', ''), fc.string({ unit: 'binary-ascii', maxLength: 30 })),
        ),
        mostly(fc.constant('HTTP/1.1'), fc.constantFrom('HTTP/1.0', 'HTTP/2.0', 'HTTP/1.1 ', '')),
        fc.array(line, { maxLength: 6 }),
        mostly(fc.constant('\r\n'), fc.constantFrom('\n', '\r')),
        mostly(
          fc.constantFrom('', '{}', '{"model":"doubao-seedance-2.0","prompt":"x"}', '5\r\nhello\r\n0\r\n\r\n', '--zz\r\n'),
          fc.string({ unit: 'binary-ascii', maxLength: 40 }),
        ),
        async (method, target, version, headers, eol, body) => {
          const bytes = `${method} ${target} ${version}${eol}Host: x${eol}${headers.join(eol)}${eol}${eol}${body}`;
          const answer = await rawRequest(port, bytes).catch((err: Error) => ({ status: 0, body: '', error: err.message }));
          // Some byte soup is not a request at all; then closing the connection is the answer.
          if (answer.status === 0) return;
          if (method === 'HEAD') expect(answer.status).toBeLessThan(500);
          else assertAnswer(answer.status, answer.body);
        },
      ),
      { numRuns: RUNS },
    );
    await stillServing();
    const res = await rawRequest(port, `GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TEST_KEY}\r\nConnection: close\r\n\r\n`);
    expect(res.status).toBe(200);
  });
});
