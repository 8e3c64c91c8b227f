import { VidgateError } from './errors.js';
import { Http, normalizeBaseURL, unwrapData, invalidResponse } from './http.js';
import { Tasks } from './tasks.js';
import type { Balance, Model } from './types.js';
import { Uploads } from './uploads.js';
import { Videos } from './videos.js';

export const DEFAULT_BASE_URL = 'http://localhost:3000';

export interface ClientOptions {
  /** vidgate or any APIMart-compatible host; default `VIDGATE_BASE_URL`, else http://localhost:3000. A trailing `/v1` is fine. */
  baseURL?: string;
  /** Default `VIDGATE_API_KEY`, else `APIMART_API_KEY`. */
  apiKey?: string;
  /** A fetch implementation (default: the global one). */
  fetch?: typeof fetch;
  /** Retries of a failed request (see `RetryPolicy`); default 3. */
  maxRetries?: number;
  /** Per request attempt, ms; default 60 000 (downloads are not limited). */
  timeout?: number;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
  /** Check submit parameters against README: Submit rules before sending; default true. */
  validate?: boolean;
}

export interface VidgateClient {
  readonly baseURL: string;
  readonly videos: Videos;
  readonly tasks: Tasks;
  readonly uploads: Uploads;
  /** This key's balance (`GET /v1/balance`). */
  balance(options?: { signal?: AbortSignal }): Promise<Balance>;
  /** Models with capabilities and prices (`GET /v1/models`). */
  models(options?: { signal?: AbortSignal }): Promise<Model[]>;
}

export function createClient(options: ClientOptions = {}): VidgateClient {
  const env = typeof process !== 'undefined' ? process.env : {};
  const apiKey = options.apiKey ?? env.VIDGATE_API_KEY ?? env.APIMART_API_KEY;
  if (!apiKey) {
    throw new VidgateError({ message: 'no API key: pass apiKey or set VIDGATE_API_KEY (or APIMART_API_KEY)', status: 0, type: 'configuration_error' });
  }
  const http = new Http({
    baseURL: normalizeBaseURL(options.baseURL ?? env.VIDGATE_BASE_URL ?? DEFAULT_BASE_URL),
    apiKey,
    fetch: options.fetch ?? globalThis.fetch,
    maxRetries: Math.max(0, options.maxRetries ?? 3),
    timeout: options.timeout ?? 60_000,
    headers: options.headers ?? {},
  });
  return {
    baseURL: http.options.baseURL,
    videos: new Videos(http, options.validate ?? true),
    tasks: new Tasks(http),
    uploads: new Uploads(http),
    async balance({ signal } = {}) {
      return http.json<Balance>({ method: 'GET', path: '/v1/balance', retry: 'idempotent', signal });
    },
    async models({ signal } = {}) {
      const body = await http.json({ method: 'GET', path: '/v1/models', retry: 'idempotent', signal });
      const data = unwrapData(body);
      if (!Array.isArray(data)) throw invalidResponse('GET /v1/models', body);
      return data as Model[];
    },
  };
}
