import type { FastifyReply, FastifyRequest } from 'fastify';
import { RESPONSE_VERSION_HEADER, responseVersionOf, type ResponseVersion } from '../contract/response-version.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The answer shape the client asked for (README: Answer versions); null = the seed's. */
    responseVersion: ResponseVersion | null;
  }
}

/**
 * `X-APIMart-Response-Version` on /v1 routes: a supported value is remembered and echoed on the
 * answer, errors included. The first hook runs before the key check and never refuses, so that a
 * 401 echoes the version too; the second, after it, refuses an unsupported value.
 */
export async function readResponseVersion(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  try {
    request.responseVersion = responseVersionOf(request.headers[RESPONSE_VERSION_HEADER]);
  } catch {
    return;
  }
  if (request.responseVersion) reply.header(RESPONSE_VERSION_HEADER, request.responseVersion);
}

export async function refuseUnknownResponseVersion(request: FastifyRequest): Promise<void> {
  responseVersionOf(request.headers[RESPONSE_VERSION_HEADER]);
}
