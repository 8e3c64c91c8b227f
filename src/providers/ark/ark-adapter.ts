import { callJson } from '../upstream/call-json.js';
import type { SubmitInput, UpstreamAdapter, UpstreamStatus } from '../upstream/adapter.js';
import { UpstreamError } from '../upstream/upstream-error.js';
import { arkTaskBody } from './ark-request.js';

interface ArkTask {
  id: string;
  status: string;
  content?: { video_url?: string; last_frame_url?: string };
  error?: { code?: string; message?: string } | null;
}

const STATES: Record<string, UpstreamStatus['state']> = {
  queued: 'pending',
  running: 'processing',
  succeeded: 'completed',
  failed: 'failed',
  expired: 'failed',
  cancelled: 'cancelled',
};

function toStatus(task: ArkTask): UpstreamStatus {
  const state = STATES[task.status];
  if (!state) throw new UpstreamError('unavailable', null, 'malformed_response', `unknown Ark task status "${task.status}"`);
  const error =
    task.status === 'expired'
      ? { code: 'expired', message: 'the upstream task expired before it ran' }
      : task.error
        ? { code: task.error.code ?? 'failed', message: task.error.message ?? 'the upstream task failed' }
        : undefined;
  return { state, videoUrl: task.content?.video_url, lastFrameUrl: task.content?.last_frame_url, ...(error ? { error } : {}) };
}

/** Seedance on Volcengine Ark or BytePlus ModelArk (`…/api/v3`). */
export class ArkAdapter implements UpstreamAdapter {
  readonly batchSize = 500;

  constructor(
    private readonly baseUrl: string,
    private readonly timeoutMs: number,
  ) {}

  async submit(input: SubmitInput, signal: AbortSignal): Promise<string> {
    const answer = (await callJson(`${this.baseUrl}/contents/generations/tasks`, {
      method: 'POST',
      apiKey: input.apiKey,
      body: arkTaskBody(input),
      timeoutMs: this.timeoutMs,
      signal,
    })) as { id?: unknown } | null;
    if (typeof answer?.id !== 'string') throw new UpstreamError('unavailable', 200, 'malformed_response', 'the upstream gave no task id');
    return answer.id;
  }

  async pollMany(ids: readonly string[], apiKey: string, signal: AbortSignal): Promise<Map<string, UpstreamStatus>> {
    const query = new URLSearchParams({ page_num: '1', page_size: String(ids.length) });
    for (const id of ids) query.append('filter.task_ids', id);
    const answer = (await callJson(`${this.baseUrl}/contents/generations/tasks?${query}`, { method: 'GET', apiKey, timeoutMs: this.timeoutMs, signal })) as {
      items?: ArkTask[];
    } | null;
    if (!Array.isArray(answer?.items)) throw new UpstreamError('unavailable', 200, 'malformed_response', 'the upstream task list has no items');
    return new Map(answer.items.filter((t) => typeof t?.id === 'string').map((t) => [t.id, toStatus(t)]));
  }

  async cancel(id: string, apiKey: string): Promise<void> {
    await callJson(`${this.baseUrl}/contents/generations/tasks/${encodeURIComponent(id)}`, { method: 'DELETE', apiKey, timeoutMs: this.timeoutMs });
  }
}
