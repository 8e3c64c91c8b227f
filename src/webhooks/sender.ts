import { STATUS_CODES } from 'node:http';
import { isIP } from 'node:net';
import { Agent } from 'undici';
import { stripBrackets, type AddressPolicy } from '../net/address-policy.js';
import { deadline } from '../net/deadline.js';
import { BlockedAddressError, findCause, guardedLookup } from '../net/guarded-lookup.js';
import { describeNetworkError, seconds } from '../net/network-error.js';

export type SendResult =
  | { ok: true; statusCode: number }
  /** `permanent`: retrying cannot help (the address is not allowed, the URL is unusable). */
  | { ok: false; statusCode: number | null; error: string; permanent: boolean };

export interface WebhookSenderOptions {
  /** The media intake's address rules (README: Media): no private or reserved address unless allowed. */
  policy: AddressPolicy;
  /** Whole request: connecting, sending, and the receiver's answer. */
  timeoutMs: number;
}

const refuse = (error: string): SendResult => ({ ok: false, statusCode: null, error, permanent: true });

/**
 * POSTs webhook bodies under the same address rules as media downloads (the check runs on the
 * addresses the socket connects to, inside undici's DNS hook, and on IP literals before connecting),
 * never follows a redirect, and gives every request a hard deadline.
 */
export class WebhookSender {
  private readonly agent: Agent;

  constructor(private readonly o: WebhookSenderOptions) {
    this.agent = new Agent({
      connect: { timeout: o.timeoutMs, lookup: guardedLookup(o.policy) },
      headersTimeout: o.timeoutMs,
      bodyTimeout: o.timeoutMs,
      keepAliveTimeout: 4_000,
    });
  }

  /** Rejects only with `signal`'s reason (shutdown); every other outcome is a SendResult. */
  async send(url: string, headers: Record<string, string>, body: string, signal: AbortSignal): Promise<SendResult> {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      return refuse('the callback URL is not a valid URL');
    }
    if (target.protocol !== 'http:' && target.protocol !== 'https:')
      return refuse(`the callback URL uses ${target.protocol.replace(':', '')}: only http and https`);
    const host = stripBrackets(target.hostname);
    if (isIP(host)) {
      const verdict = this.o.policy.checkAddress(host);
      if (!verdict.allowed) return refuse(new BlockedAddressError(verdict.address).message);
    }
    const limit = deadline(this.o.timeoutMs, signal);
    try {
      // undici's plain `request` follows no redirects, which is what callbacks need.
      const response = await this.agent.request({
        origin: target.origin,
        path: `${target.pathname}${target.search}`,
        method: 'POST',
        body,
        headers,
        signal: limit.signal,
      });
      // The answer's body means nothing to us; reading a little of it keeps the connection reusable.
      await response.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
      const status = response.statusCode;
      if (status >= 200 && status < 300) return { ok: true, statusCode: status };
      if (status >= 300 && status < 400) {
        const header = response.headers.location;
        const location = Array.isArray(header) ? header[0] : header;
        return {
          ok: false,
          statusCode: status,
          error: `HTTP ${status} redirect${location ? ` to ${location.slice(0, 200)}` : ''} not followed: the callback URL must answer 2xx itself`,
          permanent: false,
        };
      }
      return { ok: false, statusCode: status, error: `HTTP ${status}${STATUS_CODES[status] ? ` ${STATUS_CODES[status]}` : ''}`, permanent: false };
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      return this.explain(err, limit.expired);
    } finally {
      limit.dispose();
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  private explain(err: unknown, expired: boolean): SendResult {
    const blocked = findCause(err, (e): e is BlockedAddressError => e instanceof BlockedAddressError);
    if (blocked) return refuse(`the callback host ${blocked.message}`);
    const fail = (error: string): SendResult => ({ ok: false, statusCode: null, error, permanent: false });
    if (expired) return fail(`no answer within ${seconds(this.o.timeoutMs)}`);
    return fail(
      describeNetworkError(err, {
        connectTimeoutMs: this.o.timeoutMs,
        answerTimeoutMs: this.o.timeoutMs,
        closedBefore: 'an answer',
        silent: (timeout) => `no answer within ${timeout}`,
      }),
    );
  }
}
