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

/**
 * A client that sends its request and shuts its sending side (`nc -N`) can still read: a request
 * that shutdown cut short can never complete, so it is answered at once instead of waiting for the
 * server's 10 s bound on half-closed connections (or the request timeout).
 */
describe('a request cut short by the client shutting its side (half-close) is answered at once', () => {
  const PROMPTLY_MS = 1_000;
  const UPGRADE = 'Connection: upgrade\r\nUpgrade: websocket\r\n';

  /** Every answer on the connection, read until the server closes it, which must come promptly. */
  async function halfClosed(bytes: string): Promise<RawAnswer[]> {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', () => {});
    socket.end(bytes);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer and close within ${PROMPTLY_MS} ms`)), PROMPTLY_MS);
    });
    try {
      await Promise.race([once(socket, 'close'), late]);
    } finally {
      clearTimeout(timer);
      socket.destroy();
    }
    return splitAnswers(Buffer.concat(chunks).toString('latin1'));
  }

  function splitAnswers(text: string): RawAnswer[] {
    const answers: RawAnswer[] = [];
    while (text.length > 0) {
      const split = text.indexOf('\r\n\r\n');
      expect(split, text).toBeGreaterThan(0);
      const [statusLine, ...lines] = text.slice(0, split).split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) headers[line.slice(0, line.indexOf(':')).trim().toLowerCase()] = line.slice(line.indexOf(':') + 1).trim();
      const length = Number(headers['content-length'] ?? 0);
      answers.push({ status: Number(statusLine!.split(' ')[1]), headers, body: text.slice(split + 4, split + 4 + length), closed: false });
      text = text.slice(split + 4 + length);
    }
    return answers;
  }

  const CUT_BODY = /the request body ended before its Content-Length of 5 bytes/;
  const CUT_CHUNKS = /the request body ended before its final chunk/;
  const cut: Array<[string, string, RegExp]> = [
    [
      'Content-Length larger than the body sent',
      `POST /v1/videos/generations HTTP/1.1\r\nHost: x\r\n${AUTH}Content-Type: application/json\r\nContent-Length: 5\r\n\r\n{}`,
      CUT_BODY,
    ],
    [
      'a chunked body without its final 0-chunk',
      `POST /v1/videos/generations HTTP/1.1\r\nHost: x\r\n${AUTH}Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n`,
      CUT_CHUNKS,
    ],
    // These two waited the full 10 s: with the upgrade headers Node does not report the cut at all.
    [
      'Content-Length and no body, with Connection: upgrade and Upgrade',
      `DELETE /v1/tasks HTTP/1.1\r\nHost: x\r\n${UPGRADE}Content-Length: 5\r\n\r\n`,
      CUT_BODY,
    ],
    [
      'a chunked body without its final 0-chunk, with Connection: upgrade and Upgrade',
      `POST /v1/videos/generations HTTP/1.1\r\nHost: x\r\n${AUTH}${UPGRADE}Transfer-Encoding: chunked\r\n\r\n`,
      CUT_CHUNKS,
    ],
    [
      'a multipart upload cut short, with Connection: upgrade and Upgrade',
      `POST /v1/uploads/images HTTP/1.1\r\nHost: x\r\n${AUTH}${UPGRADE}Content-Type: multipart/form-data; boundary=zz\r\nContent-Length: 5\r\n\r\n--z`,
      CUT_BODY,
    ],
    [
      'a multipart upload cut short',
      `POST /v1/uploads/images HTTP/1.1\r\nHost: x\r\n${AUTH}Content-Type: multipart/form-data; boundary=zz\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n--zz\r\n\r\n`,
      CUT_CHUNKS,
    ],
  ];
  for (const [what, bytes, message] of cut) {
    it(`${what}: 400 in the envelope, the connection closed`, async () => {
      const answers = await halfClosed(bytes);
      expect(answers).toHaveLength(1);
      expectEnvelope(answers[0]!, 400, message);
      expect(answers[0]!.headers.connection).toBe('close');
    });
  }

  it('Expect: 100-continue and then no body: 100 Continue, then the 400', async () => {
    const answers = await halfClosed(`POST /v1/videos/generations HTTP/1.1\r\nHost: x\r\n${AUTH}Expect: 100-continue\r\nContent-Length: 5\r\n\r\n`);
    expect(answers.map((a) => a.status)).toEqual([100, 400]);
    expectEnvelope(answers[1]!, 400, CUT_BODY);
  });

  it('headers cut short: 400 in the envelope', async () => {
    const answers = await halfClosed(`GET /v1/models HTTP/1.1\r\nHost: x\r\n${AUTH}`);
    expect(answers).toHaveLength(1);
    expectEnvelope(answers[0]!, 400, /the request ended before its headers were complete/);
  });

  it('complete requests before the cut one are answered first', async () => {
    const answers = await halfClosed(
      `GET /v1/models HTTP/1.1\r\nHost: x\r\n${AUTH}\r\n` +
        `POST /v1/videos/generations HTTP/1.1\r\nHost: x\r\n${AUTH}Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}` +
        `POST /v1/videos/generations HTTP/1.1\r\nHost: x\r\n${AUTH}${UPGRADE}Content-Length: 5\r\n\r\n`,
    );
    expect(answers.map((a) => a.status)).toEqual([200, 400, 400]);
    expect(JSON.parse(answers[0]!.body).data.length).toBeGreaterThan(0);
    expectEnvelope(answers[1]!, 400, /model/);
    expectEnvelope(answers[2]!, 400, CUT_BODY);
  });

  it('a complete submit followed by a fragment of headers: the submit is answered, then the 400', async () => {
    const body = JSON.stringify({ model: 'doubao-seedance-2.0', prompt: 'A kitten' });
    const answers = await halfClosed(
      `POST /v1/videos/generations HTTP/1.1\r\nHost: x\r\n${AUTH}Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}GET /v1/mod`,
    );
    expect(answers[0]!.status).toBe(200);
    expect(JSON.parse(answers[0]!.body).data[0].task_id).toMatch(/^task_/);
    // The fragment's own 400 follows unless the submit was still being answered when the FIN came.
    for (const fragment of answers.slice(1)) expectEnvelope(fragment, 400, /before its headers were complete/);
  });

  // The client can send nothing more but still reads, and the stream needs nothing from it: it runs
  // until the task ends, like any other, and is not cut at the bound (which only bounds the wait for
  // an answer to begin). A trailing fragment of a next request does not end it either.
  for (const [what, trailing] of [
    ['', ''],
    [', also with a fragment of a next request after it', 'GET /v1/mod'],
  ] as const) {
    it(`an event stream to a half-closed client runs until the task ends, then the connection closes${what}`, async () => {
      const id = await t.submit({ model: 'doubao-seedance-2.0', prompt: 'A kitten' });
      const socket = connect(port, '127.0.0.1');
      let text = '';
      socket.setEncoding('latin1');
      socket.on('data', (chunk: string) => {
        text += chunk;
      });
      socket.end(`GET /v1/tasks/${id}/events HTTP/1.1\r\nHost: x\r\n${AUTH}\r\n${trailing}`);
      const closed = once(socket, 'close');
      while (!text.includes('event: status')) await once(socket, 'data');
      expect(text).toMatch(/^HTTP\/1\.1 200 /);
      expect(socket.destroyed).toBe(false);
      const cancel = await t.app.server.inject({ method: 'POST', url: `/v1/tasks/${id}/cancel`, headers: t.auth });
      expect(cancel.statusCode).toBe(200);
      await closed;
      expect(text).toContain('"status":"cancelled"');
    });
  }
});
