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
  const status: UpstreamStatus = { state, videoUrl: task.content?.video_url, lastFrameUrl: task.content?.last_frame_url };
  if (error) status.error = error;
  return status;
}

/**
 * Many servers and proxies refuse request lines over 8 KiB; 500 Ark ids take about 20 KiB, so a
 * full batch is split into as few list calls as keep each URL under this.
 */
const MAX_QUERY_CHARS = 7_000;

/** Ark's own ids need no escaping; anything else is escaped as a URL component. */
const PLAIN_ID = /^[A-Za-z0-9._~-]*$/;

/**
 * The list calls' query strings for these ids, each under MAX_QUERY_CHARS: built as text, since a
 * round of thousands of tasks makes dozens of them every second.
 */
function listQueries(ids: readonly string[]): string[] {
  const queries: string[] = [];
  let query = '';
  let count = 0;
  const flush = () => queries.push(`page_num=1&page_size=${count}${query}`);
  for (const id of ids) {
    const param = `&filter.task_ids=${PLAIN_ID.test(id) ? id : encodeURIComponent(id)}`;
    if (count > 0 && query.length + param.length > MAX_QUERY_CHARS) {
      flush();
      query = '';
      count = 0;
    }
    query += param;
    count++;
  }
  if (count > 0) flush();
  return queries;
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
    const pages = await Promise.all(listQueries(ids).map((query) => this.listPage(query, apiKey, signal)));
    const statuses = new Map<string, UpstreamStatus | UpstreamError>();
    for (const page of pages) for (const task of page) statuses.set(task.id, readable(task));
    return statuses;
  }

  private async listPage(query: string, apiKey: string, signal: AbortSignal): Promise<ArkTask[]> {
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
