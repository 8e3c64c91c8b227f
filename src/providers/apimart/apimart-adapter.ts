import { callJson } from '../upstream/call-json.js';
import type { SubmitInput, UpstreamAdapter, UpstreamStatus } from '../upstream/adapter.js';
import { UpstreamError } from '../upstream/upstream-error.js';
import { pollEach } from '../upstream/poll-each.js';
import { RESPONSE_VERSIONS } from '../../contract/response-version.js';

const RESPONSE_VERSION = RESPONSE_VERSIONS[0];

interface ApimartTask {
  id?: string;
  status?: string;
  result?: { videos?: Array<{ url?: string | string[] }>; last_frame_url?: string };
  error?: { code?: string | number; message?: string; type?: string };
}

const STATES: Record<string, UpstreamStatus['state']> = {
  submitted: 'pending',
  pending: 'pending',
  processing: 'processing',
  completed: 'completed',
  failed: 'failed',
  cancelled: 'cancelled',
};

const firstUrl = (url: string | string[] | undefined) => (Array.isArray(url) ? url[0] : url);

/** The same request back out, in the seed's field names. */
function submitBody(input: SubmitInput) {
  const { request } = input;
  const images = request.media.filter((m) => m.kind === 'image');
  // Sent back in the field the client used, so the upstream applies the same meaning to the images.
  const byRole = images.some((m) => m.field.startsWith('image_with_roles'));
  return {
    model: input.upstreamModel,
    ...(request.prompt ? { prompt: request.prompt } : {}),
    duration: request.duration,
    size: request.size,
    resolution: request.resolution,
    seed: input.seed,
    generate_audio: request.generateAudio,
    return_last_frame: request.returnLastFrame,
    ...(request.tools.length ? { tools: request.tools } : {}),
    ...(images.length && byRole ? { image_with_roles: images.map((m) => ({ url: m.url, role: m.role })) } : {}),
    ...(images.length && !byRole ? { image_urls: images.map((m) => m.url) } : {}),
    ...(request.media.some((m) => m.kind === 'video') ? { video_urls: request.media.filter((m) => m.kind === 'video').map((m) => m.url) } : {}),
    ...(request.media.some((m) => m.kind === 'audio') ? { audio_urls: request.media.filter((m) => m.kind === 'audio').map((m) => m.url) } : {}),
  };
}

/** Any APIMart-compatible service: APIMart itself, or another vidgate. */
export class ApimartAdapter implements UpstreamAdapter {
  readonly batchSize = 1;
  readonly idempotentSubmit = true;
  private readonly baseUrl: string;

  constructor(
    baseUrl: string,
    private readonly timeoutMs: number,
  ) {
    // Both "https://host" and "https://host/v1" are accepted.
    this.baseUrl = baseUrl.replace(/\/+$/, '').replace(/\/v1$/, '');
  }

  async submit(input: SubmitInput, signal: AbortSignal): Promise<string> {
    const answer = (await callJson(`${this.baseUrl}/v1/videos/generations`, {
      method: 'POST',
      apiKey: input.apiKey,
      body: submitBody(input),
      // A retried submit after a crash must not start a second paid task upstream (a replay answers
      // with the same task). The current answer shape is asked for; older hosts answer the seed's.
      headers: { 'idempotency-key': input.taskId, 'x-apimart-response-version': RESPONSE_VERSION },
      timeoutMs: this.timeoutMs,
      signal,
    })) as { data?: unknown } | null;
    // Seed: `data: [{status, task_id}]`; 2026-07-27: `data: {id, object, status}`; some hosts `data: {status, task_id}`.
    const data = (Array.isArray(answer?.data) ? answer.data[0] : answer?.data) as { task_id?: unknown; id?: unknown } | undefined;
    const id = data?.task_id ?? data?.id;
    if (typeof id !== 'string' || !id) throw new UpstreamError('unavailable', 200, 'malformed_response', 'the upstream gave no task id');
    return id;
  }

  async pollOne(id: string, apiKey: string, signal: AbortSignal): Promise<UpstreamStatus | undefined> {
    try {
      const answer = (await callJson(`${this.baseUrl}/v1/tasks/${encodeURIComponent(id)}`, { method: 'GET', apiKey, timeoutMs: this.timeoutMs, signal })) as {
        data?: ApimartTask;
      } | null;
      return toStatus(answer?.data);
    } catch (err) {
      if (err instanceof UpstreamError && err.kind === 'not_found') return undefined;
      throw err;
    }
  }

  /** The APIMart API has no batch lookup: one GET per task. */
  pollMany(ids: readonly string[], apiKey: string, signal: AbortSignal): Promise<Map<string, UpstreamStatus | UpstreamError>> {
    return pollEach(ids, (id) => this.pollOne(id, apiKey, signal));
  }

  async cancel(id: string, apiKey: string): Promise<void> {
    await callJson(`${this.baseUrl}/v1/tasks/${encodeURIComponent(id)}/cancel`, { method: 'POST', apiKey, timeoutMs: this.timeoutMs });
  }
}

function toStatus(task: ApimartTask | undefined): UpstreamStatus {
  const state = task?.status ? STATES[task.status] : undefined;
  if (!task || !state) throw new UpstreamError('unavailable', 200, 'malformed_response', `unknown task status "${task?.status}"`);
  const error = task.error
    ? { code: String(task.error.code ?? task.error.type ?? 'failed'), message: task.error.message ?? 'the upstream task failed' }
    : undefined;
  return { state, videoUrl: firstUrl(task.result?.videos?.[0]?.url), lastFrameUrl: task.result?.last_frame_url, ...(error ? { error } : {}) };
}
