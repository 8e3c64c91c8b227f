import { findCause } from './guarded-lookup.js';

/** `10 s`, or `250 ms` when not whole seconds. */
export const seconds = (ms: number) => (ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`);

/**
 * What went wrong with an outgoing call, in a sentence for a task error or a delivery log: undici
 * and the socket layer wrap their causes a few levels deep and name them only by code.
 */
export function describeNetworkError(
  err: unknown,
  o: {
    connectTimeoutMs: number;
    /** How long the peer may stay silent. */
    answerTimeoutMs: number;
    /** Completes "the connection was closed before …": "the file was complete", "an answer". */
    closedBefore: string;
    /** "the server stopped answering for 60 s" or "no answer within 10 s". */
    silent: (timeout: string) => string;
  },
): string {
  // undici's parser errors carry no code: a chunked body cut short by the peer's FIN is one of them.
  if (findCause(err, (e): e is Error => (e as Error)?.name === 'HTTPParserError' && /EOF/i.test((e as Error).message))) {
    return `the connection was closed before ${o.closedBefore}`;
  }
  const code = findCause(err, (e): e is Error & { code: string } => typeof (e as { code?: unknown }).code === 'string')?.code;
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return `could not connect within ${seconds(o.connectTimeoutMs)}`;
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return o.silent(seconds(o.answerTimeoutMs));
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NODATA':
      return 'the host name could not be resolved';
    case 'ECONNREFUSED':
      return 'the connection was refused';
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return `the connection was closed before ${o.closedBefore}`;
    case 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH':
      return 'the body did not match its Content-Length';
  }
  return `network error: ${deepestMessage(err)}${code ? ` (${code})` : ''}`;
}

function deepestMessage(err: unknown): string {
  let message = String((err as Error)?.message ?? err);
  for (let e = (err as { cause?: unknown })?.cause, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as Error).message) message = (e as Error).message;
  }
  return message;
}
