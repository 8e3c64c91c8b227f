import { type IncomingMessage, type Server, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { ApiError } from './api-error.js';

/**
 * Clients that send their request and then shut their sending side (`nc -N`, raw sockets, some
 * proxies) while they still read the answer.
 *
 * Node keeps such a connection open for the answer only with `httpAllowHalfOpen`. What it does with
 * a request the FIN cuts short is then uneven: it destroys the connection without an answer (its
 * parser reports HPE_INVALID_EOF_STATE), or, when the request carried `Connection: upgrade` and
 * `Upgrade:`, it ignores the parser's error altogether (node_http_parser.cc reports no error while
 * llhttp's upgrade flag is set, and with no 'upgrade' listener the request is served as a plain
 * one), so the body reader waits for bytes that can no longer come. Here a body cut short is
 * refused with a 400 by whichever reader reads it, and a request whose headers were cut short gets
 * a 400 after whatever the complete requests before it are owed.
 */

/** The last request read on each connection, and its response. */
const latest = new WeakMap<Socket, { req: IncomingMessage; res: ServerResponse }>();

/**
 * `graceMs` bounds how long a half-closed connection may wait for its answer to begin; an answer
 * under way (an event stream, a large file) is left to finish, as it would be for an open client.
 */
export function serveHalfClosed(server: Server, graceMs: number): void {
  (server as Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
  server.on('request', (req: IncomingMessage, res: ServerResponse) => latest.set(req.socket, { req, res }));
  server.on('connection', (socket: Socket) => {
    // Ahead of Node's own 'end' handling, which may report the cut to 'clientError' at once.
    socket.prependOnceListener('end', () => {
      const last = latest.get(socket);
      if (last && !last.req.complete && !last.res.writableFinished && socket.writable) refuseRestOfBody(last.req);
      const limit = setTimeout(() => {
        if (!answerUnderWay(socket)) socket.destroy();
      }, graceMs).unref();
      socket.once('close', () => clearTimeout(limit));
    });
  });
}

type ClientErrorHandler = (this: unknown, err: NodeJS.ErrnoException, socket: Socket) => void;

/**
 * Wraps the server's 'clientError' handler for the one error a half-closed client causes by itself:
 * the connection ended mid-request (HPE_INVALID_EOF_STATE). Answers still owed on the connection are
 * written first and the connection closes after them; a request of which only part of the headers
 * came, with nothing else owed, gets a 400. Everything else goes to `handler`.
 */
export function halfClosedClientErrors(handler: ClientErrorHandler): ClientErrorHandler {
  return function (this: unknown, err, socket) {
    if (err.code !== 'HPE_INVALID_EOF_STATE' || !socket.writable) return handler.call(this, err, socket);
    const last = latest.get(socket);
    if (last && !last.res.writableFinished) {
      // The request cut short is refused by its body reader (refuseRestOfBody), or the requests
      // before a cut-short header are complete: their answers come first.
      closeAfter(last.res, socket);
      return;
    }
    if (last && !last.req.complete) return handler.call(this, err, socket);
    writeAndClose(socket, new ApiError(400, 'the request ended before its headers were complete: the client shut its side of the connection mid-request'));
  };
}

function refuseRestOfBody(req: IncomingMessage): void {
  const length = req.headers['content-length'];
  const error = new ApiError(
    400,
    length !== undefined && req.headers['transfer-encoding'] === undefined
      ? `the request body ended before its Content-Length of ${length} bytes: the client shut its side of the connection before sending all of it`
      : 'the request body ended before its final chunk: the client shut its side of the connection before sending all of it',
  );
  // Body readers (Fastify's parsers, multipart) take a stream error as the answer to send. One that
  // attaches later, after an async hook, gets it too instead of waiting for bytes that cannot come.
  const deliver = (listener: (err: Error) => void) =>
    process.nextTick(() => {
      if (req.listeners('error').includes(listener)) listener.call(req, error);
    });
  for (const listener of req.listeners('error')) deliver(listener as (err: Error) => void);
  req.on('newListener', (event, listener) => {
    if (event === 'error') deliver(listener);
  });
}

function answerUnderWay(socket: Socket): boolean {
  const res = latest.get(socket)?.res;
  return res?.headersSent === true && !res.writableFinished;
}

function closeAfter(res: ServerResponse, socket: Socket): void {
  res.once('finish', () => socket.end());
}

/** Written on the socket itself: no request exists to answer through. */
function writeAndClose(socket: Socket, error: ApiError): void {
  const body = JSON.stringify(error.toEnvelope());
  socket.end(
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status]}\r\n` +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}
