import type { FastifyReply, FastifyRequest } from 'fastify';
import { authenticate, type KeyCache } from '../auth/keys.js';
import { unauthorized } from './api-error.js';
import type { AccountStore } from '../store/types.js';
import type { Caller } from '../tasks/task-service.js';

declare module 'fastify' {
  interface FastifyRequest {
    caller: Caller | null;
  }
}

const BEARER = /^Bearer[ \t]+(\S{1,512})[ \t]*$/i;

/** An onRequest hook: the key is checked before the body is read, so strangers cannot make us parse anything. */
export function bearerAuth(store: AccountStore, cache: KeyCache) {
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const header = request.headers.authorization;
    if (!header) throw unauthorized('missing API key: send the header Authorization: Bearer <key>');
    const match = BEARER.exec(header);
    if (!match) throw unauthorized('malformed Authorization header: expected Bearer <key>');
    const key = await authenticate(store, match[1]!, cache);
    if (!key) throw unauthorized();
    request.caller = { accountId: key.accountId, keyId: key.id, limits: key.limits };
  };
}

export function callerOf(request: FastifyRequest): Caller {
  if (!request.caller) throw unauthorized();
  return request.caller;
}
