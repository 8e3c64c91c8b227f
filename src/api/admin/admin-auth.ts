import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { unauthorized } from '../api-error.js';

const digest = (text: string) => createHash('sha256').update(text).digest();

/** The admin API is closed unless VIDGATE_ADMIN_TOKEN is set; the comparison is constant-time. */
export function adminAuth(token: string | undefined) {
  const expected = token ? digest(token) : null;
  return async (request: FastifyRequest): Promise<void> => {
    const match = /^Bearer[ \t]+(\S+)$/i.exec(request.headers.authorization ?? '');
    if (!expected) throw unauthorized('the admin API is disabled: set VIDGATE_ADMIN_TOKEN');
    if (!match || !timingSafeEqual(digest(match[1]!), expected)) throw unauthorized('invalid admin token');
  };
}
