import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, TEST_KEY, type TestApp } from '../helpers/test-app.js';
import { rawRequest, type RawAnswer } from '../helpers/raw-client.js';

let t: TestApp;
let port: number;
beforeAll(async () => {
  t = await startTestApp({ VIDGATE_REQUEST_TIMEOUT_SECONDS: '2', VIDGATE_HEADERS_TIMEOUT_SECONDS: '2' }, { runDispatcher: false });
  await t.app.server.listen({ host: '127.0.0.1', port: 0 });
  port = (t.app.server.server.address() as AddressInfo).port;
});
afterAll(() => t.close());

const AUTH = `Authorization: Bearer ${TEST_KEY}\r\n`;

function expectEnvelope(answer: RawAnswer, status: number, message: RegExp) {
  expect(answer.status).toBe(status);
  expect(answer.headers['content-type']).toMatch(/^application\/json/);
  const body = JSON.parse(answer.body);
  expect(Object.keys(body)).toEqual(['error']);
  expect(body.error).toMatchObject({ code: status, type: expect.any(String), message: expect.stringMatching(message) });
  expect(Object.keys(body.error).every((k) => ['code', 'message', 'type', 'param'].includes(k))).toBe(true);
  expect(body.error.type).toBe(status === 429 ? 'rate_limit_error' : status === 404 ? 'not_found_error' : 'invalid_request_error');
}

describe('answers Node or Fastify would give by themselves are in the envelope', () => {
  for (const path of ['/v1/tasks/%ff', '/v1/tasks/%', '/v1/tasks/%zz', '/v1/tasks/abc%c3']) {
    it(`GET ${path}: 400, a path that is not percent-encoded UTF-8`, async () => {
      const answer = await rawRequest(port, `GET ${path} HTTP/1.1\r\nHost: x\r\n${AUTH}Connection: close\r\n\r\n`);
      expectEnvelope(answer, 400, /not valid percent-encoded UTF-8/);
    });
  }

  it("a task id over 100 characters is a 400 naming the limit, also past the router's own limit", async () => {
    for (const length of [150, 5000]) {
      const answer = await rawRequest(port, `GET /v1/tasks/task_${'A'.repeat(length)} HTTP/1.1\r\nHost: x\r\n${AUTH}Connection: close\r\n\r\n`);
      expectEnvelope(answer, 400, /task_id.*64 characters|longer than 200 characters/);
    }
  });

  it('headers over 16 KB: 431 in the envelope, connection closed', async () => {
    const answer = await rawRequest(port, `GET /v1/models HTTP/1.1\r\nHost: x\r\n${AUTH}X-Filler: ${'a'.repeat(20_000)}\r\n\r\n`);
    expectEnvelope(answer, 431, /headers are too large/);
    expect(answer.headers.connection).toBe('close');
  });

  const malformed: Array<[string, string]> = [
    ['two different Content-Lengths', `POST /v1/videos/generations HTTP/1.1\r\nHost: x\r\n${AUTH}Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}`],
    [
      'Content-Length with Transfer-Encoding',
      `POST /v1/videos/generations HTTP/1.1\r\nHost: x\r\n${AUTH}Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n`,
    ],
    ['lines ended by LF alone', `GET /v1/models HTTP/1.1\nHost: x\n${AUTH.trim()}\n\n`],
    ['a NUL in a header', `GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Evil: a\u0000b\r\n${AUTH}\r\n`],
    ['a header without a colon', `GET /v1/models HTTP/1.1\r\nHost: x\r\nnonsense\r\n\r\n`],
    ['an unknown HTTP version', `GET /v1/models HTTP/7.1\r\nHost: x\r\n\r\n`],
    ['a space in the header name', `GET /v1/models HTTP/1.1\r\nHost: x\r\nBad Name: 1\r\n\r\n`],
  ];
  for (const [what, bytes] of malformed) {
    it(`malformed HTTP (${what}): 400 in the envelope`, async () => {
      const answer = await rawRequest(port, bytes);
      expectEnvelope(answer, 400, /malformed HTTP request/);
    });
  }

  it('a body that trickles in past the request timeout: 408 in the envelope, the connection closed', async () => {
    const socket = connect(port, '127.0.0.1');
    const received: Buffer[] = [];
    socket.on('data', (chunk) => received.push(chunk));
    socket.write(`POST /v1/videos/generations HTTP/1.1\r\nHost: x\r\n${AUTH}Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{`);
    // One byte now and then keeps the socket busy, but the request never arrives in time.
    const drip = setInterval(() => socket.write(' '), 200);
    await once(socket, 'close');
    clearInterval(drip);
    const text = Buffer.concat(received).toString();
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)).error).toMatchObject({ code: 408, type: 'invalid_request_error' });
  });

  it('a refusal before the body is read closes the connection instead of reading a large body', async () => {
    const socket = connect(port, '127.0.0.1');
    const received: Buffer[] = [];
    socket.on('data', (chunk) => received.push(chunk));
    socket.on('error', () => {});
    socket.write(`POST /v1/videos/generations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 104857600\r\n\r\n`);
    let sent = 0;
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    // Keep sending as long as the server reads; it stops reading once it has refused.
    const pump = () => {
      while (!socket.destroyed && sent < 104_857_600 && socket.write(chunk)) sent += chunk.length;
      if (!socket.destroyed) sent += chunk.length;
    };
    socket.on('drain', pump);
    // events.once would reject on the EPIPE that a closed connection gives our writes.
    const closed = new Promise((resolve) => socket.on('close', resolve));
    pump();
    await closed;
    const text = Buffer.concat(received).toString();
    expect(text).toMatch(/^HTTP\/1\.1 401 /);
    expect(text.toLowerCase()).toContain('connection: close');
    expect(sent).toBeLessThan(50 * 1024 * 1024);
  });
});

describe('a JSON Content-Type with no body', () => {
  it('is accepted where no body is expected (cancel, DELETE)', async () => {
    const id = await t.submit({ model: 'doubao-seedance-2.0', prompt: 'A kitten' });
    const cancel = await rawRequest(
      port,
      `POST /v1/tasks/${id}/cancel HTTP/1.1\r\nHost: x\r\n${AUTH}Content-Type: application/json\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
    );
    expect(cancel.status).toBe(200);
    expect(JSON.parse(cancel.body).data).toMatchObject({ id, status: 'cancelled' });
    const gone = await rawRequest(
      port,
      `DELETE /v1/assets/asset_missing HTTP/1.1\r\nHost: x\r\n${AUTH}Content-Type: application/json\r\nConnection: close\r\n\r\n`,
    );
    expectEnvelope(gone, 404, /asset/i);
  });

  it('is a clear 400 where a body is needed', async () => {
    const answer = await rawRequest(
      port,
      `POST /v1/videos/generations HTTP/1.1\r\nHost: x\r\n${AUTH}Content-Type: application/json\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
    );
    expectEnvelope(answer, 400, /body/);
  });
});

describe('connection cap', () => {
  it('past VIDGATE_MAX_CONNECTIONS a new connection is closed at once, and served again once one is free', async () => {
    const capped = await startTestApp({ VIDGATE_MAX_CONNECTIONS: '2' }, { runDispatcher: false });
    try {
      await capped.app.server.listen({ host: '127.0.0.1', port: 0 });
      const cappedPort = (capped.app.server.server.address() as AddressInfo).port;
      const open = async () => {
        const socket = connect(cappedPort, '127.0.0.1');
        await once(socket, 'connect');
        return socket;
      };
      const held = [await open(), await open()];
      const third = await open();
      // The server drops it without reading a byte of it.
      await new Promise((resolve) => third.on('close', resolve).on('error', () => {}));
      held[0]!.destroy();
      // Until the server has seen that close too, it still counts two.
      const connections = () => new Promise<number>((resolve, reject) => capped.app.server.server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
      while ((await connections()) >= 2) await new Promise((resolve) => setImmediate(resolve));
      const answer = await rawRequest(cappedPort, `GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      expect(answer.status).toBe(200);
      held[1]!.destroy();
    } finally {
      await capped.close();
    }
  });
});
