import type { TaskRequest } from '../../contract/submit.js';
import { callJson, type CallOptions } from '../upstream/call-json.js';
import type { SubmitInput, UpstreamAdapter, UpstreamStatus } from '../upstream/adapter.js';
import { UpstreamError } from '../upstream/upstream-error.js';
import { pollEach } from '../upstream/poll-each.js';
import type { Refusal } from '../types.js';
import { falRefusal, falSubmit } from './fal-request.js';

/** fal's queue (README: Configuration `fal`). */
export const FAL_BASE_URL = 'https://queue.fal.run';

/** `GET …/requests/{id}/status`. */
interface FalQueueStatus {
  status?: unknown;
  queue_position?: unknown;
  /** Present on a request that ended in an error (then COMPLETED). */
  error?: unknown;
  error_type?: unknown;
}

const malformed = (message: string) => new UpstreamError('unavailable', 200, 'malformed_response', message);
const text = (value: unknown) => (typeof value === 'string' && value ? value : undefined);

/**
 * The request's queue address under the base URL, e.g. `bytedance/seedance-2.0/requests/<id>`: its
 * status is `…/status`, its result the address itself, its cancel `…/cancel`. fal's rule: the
 * endpoint's subpath (`/fast/text-to-video`) is part of the submit only; status, result and cancel
 * live under the app id (owner/name). The `status_url` of fal's answer is used when it lies under
 * the base URL, the rule otherwise.
 */
function queuePath(baseUrl: string, endpoint: string, requestId: string, statusUrl: unknown): string {
  const given = text(statusUrl);
  if (given?.startsWith(`${baseUrl}/`) && given.endsWith('/status')) {
    const path = given.slice(baseUrl.length + 1, -'/status'.length);
    if (/^[^?#]+\/requests\/[^/?#]+$/.test(path)) return path;
  }
  return `${endpoint.split('/').slice(0, 2).join('/')}/requests/${encodeURIComponent(requestId)}`;
}

/** Seedance 2.0 on fal's queue API: submit, status, result, cancel, with `Authorization: Key …`. */
export class FalAdapter implements UpstreamAdapter {
  /** fal has no call that reads several requests at once. */
  readonly batchSize = 1;
  /** fal's queue takes no idempotency key: a submit whose answer was lost is not sent again. */
  readonly idempotentSubmit = false;
  private readonly baseUrl: string;

  constructor(
    baseUrl: string,
    private readonly timeoutMs: number,
  ) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
  }

  refusal(request: TaskRequest): Refusal | null {
    return falRefusal(request);
  }

  private call(path: string, o: Pick<CallOptions, 'method' | 'apiKey' | 'body' | 'signal'>): Promise<unknown> {
    return callJson(`${this.baseUrl}/${path}`, { ...o, headers: { authorization: `Key ${o.apiKey}` }, timeoutMs: this.timeoutMs });
  }

  /** The upstream id is the request's queue address (see `queuePath`): everything later calls need. */
  async submit(input: SubmitInput, signal: AbortSignal): Promise<string> {
    const { endpoint, body } = falSubmit(input);
    const answer = (await this.call(endpoint, { method: 'POST', apiKey: input.apiKey, body, signal })) as {
      request_id?: unknown;
      status_url?: unknown;
    } | null;
    const requestId = text(answer?.request_id);
    if (!requestId) throw malformed('the upstream gave no request_id');
    return queuePath(this.baseUrl, endpoint, requestId, answer?.status_url);
  }

  async pollOne(id: string, apiKey: string, signal: AbortSignal): Promise<UpstreamStatus | undefined> {
    let status: FalQueueStatus | null;
    try {
      status = (await this.call(`${id}/status`, { method: 'GET', apiKey, signal })) as FalQueueStatus | null;
    } catch (err) {
      if (err instanceof UpstreamError && err.kind === 'not_found') return undefined;
      throw err;
    }
    switch (status?.status) {
      case 'IN_QUEUE':
        return { state: 'pending' };
      case 'IN_PROGRESS':
        return { state: 'processing' };
      case 'COMPLETED':
        return this.result(id, apiKey, signal, status);
      default:
        throw malformed(`unknown fal request status "${String(status?.status)}"`);
    }
  }

  /**
   * A COMPLETED request either has its result (`{video: {url}, seed}`) or ended in an error: the
   * status names it, or the result answers with it (fal's `detail`, e.g. a content check's 422).
   */
  private async result(id: string, apiKey: string, signal: AbortSignal, status: FalQueueStatus): Promise<UpstreamStatus> {
    const error = text(status.error);
    if (error) return { state: 'failed', error: { code: text(status.error_type) ?? 'failed', message: error } };
    let answer: { video?: { url?: unknown } } | null;
    try {
      answer = (await this.call(id, { method: 'GET', apiKey, signal })) as { video?: { url?: unknown } } | null;
    } catch (err) {
      // A 4xx is the request's own outcome; connection trouble or a 5xx is asked again at the next poll.
      if (err instanceof UpstreamError && err.kind !== 'unavailable') return { state: 'failed', error: { code: err.code, message: err.message } };
      throw err;
    }
    return { state: 'completed', videoUrl: text(answer?.video?.url) };
  }

  pollMany(ids: readonly string[], apiKey: string, signal: AbortSignal): Promise<Map<string, UpstreamStatus | UpstreamError>> {
    return pollEach(ids, (id) => this.pollOne(id, apiKey, signal));
  }

  /** `PUT …/cancel`: fal drops a queued request and signals a running one; a finished one answers 400. */
  async cancel(id: string, apiKey: string): Promise<void> {
    await this.call(`${id}/cancel`, { method: 'PUT', apiKey });
  }
}
