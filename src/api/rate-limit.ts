import type { FastifyInstance } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import { ApiError } from '../contract/errors.js';

/**
 * Requests per minute per API key (the key's own limit, else the service default). Registered
 * inside the authenticated scope, so it counts keys, not addresses, and runs after the key check.
 */
export async function perKeyRateLimit(app: FastifyInstance, defaultRpm: number, windowMs: number): Promise<void> {
  await app.register(rateLimit, {
    hook: 'onRequest',
    timeWindow: windowMs,
    keyGenerator: (request) => request.caller?.keyId ?? request.ip,
    max: (request) => request.caller?.limits.rpmLimit ?? defaultRpm,
    errorResponseBuilder: (_request, context) =>
      new ApiError(429, `Too many requests: this key may make ${context.max} requests per ${windowMs / 1000} s; retry in ${context.after}`),
  });
}
