import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from './api-error.js';

/**
 * What Node's HTTP parser refuses before Fastify sees a request (headers too large, malformed
 * framing, a request that takes too long to arrive), answered in the envelope like everything
 * else. Node would write a bare status line; Fastify's default a body of its own shape.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException & { bytesParsed?: number }, socket: Socket): void {
  // Nothing can be answered on a connection that is gone or already carries a response.
  const busy = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent;
  // HPE_INVALID_EOF_STATE: the client closed its side mid-request; whatever it was owed was sent.
  if (err.code === 'ECONNRESET' || err.code === 'EPIPE' || err.code === 'HPE_INVALID_EOF_STATE' || !socket.writable || busy) {
    socket.destroy();
    return;
  }
  const error = describeClientError(err);
  const body = JSON.stringify(error.toEnvelope());
  socket.end(
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? 'Error'}\r\n` +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
  // A peer that never reads its answer must not keep the socket.
  socket.setTimeout(5_000, () => socket.destroy());
}

function describeClientError(err: NodeJS.ErrnoException): ApiError {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return new ApiError(431, 'request headers are too large: at most 16 KB of headers are accepted');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new ApiError(408, 'the request did not arrive in time: send the headers and body without long pauses');
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
      return new ApiError(400, 'malformed HTTP request: Content-Length together with Transfer-Encoding, or more than one Content-Length');
    case 'HPE_INVALID_TRANSFER_ENCODING':
      return new ApiError(400, 'malformed HTTP request: unsupported Transfer-Encoding (only chunked)');
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return new ApiError(400, 'malformed HTTP request: chunk extensions are too long');
    case 'HPE_INVALID_METHOD':
      return new ApiError(400, 'malformed HTTP request: unknown method');
    case 'HPE_INVALID_VERSION':
      return new ApiError(400, 'malformed HTTP request: unsupported HTTP version (HTTP/1.0 and HTTP/1.1 are accepted)');
  }
  return new ApiError(
    400,
    `malformed HTTP request${err.code?.startsWith('HPE_') ? ` (${err.code.slice(4).toLowerCase().replace(/_/g, ' ')})` : ''}: it does not follow HTTP/1.1`,
  );
}

/** Errors Fastify's router raises before any route runs: a path it cannot decode, a parameter too long. */
export function frameworkErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const path = request.raw.url?.split('?')[0] ?? '';
  const apiError =
    error.code === 'FST_ERR_BAD_URL'
      ? new ApiError(400, `the path ${JSON.stringify(path.slice(0, 200))} is not valid percent-encoded UTF-8`)
      : error.code === 'FST_ERR_MAX_PARAM_LENGTH'
        ? new ApiError(400, `a path segment is longer than ${MAX_PARAM_LENGTH} characters: no id is that long`)
        : new ApiError(400, error.message);
  reply.code(apiError.status).send(apiError.toEnvelope());
}

/** No id of ours is this long; longer segments are refused before routing (Fastify's own answer was a bare 414). */
export const MAX_PARAM_LENGTH = 200;
