import { access } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { FastifyReply } from 'fastify';
import { ApiError } from './api-error.js';

/**
 * Answers a request for a file behind a signed URL, where the signature is the credential: 403 for
 * a bad or expired one, 404 once the file is gone, else the file (Range requests included).
 */
export async function sendSignedFile(
  reply: FastifyReply,
  o: {
    verdict: 'ok' | 'invalid' | 'expired';
    /** Absolute path, or null when the name tries to leave its folder. */
    path: string | null;
    /** "result", "upload", "asset": how the messages name it. */
    what: string;
  },
): Promise<FastifyReply> {
  if (o.verdict === 'expired') throw new ApiError(403, `this ${o.what} URL has expired`, { type: 'authentication_error' });
  if (o.verdict === 'invalid') throw new ApiError(403, 'invalid or missing URL signature', { type: 'authentication_error' });
  if (
    !o.path ||
    !(await access(o.path).then(
      () => true,
      () => false,
    ))
  )
    throw new ApiError(404, `file not found: the ${o.what} may have been deleted`);
  reply.header('cache-control', 'private, max-age=3600');
  return reply.sendFile(basename(o.path), dirname(o.path));
}
