import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { halfClosedClientErrors, serveHalfClosed } from '../../src/api/half-closed.js';

/**
 * The half-close handling on a bare Node server, with a bound short enough to pass in a test:
 * what the real server (10 s) would do only after a long wait.
 */
const GRACE_MS = 100;

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  if (server?.listening) await new Promise((resolve) => server!.close(resolve));
  server = undefined;
});

async function serve(handler: RequestListener): Promise<number> {
  server = createServer(handler);
  serveHalfClosed(server, GRACE_MS);
  server.on(
    'clientError',
    halfClosedClientErrors((_err, socket) => socket.destroy()),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/** Writes `bytes`, shuts the sending side, reads until the server closes; `ms` is when it closed. */
async function halfClose(port: number, bytes: string): Promise<{ text: string; ms: number }> {
  const started = Date.now();
  const socket: Socket = connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  socket.on('data', (chunk) => chunks.push(chunk));
  socket.on('error', () => {});
  socket.end(bytes);
  await once(socket, 'close');
  return { text: Buffer.concat(chunks).toString('latin1'), ms: Date.now() - started };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString()));
    req.on('error', reject);
  });
}

const POST_SHORT = 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n{}';

describe('half-closed connections (src/api/half-closed.ts)', () => {
  it('a body reader that attaches only after the client shut its side still gets the refusal, not a wait', async () => {
    const port = await serve((req, res) => {
      // As a route behind an async hook would: the reader comes after the FIN was seen.
      req.socket.once('end', () =>
        setImmediate(() =>
          readBody(req).then(
            () => res.end('read it all?'),
            (err: Error) => res.writeHead(400, { connection: 'close' }).end(err.message),
          ),
        ),
      );
    });
    const { text, ms } = await halfClose(port, POST_SHORT);
    expect(text).toMatch(/^HTTP\/1\.1 400 /);
    expect(text).toContain('the request body ended before its Content-Length of 5 bytes');
    expect(ms).toBeLessThan(GRACE_MS);
  });

  it('the same for a request with Connection: upgrade and Upgrade:, whose cut Node does not report at all', async () => {
    const port = await serve((req, res) => {
      readBody(req).then(
        () => res.end('read it all?'),
        (err: Error) => res.writeHead(400, { connection: 'close' }).end(err.message),
      );
    });
    const { text, ms } = await halfClose(
      port,
      'POST / HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: websocket\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n',
    );
    expect(text).toMatch(/^HTTP\/1\.1 400 /);
    expect(text).toContain('the request body ended before its final chunk');
    expect(ms).toBeLessThan(GRACE_MS);
  });

  it('an answer that has begun when the bound passes (an event stream) is left to finish', async () => {
    const port = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: first\n\n');
      setTimeout(() => res.end('data: last\n\n'), GRACE_MS * 3);
    });
    const { text, ms } = await halfClose(port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(text).toContain('data: first');
    expect(text).toContain('data: last');
    expect(ms).toBeGreaterThanOrEqual(GRACE_MS * 3 - 10);
  });

  it('an answer that has not begun when the bound passes is given up: the connection closes', async () => {
    const port = await serve(() => {});
    const { text, ms } = await halfClose(port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(text).toBe('');
    expect(ms).toBeGreaterThanOrEqual(GRACE_MS - 10);
  });
});
