import { VidgateConnectionError, VidgateError, typeForStatus } from './errors.js';

export const SDK_VERSION = '0.1.0';

export interface HttpOptions {
  baseURL: string;
  apiKey: string;
  fetch: typeof fetch;
  /** Retries after the first attempt. */
  maxRetries: number;
  /** Per attempt, in ms; 0 = none. */
  timeout: number;
  headers: Record<string, string>;
}

/**
 * - `idempotent`: retried on 429, 5xx, network errors and timeouts (GETs; a submit carrying an
 *   Idempotency-Key; uploads, whose repeat is harmless);
 * - `once`: retried on 429 only, which means the request was not processed.
 */
export type RetryPolicy = 'idempotent' | 'once';

export interface RequestOptions {
  method: 'GET' | 'POST';
  /** `/v1/...` under the base URL, or an absolute URL. */
  path: string;
  query?: Record<string, string | number | undefined>;
  json?: unknown;
  form?: FormData;
  headers?: Record<string, string>;
  retry: RetryPolicy;
  signal?: AbortSignal;
  /** Overrides the client's per-attempt timeout (0 = none, for long downloads). */
  timeout?: number;
  /** Send the API key (default true; false for signed result URLs, which may be on another host). */
  auth?: boolean;
}

const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 8_000;
/** A longer Retry-After is answered with the 429 error rather than a wait. */
const MAX_RETRY_AFTER_S = 60;

/** `http://host/`, `http://host/v1` and `http://host` all mean the same API root. */
export function normalizeBaseURL(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new VidgateError({ message: `base URL "${url}" is not a URL: expected http(s)://host[:port]`, status: 0, type: 'configuration_error' });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new VidgateError({ message: `base URL "${url}" must start with http:// or https://`, status: 0, type: 'configuration_error' });
  }
  return `${parsed.origin}${parsed.pathname.replace(/\/+$/, '').replace(/\/v1$/, '')}`;
}

/** Exponential backoff with jitter: 0.5–1× of 500 ms · 2^attempt, at most 8 s. */
export function backoff(attempt: number): number {
  const ceiling = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** attempt);
  return Math.round(ceiling * (0.5 + Math.random() * 0.5));
}

/** Seconds from `Retry-After` (delta-seconds or an HTTP date), or undefined. */
export function parseRetryAfter(value: string | null): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - Date.now()) / 1000);
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** `AbortSignal.any`, with a fallback for Node 20 releases before 20.3. */
function anySignal(signals: AbortSignal[]): AbortSignal | undefined {
  if (signals.length <= 1) return signals[0];
  if (typeof AbortSignal.any === 'function') return AbortSignal.any(signals);
  const controller = new AbortController();
  for (const s of signals) {
    if (s.aborted) {
      controller.abort(s.reason);
      break;
    }
    s.addEventListener('abort', () => controller.abort(s.reason), { once: true });
  }
  return controller.signal;
}

const oneLine = (text: string, max = 200) => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
};

/** The error of a non-2xx answer: the envelope of README: API when there is one, else the status and a snippet. */
export async function errorFromResponse(res: Response): Promise<VidgateError> {
  const text = await res.text().catch(() => '');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const envelope = (body as { error?: unknown } | undefined)?.error;
  const e = typeof envelope === 'object' && envelope !== null ? (envelope as Record<string, unknown>) : ((body ?? {}) as Record<string, unknown>);
  const message =
    typeof e.message === 'string' ? e.message : typeof e.msg === 'string' ? e.msg : `HTTP ${res.status} ${res.statusText}${text ? `: ${oneLine(text)}` : ''}`;
  return new VidgateError({
    message,
    status: res.status,
    type: typeof e.type === 'string' ? e.type : typeForStatus(res.status),
    param: typeof e.param === 'string' ? e.param : undefined,
    requestId: res.headers.get('x-request-id') ?? undefined,
    retryAfter: parseRetryAfter(res.headers.get('retry-after')),
  });
}

/** Why fetch failed, in one line: `connect ECONNREFUSED 127.0.0.1:1` rather than `fetch failed`. */
function describeNetworkError(err: unknown): string {
  let e: unknown = err;
  for (let depth = 0; depth < 4 && e instanceof Error && e.cause instanceof Error; depth++) e = e.cause;
  if (e instanceof AggregateError && e.errors[0] instanceof Error) e = e.errors[0];
  return e instanceof Error ? e.message : String(e);
}

export class Http {
  constructor(readonly options: HttpOptions) {}

  url(path: string, query?: RequestOptions['query']): string {
    const url = new URL(/^https?:\/\//i.test(path) ? path : this.options.baseURL + path);
    for (const [name, value] of Object.entries(query ?? {})) {
      if (value !== undefined && value !== '') url.searchParams.set(name, String(value));
    }
    return url.toString();
  }

  /** Sends with retries; resolves with a 2xx response whose body is unread, throws `VidgateError` otherwise. */
  async send(o: RequestOptions): Promise<Response> {
    const url = this.url(o.path, o.query);
    // The API key and the client's extra headers go to the API only, not to result hosts.
    const api = o.auth !== false;
    const headers: Record<string, string> = { 'user-agent': `vidgate-sdk/${SDK_VERSION}`, ...(api ? this.options.headers : {}), ...o.headers };
    if (api) headers.authorization = `Bearer ${this.options.apiKey}`;
    if (o.json !== undefined) headers['content-type'] = 'application/json';
    const body = o.json !== undefined ? JSON.stringify(o.json) : o.form;
    const timeout = o.timeout ?? this.options.timeout;

    for (let attempt = 0; ; attempt++) {
      const last = attempt >= this.options.maxRetries;
      const signals = [o.signal, timeout > 0 ? AbortSignal.timeout(timeout) : undefined].filter((s): s is AbortSignal => s !== undefined);
      let res: Response;
      try {
        res = await this.options.fetch(url, { method: o.method, headers, body, signal: anySignal(signals) });
      } catch (err) {
        if (o.signal?.aborted) throw o.signal.reason;
        const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
        const error = new VidgateConnectionError(
          timedOut ? `${o.method} ${url} timed out after ${Math.round(timeout / 1000)} s` : `cannot reach ${url}: ${describeNetworkError(err)}`,
          err,
        );
        if (last || o.retry !== 'idempotent') throw error;
        await sleep(backoff(attempt), o.signal);
        continue;
      }
      if (res.ok) return res;
      const error = await errorFromResponse(res);
      const retryable = res.status === 429 || (o.retry === 'idempotent' && (res.status >= 500 || res.status === 408));
      if (last || !retryable) throw error;
      if (error.retryAfter !== undefined && error.retryAfter > MAX_RETRY_AFTER_S) throw error;
      const delay = error.retryAfter !== undefined && (res.status === 429 || res.status === 503) ? error.retryAfter * 1000 : backoff(attempt);
      await sleep(delay, o.signal);
    }
  }

  /** `send` and parse the JSON body. */
  async json<T = unknown>(o: RequestOptions): Promise<T> {
    return (await this.jsonWithHeaders<T>(o)).body;
  }

  /** `json`, with the answer's headers. */
  async jsonWithHeaders<T = unknown>(o: RequestOptions): Promise<{ body: T; headers: Headers }> {
    const res = await this.send(o);
    const text = await res.text();
    try {
      return { body: JSON.parse(text) as T, headers: res.headers };
    } catch {
      throw new VidgateError({
        message: `${o.method} ${o.path} answered ${res.status} with a body that is not JSON: ${oneLine(text) || '(empty)'}`,
        status: res.status,
        type: 'invalid_response',
        requestId: res.headers.get('x-request-id') ?? undefined,
      });
    }
  }
}

/** The `data` of an `{code, data}` answer, or the body itself when it has no `data`. */
export function unwrapData(body: unknown): unknown {
  return typeof body === 'object' && body !== null && 'data' in body ? (body as { data: unknown }).data : body;
}

export function invalidResponse(what: string, body: unknown): VidgateError {
  return new VidgateError({ message: `unexpected answer to ${what}: ${oneLine(JSON.stringify(body) ?? String(body))}`, status: 200, type: 'invalid_response' });
}
