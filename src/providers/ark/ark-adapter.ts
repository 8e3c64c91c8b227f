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

/**
 * Many servers and proxies refuse request lines over 8 KiB; 500 Ark ids take about 20 KiB, so a
 * full batch is split into as few list calls as keep each URL under this.
 */
const MAX_QUERY_CHARS = 7_000;

function urlSizedGroups(ids: readonly string[]): string[][] {
  const groups: string[][] = [];
  let current: string[] = [];
  let chars = 0;
  for (const id of ids) {
    const cost = 18 + encodeURIComponent(id).length;
    if (current.length > 0 && chars + cost > MAX_QUERY_CHARS) {
      groups.push(current);
      current = [];
      chars = 0;
    }
    current.push(id);
    chars += cost;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

/** One list item: its status, or the error that makes it unreadable (that task alone counts a failed poll). */
function readable(task: ArkTask): UpstreamStatus | UpstreamError {
  try {
    return toStatus(task);
  } catch (err) {
    if (err instanceof UpstreamError) return err;
    throw err;
  }
}

/** Seedance on Volcengine Ark or BytePlus ModelArk (`…/api/v3`). */
export class ArkAdapter implements UpstreamAdapter {
  readonly batchSize = 500;
  /** Ark takes no idempotency key: a submit whose answer was lost is not sent again. */
  readonly idempotentSubmit = false;

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

  async pollOne(id: string, apiKey: string, signal: AbortSignal): Promise<UpstreamStatus | undefined> {
    let answer: ArkTask | null;
    try {
      answer = (await callJson(`${this.baseUrl}/contents/generations/tasks/${encodeURIComponent(id)}`, {
        method: 'GET',
        apiKey,
        timeoutMs: this.timeoutMs,
        signal,
      })) as ArkTask | null;
    } catch (err) {
      if (err instanceof UpstreamError && err.kind === 'not_found') return undefined;
      throw err;
    }
    if (typeof answer?.id !== 'string') throw new UpstreamError('unavailable', 200, 'malformed_response', 'the upstream task has no id');
    return toStatus(answer);
  }

  async pollMany(ids: readonly string[], apiKey: string, signal: AbortSignal): Promise<Map<string, UpstreamStatus | UpstreamError>> {
    const pages = await Promise.all(urlSizedGroups(ids).map((group) => this.listPage(group, apiKey, signal)));
    return new Map(pages.flat().map((t) => [t.id, readable(t)]));
  }

  private async listPage(ids: readonly string[], apiKey: string, signal: AbortSignal): Promise<ArkTask[]> {
    const query = new URLSearchParams({ page_num: '1', page_size: String(ids.length) });
    for (const id of ids) query.append('filter.task_ids', id);
    const answer = (await callJson(`${this.baseUrl}/contents/generations/tasks?${query}`, { method: 'GET', apiKey, timeoutMs: this.timeoutMs, signal })) as {
      items?: ArkTask[];
    } | null;
    if (!Array.isArray(answer?.items)) throw new UpstreamError('unavailable', 200, 'malformed_response', 'the upstream task list has no items');
    return answer.items.filter((t) => typeof t?.id === 'string');
  }

  async cancel(id: string, apiKey: string): Promise<void> {
    await callJson(`${this.baseUrl}/contents/generations/tasks/${encodeURIComponent(id)}`, { method: 'DELETE', apiKey, timeoutMs: this.timeoutMs });
  }
}
