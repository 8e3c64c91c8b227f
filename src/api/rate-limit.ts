import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import { ApiError } from './api-error.js';
import type { RateWindowStore } from '../store/rate-window-store.js';
import type { HttpLimits } from './context.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * Which of a key's two allowances a route draws on: `create` for what starts work (submits,
     * uploads, asset reviews), `read` (the default) for everything a client polls.
     */
    rateBucket?: 'create' | 'read';
  }
}

export interface RateLimits {
  /** onRequest hook of the authenticated scope, after the key check. */
  perKey: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  /** onRequest hook of the routes that need no key (signed files, docs, health), per address. */
  perAddress: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  /** Counts a request refused for want of a valid key against its address; throws 429 past the limit. */
  refused: (request: FastifyRequest) => Promise<void>;
}

const seconds = (ms: number) => `${Math.round(ms / 1000)} s`;

type Counted = (error: Error | null, result?: { current: number; ttl: number }) => void;

/** The plugin's store interface over windows every instance shares (the database's). */
function sharedRateStore(windows: RateWindowStore) {
  return class SharedRateStore {
    incr(key: string, done: Counted, timeWindow: number): void {
      windows.countRequest(key, timeWindow, Date.now()).then(
        ({ count, resetInMs }) => done(null, { current: count, ttl: resetInMs }),
        (error: Error) => done(error),
      );
    }
    read(key: string, done: Counted, timeWindow: number): void {
      windows.peekRequests(key, timeWindow, Date.now()).then(
        ({ count, resetInMs }) => done(null, { current: count, ttl: resetInMs }),
        (error: Error) => done(error),
      );
    }
    child(): SharedRateStore {
      return this;
    }
  };
}

/**
 * Three allowances, all answered with 429, `Retry-After` and the envelope: per key for creating work
 * and for reading (so a client polling its tasks every second never meets the first), and per address
 * for everything without a valid key, so that guessing keys or pulling signed files is bounded too.
 * With `shared` windows (PostgreSQL) every instance counts against the same allowances; a counter
 * that cannot be reached lets the request through rather than failing it.
 */
export async function installRateLimits(app: FastifyInstance, limits: HttpLimits, shared: RateWindowStore | null): Promise<RateLimits> {
  await app.register(rateLimit, {
    global: false,
    timeWindow: limits.rateWindowMs,
    ...(shared ? { store: sharedRateStore(shared), skipOnError: true } : {}),
  });
  const window = seconds(limits.rateWindowMs);
  const bucketOf = (request: FastifyRequest) => request.routeOptions.config.rateBucket ?? 'read';

  const perKey = app.rateLimit({
    timeWindow: limits.rateWindowMs,
    keyGenerator: (request) => `${bucketOf(request)}:${request.caller?.keyId ?? request.ip}`,
    max: (request) => (bucketOf(request) === 'create' ? (request.caller?.limits.rpmLimit ?? limits.createRpm) : limits.readRpm),
    errorResponseBuilder: (request, context) =>
      new ApiError(
        429,
        bucketOf(request) === 'create'
          ? `Too many requests: this key may make ${context.max} requests that create work (submits, uploads, asset reviews) per ${window}; retry in ${context.after}`
          : `Too many requests: this key may make ${context.max} reads per ${window}; retry in ${context.after}`,
      ),
  });
  const anonymousError = (max: number, after: string, headers?: Record<string, string>) =>
    new ApiError(429, `Too many requests without a valid API key from this address: at most ${max} per ${window}; retry in ${after}`, { headers });
  const perAddress = app.rateLimit({
    timeWindow: limits.rateWindowMs,
    keyGenerator: (request) => `open:${request.ip}`,
    max: limits.anonymousRpm,
    errorResponseBuilder: (_request, context) => anonymousError(context.max, context.after),
  });
  const check = app.createRateLimit({ timeWindow: limits.rateWindowMs, keyGenerator: (request) => `refused:${request.ip}`, max: limits.anonymousRpm });
  return {
    // The plugin's own hooks, as they are: a wrapper would only add a promise per request.
    perKey: perKey as RateLimits['perKey'],
    perAddress: perAddress as RateLimits['perAddress'],
    refused: async (request) => {
      const verdict = await check(request);
      if (!verdict.isAllowed && verdict.isExceeded) {
        throw anonymousError(verdict.max, `${verdict.ttlInSeconds} seconds`, { 'retry-after': String(verdict.ttlInSeconds) });
      }
    },
  };
}
