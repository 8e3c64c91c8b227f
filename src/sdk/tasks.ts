import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { VidgateConnectionError, VidgateError, VidgateTimeoutError, VidgateValidationError } from './errors.js';
import { backoff, invalidResponse, sleep, unwrapData, type Http } from './http.js';
import { TERMINAL_STATUSES, type Download, type Task, type TaskPage, type TaskStatus } from './types.js';
import { openTaskStream, readEvents } from './task-stream.js';

export type Language = 'en' | 'zh' | 'ko' | 'ja';

export interface GetOptions {
  /** Language of `error.message` of a failed task. */
  language?: Language;
  signal?: AbortSignal;
}

export interface ListOptions {
  status?: TaskStatus;
  model?: string;
  /** 1–100; default 20. */
  limit?: number;
  /** A task id: list tasks older than it (`next_after` of the previous page). */
  after?: string;
  language?: Language;
  signal?: AbortSignal;
}

export interface WaitOptions {
  /** Called after every poll with the task as it is now. */
  onProgress?: (task: Task) => void;
  signal?: AbortSignal;
  /** Give up after this many ms (`VidgateTimeoutError`; the task keeps running). Default: no limit. */
  timeout?: number;
  /** First delay between polls, ms; default 1000. Grows ×1.5 per poll up to `maxPollInterval`. */
  pollInterval?: number;
  /** Default 10 000. */
  maxPollInterval?: number;
  /**
   * Follow the task over its live event stream (`GET /v1/tasks/{id}/events`) when the host offers
   * one: one connection for the whole wait instead of a request per poll. Hosts without it (APIMart
   * itself) are polled. Default true.
   */
  stream?: boolean;
}

/** Heartbeats come every 15 s by default: a stream silent for this long is dead. */
const STREAM_IDLE_MS = 45_000;
/** Streams that break this many times in a row give way to polling. */
const STREAM_ATTEMPTS = 3;

export interface DownloadOptions {
  /** `video` (default) or the `last_frame` PNG of a task submitted with return_last_frame. */
  variant?: 'video' | 'last_frame';
  signal?: AbortSignal;
  /** Called as bytes arrive; `total` is null when the server does not say. */
  onProgress?: (received: number, total: number | null) => void;
}

const STATUS_SYNONYMS: Readonly<Record<string, TaskStatus>> = {
  pending: 'pending',
  submitted: 'pending',
  queued: 'pending',
  processing: 'processing',
  running: 'processing',
  in_progress: 'processing',
  completed: 'completed',
  succeeded: 'completed',
  success: 'completed',
  failed: 'failed',
  failure: 'failed',
  expired: 'failed',
  cancelled: 'cancelled',
  canceled: 'cancelled',
};

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** A task object as any APIMart-compatible host sends it, in the SDK's shape (`url` always an array). */
export function normalizeTask(raw: unknown, what = 'a task request'): Task {
  if (typeof raw !== 'object' || raw === null) throw invalidResponse(what, raw);
  const r = raw as Record<string, unknown>;
  const id = r.id ?? r.task_id;
  if (typeof id !== 'string') throw invalidResponse(what, raw);
  const status = STATUS_SYNONYMS[String(r.status).toLowerCase()] ?? 'processing';
  const task: Task = {
    id,
    status,
    progress: status === 'completed' ? 100 : Math.min(100, Math.max(0, num(r.progress) ?? 0)),
    created: num(r.created) ?? num(r.created_at) ?? 0,
  };
  for (const field of ['estimated_time', 'completed', 'actual_time', 'cost'] as const) {
    const value = num(r[field]);
    if (value !== undefined) task[field] = value;
  }
  const result = r.result as { videos?: unknown; last_frame_url?: unknown } | undefined;
  if (result && typeof result === 'object') {
    const videos = (Array.isArray(result.videos) ? result.videos : []).map((v: { url?: unknown; expires_at?: unknown }) => ({
      url: (Array.isArray(v?.url) ? v.url : [v?.url]).filter((u): u is string => typeof u === 'string' && u !== ''),
      ...(num(v?.expires_at) !== undefined ? { expires_at: num(v.expires_at) } : {}),
    }));
    task.result = { videos, ...(typeof result.last_frame_url === 'string' ? { last_frame_url: result.last_frame_url } : {}) };
  }
  const error = r.error as Record<string, unknown> | undefined;
  if (error && typeof error === 'object') {
    task.error = { code: String(error.code ?? 'unknown'), message: String(error.message ?? ''), type: String(error.type ?? 'server_error') };
  }
  return task;
}

async function writeAll(handle: FileHandle, chunk: Buffer): Promise<void> {
  for (let offset = 0; offset < chunk.length; ) offset += (await handle.write(chunk, offset, chunk.length - offset)).bytesWritten;
}

const taskPath = (id: string) => {
  if (typeof id !== 'string' || !id.trim()) throw new VidgateValidationError('a task id is required', 'task_id');
  return `/v1/tasks/${encodeURIComponent(id)}`;
};

export class Tasks {
  constructor(private readonly http: Http) {}

  async get(id: string, options: GetOptions = {}): Promise<Task> {
    const body = await this.http.json({
      method: 'GET',
      path: taskPath(id),
      query: { language: options.language },
      retry: 'idempotent',
      signal: options.signal,
    });
    return normalizeTask(unwrapData(body), `GET ${taskPath(id)}`);
  }

  /** One page of the caller's tasks, newest first. */
  async list(options: ListOptions = {}): Promise<TaskPage> {
    const { signal, ...query } = options;
    const body = (await this.http.json({ method: 'GET', path: '/v1/tasks', query: { ...query }, retry: 'idempotent', signal })) as Record<string, unknown>;
    const data = unwrapData(body);
    if (!Array.isArray(data)) throw invalidResponse('GET /v1/tasks', body);
    const tasks = data.map((t) => normalizeTask(t, 'GET /v1/tasks'));
    return {
      data: tasks,
      has_more: body.has_more === true,
      next_after: typeof body.next_after === 'string' ? body.next_after : null,
    };
  }

  /** Cancels a pending or processing task (refunded in full); 409 once it has finished. */
  async cancel(id: string, options: { signal?: AbortSignal } = {}): Promise<Task> {
    const body = await this.http.json({ method: 'POST', path: `${taskPath(id)}/cancel`, retry: 'once', signal: options.signal });
    return normalizeTask(unwrapData(body), `POST ${taskPath(id)}/cancel`);
  }

  /**
   * Polls until the task is completed, failed or cancelled and returns it (whatever the outcome).
   * Polls start about 1 s apart and grow ×1.5 to 10 s; when the task's `estimated_time` says it
   * ends before the next poll would, the next poll comes at that moment instead.
   */
  async wait(id: string, options: WaitOptions = {}): Promise<Task> {
    const { signal, timeout, onProgress } = options;
    const first = options.pollInterval ?? 1000;
    const max = Math.max(first, options.maxPollInterval ?? 10_000);
    const deadline = timeout !== undefined ? Date.now() + timeout : Infinity;
    if (options.stream !== false) {
      const followed = await this.follow(id, options, deadline);
      if (followed) return followed;
    }
    let interval = first;
    for (;;) {
      const task = await this.get(id, { signal });
      onProgress?.(task);
      if (TERMINAL_STATUSES.has(task.status)) return task;
      const left = deadline - Date.now();
      if (left <= 0) throw new VidgateTimeoutError(id, timeout!);
      let delay = interval;
      // Expected to finish before the next poll: look again right then instead.
      if (task.estimated_time && task.created) {
        const remainingMs = (task.created + task.estimated_time) * 1000 - Date.now();
        if (remainingMs > 0 && remainingMs < delay) delay = Math.max(Math.min(first, 500), remainingMs);
      }
      interval = Math.min(max, interval * 1.5);
      await sleep(Math.min(delay, left), signal);
    }
  }

  /**
   * Follows the task's event stream until it is finished; null when the host offers none, or when
   * streams keep breaking, so that the caller polls. A stream that ends early is resumed after its
   * last event (`Last-Event-ID`), so no state is missed and none is repeated.
   */
  private async follow(id: string, options: WaitOptions, deadline: number): Promise<Task | null> {
    const path = taskPath(id);
    let lastEventId: string | undefined;
    for (let failures = 0; failures < STREAM_ATTEMPTS; ) {
      const controller = new AbortController();
      const onAbort = () => controller.abort(options.signal!.reason);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      let timedOut = false;
      const limit = Number.isFinite(deadline)
        ? setTimeout(
            () => {
              timedOut = true;
              controller.abort(new Error('timeout'));
            },
            Math.max(0, deadline - Date.now()),
          )
        : undefined;
      let idle: ReturnType<typeof setTimeout> | undefined;
      const active = () => {
        clearTimeout(idle);
        idle = setTimeout(() => controller.abort(new Error(`no event or heartbeat for ${STREAM_IDLE_MS / 1000} s`)), STREAM_IDLE_MS);
      };
      try {
        active();
        const opened = await openTaskStream(this.http, path, { lastEventId, signal: controller.signal });
        if (!opened) return null;
        if (opened.status === 204) return await this.get(id, { signal: options.signal });
        for await (const event of readEvents(opened.body, active)) {
          const task = normalizeTask(unwrapData(JSON.parse(event.data)), `GET ${path}/events`);
          lastEventId = event.id ?? lastEventId;
          failures = 0;
          options.onProgress?.(task);
          if (TERMINAL_STATUSES.has(task.status)) return task;
        }
        // Ended before the task did (the server restarted, a proxy cut it): resume it.
        failures++;
      } catch (err) {
        if (options.signal?.aborted) throw options.signal.reason;
        if (timedOut) throw new VidgateTimeoutError(id, options.timeout!);
        // Answers that say what is wrong with the task itself (401, 404 of the task) come from polling too.
        if (err instanceof VidgateError && err.status >= 400 && err.status < 500 && err.status !== 408 && err.status !== 429) return null;
        failures++;
      } finally {
        clearTimeout(idle);
        clearTimeout(limit);
        options.signal?.removeEventListener('abort', onAbort);
        controller.abort();
      }
      await sleep(Math.min(backoff(failures), Math.max(0, deadline - Date.now())), options.signal);
    }
    return null;
  }

  /**
   * Streams the result to `path` (written to `path.download`, renamed when complete; never held in
   * memory). Tries the task's signed result URL first (no API key is sent there), then
   * `GET /v1/tasks/{id}/content`; an interrupted transfer resumes with a Range request.
   */
  async download(id: string, path: string, options: DownloadOptions = {}): Promise<Download> {
    const variant = options.variant ?? 'video';
    const task = await this.get(id, { signal: options.signal });
    if (task.status !== 'completed') {
      throw new VidgateError({
        message: `task ${task.id} is ${task.status}: its result can be downloaded once it is completed`,
        status: 409,
        type: 'conflict_error',
      });
    }
    const resultUrl = variant === 'video' ? task.result?.videos[0]?.url[0] : task.result?.last_frame_url;
    const target = resolve(path);
    await mkdir(dirname(target), { recursive: true });
    const partial = `${target}.download`;
    const sources: Array<{ source: Download['source']; path: string; auth: boolean; query?: Record<string, string> }> = [];
    if (resultUrl) sources.push({ source: 'result_url', path: resultUrl, auth: false });
    sources.push({ source: 'content', path: `${taskPath(id)}/content`, auth: true, query: { variant } });

    let lastError: unknown;
    for (const s of sources) {
      try {
        const { bytes, contentType } = await this.fetchTo(s, partial, options);
        await rename(partial, target);
        return { path: target, bytes, content_type: contentType, source: s.source };
      } catch (err) {
        await rm(partial, { force: true });
        if (options.signal?.aborted) throw err;
        lastError = err;
        // An expired or unreachable result URL falls back to /content; /content's own error is final.
        if (!(err instanceof VidgateError) || s.source === 'content') throw err;
      }
    }
    throw lastError;
  }

  private async fetchTo(
    s: { path: string; auth: boolean; query?: Record<string, string> },
    file: string,
    options: DownloadOptions,
  ): Promise<{ bytes: number; contentType: string | null }> {
    const retries = this.http.options.maxRetries;
    let received = 0;
    let total: number | null = null;
    let contentType: string | null = null;
    for (let attempt = 0; ; attempt++) {
      const resuming = received > 0;
      const res = await this.http.send({
        method: 'GET',
        path: s.path,
        query: s.query,
        auth: s.auth,
        headers: resuming ? { range: `bytes=${received}-` } : {},
        retry: 'idempotent',
        signal: options.signal,
        timeout: 0,
      });
      if (resuming && res.status === 206) {
        // `bytes <start>-<end>/<size>`: the part must start where the file ends.
        const range = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
        if (!range || Number(range[1]) !== received) {
          await res.body?.cancel();
          received = 0;
          if (attempt >= retries) throw new VidgateConnectionError(`download of ${s.path}: the server resumed at the wrong offset`);
          continue;
        }
        if (range[2] !== '*') total = Number(range[2]);
      } else {
        received = 0; // a fresh start, or the server ignored Range
        const length = res.headers.get('content-length');
        total = length !== null && /^\d+$/.test(length) ? Number(length) : null;
        contentType = res.headers.get('content-type');
      }
      if (!res.body) throw new VidgateError({ message: `GET ${s.path} answered without a body`, status: res.status, type: 'invalid_response' });
      // Counted once written: after a cut, `received` is exactly what the file holds.
      const handle = await open(file, received > 0 ? 'a' : 'w');
      const sink = new Writable({
        write(chunk: Buffer, _encoding, done) {
          writeAll(handle, chunk).then(() => {
            received += chunk.length;
            options.onProgress?.(received, total);
            done();
          }, done);
        },
      });
      try {
        await pipeline(Readable.fromWeb(res.body as WebReadableStream), sink, { signal: options.signal });
      } catch (err) {
        if (options.signal?.aborted) throw options.signal.reason;
        if ((err as NodeJS.ErrnoException).path) throw err; // a local disk fault (fs errors name the file), not the network's
        if (attempt >= retries) throw new VidgateConnectionError(`download of ${s.path} was interrupted after ${received} bytes`, err);
        await sleep(backoff(attempt), options.signal);
        continue;
      } finally {
        await handle.close();
      }
      if (total !== null && received !== total) {
        if (attempt >= retries) throw new VidgateConnectionError(`download of ${s.path} ended after ${received} of ${total} bytes`);
        continue;
      }
      return { bytes: received, contentType };
    }
  }
}
