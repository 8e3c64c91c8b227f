import { createHash } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import { STATUS_CODES } from 'node:http';
import { isIP } from 'node:net';
import { Agent, type Dispatcher } from 'undici';
import { type AddressPolicy, stripBrackets } from '../net/address-policy.js';
import { fetchFailed, invalidMedia, MediaProblem } from './errors.js';
import { deadline } from '../net/deadline.js';
import { describeNetworkError, seconds } from '../net/network-error.js';
import { BlockedAddressError, findCause, guardedLookup } from '../net/guarded-lookup.js';

export interface SafeFetcherOptions {
  policy: AddressPolicy;
  /** Time to open the TCP/TLS connection (DNS included), per hop. */
  connectTimeoutMs: number;
  /** Time for the whole download, redirects included. */
  timeoutMs: number;
  maxRedirects?: number;
}

export interface DownloadOptions {
  /** Bytes allowed; the body is cut off beyond this, whatever Content-Length said. */
  maxBytes: number;
  /** How the limit reads in a refusal, e.g. "images must be smaller than 30 MB". */
  sizeRule: string;
  signal: AbortSignal;
}

export interface DownloadResult {
  bytes: number;
  sha256: string;
  /** The URL the body came from, after redirects. */
  finalUrl: string;
}

/** A local disk failure while saving: the server's fault, not the media's, so it is not a MediaProblem. */
class LocalWriteError extends Error {
  constructor(cause: unknown) {
    super(`could not write the download: ${(cause as Error).message}`, { cause });
    this.name = 'LocalWriteError';
  }
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const HEADERS = { 'user-agent': 'vidgate-media/0.1', accept: '*/*', 'accept-encoding': 'identity' };

/**
 * Downloads media from client-given URLs without letting them reach the service's own network
 * (README: Media). Host names are checked inside undici's DNS hook, on the very addresses the socket then
 * connects to, so a name cannot resolve to a public address for the check and a private one for the
 * connection. undici does not call the hook for IP literals, so those are checked before each request.
 * Redirects are followed by hand so every hop goes through the same checks.
 */
export class SafeFetcher {
  private readonly agent: Agent;
  private readonly maxRedirects: number;

  constructor(private readonly opts: SafeFetcherOptions) {
    this.maxRedirects = opts.maxRedirects ?? 3;
    this.agent = new Agent({
      connect: { timeout: opts.connectTimeoutMs, lookup: guardedLookup(opts.policy) },
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
    });
  }

  /** Streams `url` into the file `dest` (created or replaced); removes it again on any failure. */
  async download(url: string, dest: string, opts: DownloadOptions): Promise<DownloadResult> {
    const limit = deadline(this.opts.timeoutMs, opts.signal);
    try {
      const { response, finalUrl } = await this.follow(url, limit.signal);
      const saved = await saveBody(response, dest, opts);
      return { ...saved, finalUrl };
    } catch (err) {
      await rm(dest, { force: true });
      throw this.explain(err, opts.signal, limit.expired);
    } finally {
      limit.dispose();
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  /**
   * undici's plain `request` rather than `fetch`: no WHATWG streams and Request objects per call,
   * which at thousands of result downloads a minute is most of the garbage the process makes.
   */
  private async follow(url: string, signal: AbortSignal): Promise<{ response: Dispatcher.ResponseData; finalUrl: string }> {
    let current = httpUrl(url);
    for (let hop = 0; ; hop++) {
      this.checkLiteralHost(current);
      const response = await this.agent.request({
        origin: current.origin,
        path: `${current.pathname}${current.search}`,
        method: 'GET',
        headers: HEADERS,
        signal,
      });
      if (!REDIRECTS.has(response.statusCode)) {
        if (response.statusCode >= 200 && response.statusCode < 300) return { response, finalUrl: current.href };
        discard(response);
        throw fetchFailed(`the server answered HTTP ${response.statusCode}${STATUS_CODES[response.statusCode] ? ` ${STATUS_CODES[response.statusCode]}` : ''}`);
      }
      discard(response);
      if (hop >= this.maxRedirects) throw fetchFailed(`more than ${this.maxRedirects} redirects`);
      const location = header(response, 'location');
      if (!location) throw fetchFailed(`HTTP ${response.statusCode} redirect without a Location header`);
      current = httpUrl(location, current);
    }
  }

  /** undici skips DNS (and so the lookup hook) for IP literals: check them before connecting. */
  private checkLiteralHost(url: URL): void {
    const host = stripBrackets(url.hostname);
    if (!isIP(host)) return;
    const verdict = this.opts.policy.checkAddress(host);
    if (!verdict.allowed) throw new BlockedAddressError(verdict.address);
  }

  /** Turns whatever went wrong into a MediaProblem a client can read; aborts and local faults pass through. */
  private explain(err: unknown, callerSignal: AbortSignal, expired: boolean): unknown {
    if (callerSignal.aborted) return callerSignal.reason;
    if (err instanceof MediaProblem || err instanceof LocalWriteError) return err;
    const blocked = findCause(err, (e): e is BlockedAddressError => e instanceof BlockedAddressError);
    if (blocked) return fetchFailed(blocked.message);
    if (expired) return fetchFailed(`the download did not finish within ${seconds(this.opts.timeoutMs)}`);
    return fetchFailed(
      describeNetworkError(err, {
        connectTimeoutMs: this.opts.connectTimeoutMs,
        answerTimeoutMs: this.opts.timeoutMs,
        closedBefore: 'the file was complete',
        silent: (timeout) => `the server stopped answering for ${timeout}`,
      }),
    );
  }
}

/** Streams the body to disk, hashing as it goes and stopping as soon as it passes the cap. */
async function saveBody(response: Dispatcher.ResponseData, dest: string, opts: DownloadOptions): Promise<{ bytes: number; sha256: string }> {
  const declared = Number(header(response, 'content-length') ?? NaN);
  // An honest Content-Length over the cap needs no download; a lying one is caught while streaming.
  if (declared > opts.maxBytes) {
    discard(response);
    throw tooLarge(declared, opts, true);
  }
  const hash = createHash('sha256');
  let bytes = 0;
  const file = await open(dest, 'w').catch((err: unknown) => {
    throw new LocalWriteError(err);
  });
  try {
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      bytes += chunk.byteLength;
      // Leaving the loop cancels the body, which closes the connection: no more bytes are read.
      if (bytes > opts.maxBytes) throw tooLarge(bytes, opts, false);
      hash.update(chunk);
      await file.write(chunk).catch((err: unknown) => {
        throw new LocalWriteError(err);
      });
    }
  } finally {
    await file.close();
  }
  return { bytes, sha256: hash.digest('hex') };
}

/** `exact` when the size is known (Content-Length); a cut-off stream only tells how far it got. */
function tooLarge(bytes: number, opts: DownloadOptions, exact: boolean): MediaProblem {
  return invalidMedia(`the file has ${exact ? '' : 'more than '}${exact ? bytes : opts.maxBytes} bytes; ${opts.sizeRule}`);
}

/** Releases a response we will not read, so its connection is freed rather than left half-read. */
function discard(response: Dispatcher.ResponseData): void {
  // Destroying an unread body emits an abort error: expected here, and fatal if nobody listens.
  response.body.on('error', () => {});
  response.body.destroy();
}

function header(response: Dispatcher.ResponseData, name: string): string | undefined {
  const value = response.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function httpUrl(value: string, base?: URL): URL {
  let url: URL;
  try {
    url = new URL(value, base);
  } catch {
    throw fetchFailed(`${base ? 'a redirect pointed to ' : ''}an invalid URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw fetchFailed(`${base ? 'a redirect pointed to' : 'the URL uses'} ${url.protocol.replace(':', '')}: only http and https can be fetched`);
  }
  return url;
}
