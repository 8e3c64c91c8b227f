import type { TaskRequest } from '../../contract/submit.js';
import { callJson } from '../upstream/call-json.js';
import type { SubmitInput, UpstreamAdapter, UpstreamStatus } from '../upstream/adapter.js';
import { UpstreamError } from '../upstream/upstream-error.js';
import { pollEach } from '../upstream/poll-each.js';
import type { Refusal } from '../types.js';
import { replicateInput, replicateRefusal, replicateTarget } from './replicate-request.js';

/** Replicate's HTTP API (README: Configuration `replicate`). */
export const REPLICATE_BASE_URL = 'https://api.replicate.com/v1';

/** A prediction (`GET /v1/predictions/{id}`), the fields read. */
interface Prediction {
  id?: unknown;
  status?: unknown;
  /** The model's output: for Seedance 2.0 the video's URL (a list of URLs is read too). */
  output?: unknown;
  error?: unknown;
}

const STATES: Record<string, UpstreamStatus['state']> = {
  starting: 'pending',
  processing: 'processing',
  succeeded: 'completed',
  failed: 'failed',
  canceled: 'cancelled',
  // Ended by Replicate before it finished (a deadline passed, say): nothing was made.
  aborted: 'failed',
};

const malformed = (message: string) => new UpstreamError('unavailable', 200, 'malformed_response', message);
const text = (value: unknown) => (typeof value === 'string' && value ? value : undefined);

function toStatus(p: Prediction, id: string): UpstreamStatus {
  const state = typeof p.status === 'string' ? STATES[p.status] : undefined;
  if (!state) throw malformed(`unknown Replicate prediction status "${String(p.status)}"`);
  const reason = text(p.error) ?? (typeof p.error === 'object' && p.error ? JSON.stringify(p.error) : undefined);
  switch (p.status) {
    case 'succeeded':
      return { state, videoUrl: text(Array.isArray(p.output) ? p.output[0] : p.output) };
    case 'failed':
      return { state, error: { code: 'prediction_failed', message: reason ?? 'the prediction failed' } };
    case 'aborted':
      return { state, error: { code: 'prediction_aborted', message: reason ?? 'Replicate aborted the prediction before it finished' } };
    case 'canceled':
      return { state, error: { code: 'canceled', message: `prediction ${id} was canceled on Replicate` } };
    default:
      return { state };
  }
}

/** Seedance 2.0 on Replicate's predictions API, with `Authorization: Bearer …`. */
export class ReplicateAdapter implements UpstreamAdapter {
  /** Replicate lists predictions only page by page, not by id: one GET per prediction. */
  readonly batchSize = 1;
  /** Replicate takes no idempotency key: a submit whose answer was lost is not sent again. */
  readonly idempotentSubmit = false;
  private readonly baseUrl: string;

  constructor(
    baseUrl: string,
    private readonly timeoutMs: number,
  ) {
    // Both "https://api.replicate.com" and "https://api.replicate.com/v1" are accepted.
    this.baseUrl = baseUrl.replace(/\/+$/, '').replace(/\/v1$/, '');
  }

  refusal(request: TaskRequest): Refusal | null {
    return replicateRefusal(request);
  }

  async submit(input: SubmitInput, signal: AbortSignal): Promise<string> {
    const { path, version } = replicateTarget(input.upstreamModel);
    const answer = (await callJson(`${this.baseUrl}/v1/${path}`, {
      method: 'POST',
      apiKey: input.apiKey,
      body: { ...(version ? { version } : {}), input: replicateInput(input) },
      timeoutMs: this.timeoutMs,
      signal,
    })) as Prediction | null;
    const id = text(answer?.id);
    if (!id) throw malformed('the upstream gave no prediction id');
    return id;
  }

  async pollOne(id: string, apiKey: string, signal: AbortSignal): Promise<UpstreamStatus | undefined> {
    let answer: Prediction | null;
    try {
      answer = (await callJson(`${this.baseUrl}/v1/predictions/${encodeURIComponent(id)}`, {
        method: 'GET',
        apiKey,
        timeoutMs: this.timeoutMs,
        signal,
      })) as Prediction | null;
    } catch (err) {
      if (err instanceof UpstreamError && err.kind === 'not_found') return undefined;
      throw err;
    }
    if (!answer || typeof answer !== 'object') throw malformed('the upstream answered no prediction');
    return toStatus(answer, id);
  }

  pollMany(ids: readonly string[], apiKey: string, signal: AbortSignal): Promise<Map<string, UpstreamStatus | UpstreamError>> {
    return pollEach(ids, (id) => this.pollOne(id, apiKey, signal));
  }

  async cancel(id: string, apiKey: string): Promise<void> {
    await callJson(`${this.baseUrl}/v1/predictions/${encodeURIComponent(id)}/cancel`, { method: 'POST', apiKey, timeoutMs: this.timeoutMs });
  }
}
