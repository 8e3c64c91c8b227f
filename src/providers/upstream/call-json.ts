import { StringDecoder } from 'node:string_decoder';
import { Agent } from 'undici';
import { deadline } from '../../net/deadline.js';
import { UpstreamError } from './upstream-error.js';

export interface CallOptions {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  apiKey: string;
  body?: unknown;
  headers?: Record<string, string>;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Largest answer read; a bigger one is refused before it fills memory. */
  maxBytes?: number;
}

/** 500 Ark tasks in one list answer take about half a megabyte. */
const DEFAULT_MAX_BYTES = 16 * 1024 * 1024;

class TooLarge extends Error {}

/**
 * Reads the whole body as text, giving up (and closing the connection) past `maxBytes`. Each chunk
 * is decoded as it comes (a character split between chunks waits in the decoder), so no copy of the
 * whole answer is made outside the JavaScript heap: polls of thousands of tasks read dozens a second.
 */
async function readText(body: AsyncIterable<Buffer>, maxBytes: number): Promise<string> {
  const decoder = new StringDecoder('utf8');
  let text = '';
  let bytes = 0;
  // Leaving the loop early ends the iteration, which destroys the body and its connection.
  for await (const chunk of body) {
    bytes += chunk.length;
    if (bytes > maxBytes) throw new TooLarge(`the upstream's answer is larger than ${maxBytes} bytes`);
    text += decoder.write(chunk);
  }
  return text + decoder.end();
}

/** One connection pool for all upstream API calls (results are downloaded through the media fetcher). */
const agent = new Agent({ keepAliveTimeout: 30_000, connections: 64 });

const text = (value: unknown) => (typeof value === 'string' && value ? value : undefined);

interface DetailItem {
  loc?: unknown;
  msg?: unknown;
  type?: unknown;
}

/**
 * fal's and Replicate's error bodies: `detail` is a message (fal's request errors with `error_type`,
 * Replicate's problem details with `title`), or fal's list of `{loc, msg, type}` (validation, content).
 */
function detailOf(body: { detail?: unknown; error_type?: unknown; title?: unknown }): { code?: string; message?: string } {
  if (Array.isArray(body.detail)) {
    const items = body.detail.filter((d): d is DetailItem => typeof d === 'object' && d !== null);
    const messages = items.flatMap((d) => {
      const msg = text(d.msg);
      const where = Array.isArray(d.loc) ? d.loc.filter((l) => l !== 'body').join('.') : '';
      return msg ? [where ? `${where}: ${msg}` : msg] : [];
    });
    return { code: text(items[0]?.type), message: messages.length ? messages.join('; ') : undefined };
  }
  return { code: text(body.error_type), message: text(body.detail) ?? text(body.title) };
}

/** The code and message an upstream put in its error body: the Ark or APIMart shape, else fal's or Replicate's `detail`. */
function errorOf(body: unknown, status: number): { code: string; message: string } {
  const error = (body as { error?: { code?: unknown; message?: unknown; type?: unknown } } | null)?.error;
  const detail = body && typeof body === 'object' && !error ? detailOf(body) : {};
  const code = typeof error?.code === 'string' ? error.code : typeof error?.type === 'string' ? error.type : (detail.code ?? `http_${status}`);
  const message = typeof error?.message === 'string' ? error.message : (detail.message ?? `the upstream answered HTTP ${status}`);
  return { code, message };
}

/** Calls an upstream JSON API and sorts every failure into an UpstreamError. */
export async function callJson(url: string, o: CallOptions): Promise<unknown> {
  const limit = deadline(o.timeoutMs, o.signal);
  const signal = limit.signal;
  let status: number;
  let text: string;
  try {
    const target = new URL(url);
    // undici's plain `request`: no WHATWG Request/stream objects per call (polls run all the time).
    const res = await agent.request({
      origin: target.origin,
      path: `${target.pathname}${target.search}`,
      method: o.method,
      signal,
      headers: {
        authorization: `Bearer ${o.apiKey}`,
        accept: 'application/json',
        ...(o.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...o.headers,
      },
      body: o.body !== undefined ? JSON.stringify(o.body) : undefined,
    });
    status = res.statusCode;
    text = await readText(res.body, o.maxBytes ?? DEFAULT_MAX_BYTES);
  } catch (err) {
    if (o.signal?.aborted) throw o.signal.reason;
    if (err instanceof TooLarge) throw new UpstreamError('unavailable', null, 'malformed_response', err.message);
    const reason = limit.expired ? `no answer within ${o.timeoutMs} ms` : (((err as Error).cause as Error | undefined)?.message ?? (err as Error).message);
    throw new UpstreamError('unavailable', null, 'connection_failed', reason);
  } finally {
    limit.dispose();
  }
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    if (status < 300) throw new UpstreamError('unavailable', status, 'malformed_response', 'the upstream answered with a body that is not JSON');
  }
  if (status >= 200 && status < 300) return body;
  const { code, message } = errorOf(body, status);
  if (status === 429 || status >= 500) throw new UpstreamError('unavailable', status, code, message);
  if (status === 404) throw new UpstreamError('not_found', status, code, message);
  throw new UpstreamError('rejected', status, code, message);
}
