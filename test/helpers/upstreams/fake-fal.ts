import { randomInt, randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import {
  isObject,
  jsonReply,
  observe,
  resultFileReply,
  startFakeServer,
  type Behaviour,
  type FakeServer,
  type RecordedRequest,
  type Reply,
} from './fake-server.js';

/**
 * A fake fal queue API (README: Configuration `fal`) serving ByteDance Seedance 2.0 on 127.0.0.1,
 * after fal's docs (docs.fal.ai "Queue", the Seedance 2.0 model pages):
 * - `POST /{endpoint}` with `Authorization: Key <key>` queues a request → `{request_id, response_url,
 *   status_url, cancel_url, queue_position}`; endpoints are `bytedance/seedance-2.0[/fast]/{text,image,reference}-to-video`;
 * - `GET /{app}/requests/{id}/status` → `{status: IN_QUEUE|IN_PROGRESS|COMPLETED, …}` (HTTP 202 until
 *   COMPLETED, then 200), where `{app}` is the endpoint's owner/name only: fal's status, result and
 *   cancel paths leave the endpoint's subpath out, so a path with it is a 404 here;
 * - `GET /{app}/requests/{id}` → the result `{video: {url, …}, seed}`, or the request's error
 *   (`{detail: [{loc, msg, type}]}`, 422 for a failed one), 400 before it is COMPLETED;
 * - `PUT /{app}/requests/{id}/cancel` → 202 `{status: "CANCELLATION_REQUESTED"}`, 400
 *   `{status: "ALREADY_COMPLETED"}` once it is.
 * Errors are `{detail, error_type?}`. Requests belong to the key that made them; a request moves
 * IN_QUEUE → IN_PROGRESS → COMPLETED as its status is read (see `FalLifecycle`); results are small real
 * files served under `/files/<id>.mp4`.
 *
 * Stricter than fal where it helps the tests: the input is checked against the endpoint's schema,
 * unknown fields included (422 naming the field). Assumed, since fal's docs do not say: a cancelled
 * request reads COMPLETED and its result answers 400 `{detail: "Request was cancelled"}`.
 */

export type FalRoute = 'submit' | 'status' | 'result' | 'cancel' | 'file';
export type FalQueueStatus = 'IN_QUEUE' | 'IN_PROGRESS' | 'COMPLETED';
/** How a COMPLETED request ended (fal's status says COMPLETED for all three). */
export type FalOutcome = 'succeeded' | 'failed' | 'cancelled';

/** One item of fal's `detail` list. */
export interface FalErrorItem {
  loc: string[];
  msg: string;
  type: string;
}

export interface FakeFalRequest {
  /** fal's request_id (a UUID). */
  id: string;
  key: string;
  /** The endpoint it was submitted to, e.g. `bytedance/seedance-2.0/fast/text-to-video`. */
  endpoint: string;
  /** The endpoint's owner/name: where its status, result and cancel live. */
  app: string;
  input: Record<string, unknown>;
  status: FalQueueStatus;
  outcome: FalOutcome | null;
  polls: number;
  pollsInStatus: number;
  pinned: boolean;
  seed: number;
  error?: FalErrorItem;
  /** A cancel arrived while it ran: the next read completes it as cancelled. */
  cancelRequested: boolean;
  lost: boolean;
  filesExpired: boolean;
}

/** Status reads seen IN_QUEUE, then IN_PROGRESS, then COMPLETED with `end`. `Infinity` holds it. */
export interface FalLifecycle {
  inQueue: number;
  inProgress: number;
  end: 'succeeded' | 'failed';
}

export interface FakeFalOptions {
  /** Valid keys; default `['fal-key']`. */
  keys?: string[];
  /** Known endpoint ids; default `FAL_ENDPOINTS`. */
  endpoints?: string[];
  /** Default `{inQueue: 1, inProgress: 1, end: 'succeeded'}`. */
  lifecycle?: Partial<FalLifecycle>;
  behaviour?: Partial<Record<FalRoute, Behaviour>>;
  /** The submit answer carries response_url, status_url and cancel_url (default); false: request_id alone. */
  answerUrls?: boolean;
}

export interface FakeFal extends FakeServer<FalRoute> {
  /** Same as `origin`: what a channel's `base_url` would be (`https://queue.fal.run` for the real one). */
  baseUrl: string;
  keys: Set<string>;
  endpoints: Set<string>;
  lifecycle: FalLifecycle;
  answerUrls: boolean;
  submissions(): RecordedRequest<FalRoute>[];
  requestsMade(): FakeFalRequest[];
  request(id: string): FakeFalRequest | undefined;
  /** Puts the request in `status` (COMPLETED with `outcome`) and pins it there. */
  advance(id: string, status: FalQueueStatus, outcome?: FalOutcome): void;
  /** COMPLETED as failed with `error` (default `FAL_CONTENT_FAILURE`). */
  fail(id: string, error?: FalErrorItem): void;
  /** 404 everywhere from now on. */
  lose(id: string): void;
  /** The result files of this request (of all when no id) answer 404 from now on. */
  expireFiles(id?: string): void;
}

export const FAL_ENDPOINTS = ['', '/fast'].flatMap((tier) =>
  ['text-to-video', 'image-to-video', 'reference-to-video'].map((mode) => `bytedance/seedance-2.0${tier}/${mode}`),
);

export const FAL_CONTENT_FAILURE: FalErrorItem = {
  loc: ['body', 'prompt'],
  msg: 'The content could not be processed because it contained material flagged by a content checker.',
  type: 'content_policy_violation',
};

const ASPECT_RATIOS = ['auto', '21:9', '16:9', '4:3', '1:1', '3:4', '9:16'];
const DURATIONS = ['auto', ...Array.from({ length: 12 }, (_, i) => String(i + 4))];
const COMMON_FIELDS = ['prompt', 'resolution', 'duration', 'aspect_ratio', 'generate_audio', 'seed', 'end_user_id'];
const MODE_FIELDS: Record<string, string[]> = {
  'text-to-video': [],
  'image-to-video': ['image_url', 'end_image_url'],
  'reference-to-video': ['image_urls', 'video_urls', 'audio_urls'],
};

const fail422 = (field: string, msg: string, type = 'value_error'): Reply => jsonReply(422, { detail: [{ loc: ['body', field], msg, type }] });

/** The endpoint's input schema as fal documents it; null when the input is acceptable. */
function invalidInput(endpoint: string, input: Record<string, unknown>): Reply | null {
  const mode = endpoint.split('/').pop()!;
  const allowed = [...COMMON_FIELDS, ...(MODE_FIELDS[mode] ?? [])];
  for (const field of Object.keys(input)) if (!allowed.includes(field)) return fail422(field, `Extra inputs are not permitted`, 'extra_forbidden');
  if (typeof input.prompt !== 'string' || !input.prompt.trim()) return fail422('prompt', 'Field required', 'missing');
  if (input.resolution !== undefined && !['480p', '720p'].includes(input.resolution as string))
    return fail422('resolution', "Input should be '480p' or '720p'", 'enum');
  if (input.duration !== undefined && !DURATIONS.includes(input.duration as string))
    return fail422('duration', `Input should be ${DURATIONS.map((d) => `'${d}'`).join(', ')}`, 'enum');
  if (input.aspect_ratio !== undefined && !ASPECT_RATIOS.includes(input.aspect_ratio as string))
    return fail422('aspect_ratio', `Input should be ${ASPECT_RATIOS.join(', ')}`, 'enum');
  if (input.generate_audio !== undefined && typeof input.generate_audio !== 'boolean')
    return fail422('generate_audio', 'Input should be a valid boolean', 'bool_type');
  if (input.seed !== undefined && !Number.isInteger(input.seed)) return fail422('seed', 'Input should be a valid integer', 'int_type');
  if (mode === 'image-to-video') {
    if (typeof input.image_url !== 'string') return fail422('image_url', 'Field required', 'missing');
    if (input.end_image_url !== undefined && typeof input.end_image_url !== 'string')
      return fail422('end_image_url', 'Input should be a valid string', 'string_type');
  }
  if (mode === 'reference-to-video') {
    const lists = { image_urls: 9, video_urls: 3, audio_urls: 3 } as const;
    let total = 0;
    for (const [field, max] of Object.entries(lists)) {
      const value = input[field];
      if (value === undefined) continue;
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) return fail422(field, 'Input should be a valid list of strings', 'list_type');
      if (value.length > max) return fail422(field, `List should have at most ${max} items`, 'too_long');
      total += value.length;
    }
    if (total > 12) return fail422('image_urls', 'Total files across all modalities must not exceed 12');
    if (
      Array.isArray(input.audio_urls) &&
      input.audio_urls.length &&
      !(Array.isArray(input.image_urls) && input.image_urls.length) &&
      !(Array.isArray(input.video_urls) && input.video_urls.length)
    ) {
      return fail422('audio_urls', 'If audio is provided, at least one reference image or video is required');
    }
  }
  return null;
}

/** The key of `Authorization: Key <key>`, or null. */
function falKey(headers: IncomingHttpHeaders): string | null {
  const match = /^Key\s+(\S+)\s*$/.exec(headers.authorization ?? '');
  return match ? match[1]! : null;
}

const ERROR_TYPES: Record<number, string> = {
  429: 'rate_limited',
  500: 'internal_error',
  502: 'runner_incomplete_response',
  503: 'runner_scheduling_failure',
  504: 'request_timeout',
};

export async function startFakeFal(options: FakeFalOptions = {}): Promise<FakeFal> {
  const requests = new Map<string, FakeFalRequest>();
  let self!: FakeFal;

  const must = (id: string) => {
    const r = requests.get(id);
    if (!r) throw new Error(`fake fal: no request ${id}`);
    return r;
  };
  const notFound = (id: string) => jsonReply(404, { detail: `Request ${id} not found` });
  /** The caller's live request under this app, or undefined. */
  const owned = (key: string, app: string, id: string) => {
    const r = requests.get(id);
    return r && !r.lost && r.key === key && r.app === app ? r : undefined;
  };
  const complete = (r: FakeFalRequest, outcome: FalOutcome) => {
    r.status = 'COMPLETED';
    r.outcome = outcome;
    r.pollsInStatus = 0;
    if (outcome === 'failed') r.error ??= FAL_CONTENT_FAILURE;
  };
  const urls = (r: FakeFalRequest) => {
    const base = `${self.origin}/${r.app}/requests/${r.id}`;
    return { response_url: base, status_url: `${base}/status`, cancel_url: `${base}/cancel` };
  };

  function statusView(r: FakeFalRequest): Reply {
    const done = r.status === 'COMPLETED';
    const queued = r.status === 'IN_QUEUE' ? { queue_position: 0 } : {};
    return jsonReply(done ? 200 : 202, { status: r.status, request_id: r.id, ...urls(r), ...queued, logs: null, metrics: done ? { inference_time: 1.5 } : {} });
  }

  /** A status read: counts, and moves the request along the lifecycle. */
  function read(r: FakeFalRequest): Reply {
    if (r.cancelRequested && r.status !== 'COMPLETED') complete(r, 'cancelled');
    const { inQueue, inProgress, end } = self.lifecycle;
    const was = r.status;
    observe<FalQueueStatus>(
      r,
      [
        ['IN_QUEUE', inQueue],
        ['IN_PROGRESS', inProgress],
      ],
      'COMPLETED',
    );
    if (was !== 'COMPLETED' && r.status === 'COMPLETED' && !r.outcome) complete(r, end);
    return statusView(r);
  }

  function result(r: FakeFalRequest): Reply {
    if (r.status !== 'COMPLETED') return jsonReply(400, { detail: 'Request is still in progress' });
    if (r.outcome === 'cancelled') return jsonReply(400, { detail: 'Request was cancelled' });
    if (r.outcome === 'failed') return jsonReply(422, { detail: [r.error ?? FAL_CONTENT_FAILURE] });
    return jsonReply(200, {
      video: { url: `${self.origin}/files/${r.id}.mp4`, content_type: 'video/mp4', file_name: 'output.mp4', file_size: 123_456 },
      seed: r.seed,
    });
  }

  function submit(key: string, endpoint: string, body: unknown): Reply {
    if (!isObject(body)) return jsonReply(422, { detail: [{ loc: ['body'], msg: 'Input should be a valid dictionary', type: 'dict_type' }] });
    const invalid = invalidInput(endpoint, body);
    if (invalid) return invalid;
    const r: FakeFalRequest = {
      id: randomUUID(),
      key,
      endpoint,
      app: endpoint.split('/').slice(0, 2).join('/'),
      input: body,
      status: 'IN_QUEUE',
      outcome: null,
      polls: 0,
      pollsInStatus: 0,
      pinned: false,
      seed: Number.isInteger(body.seed) ? (body.seed as number) : randomInt(0, 2 ** 31),
      cancelRequested: false,
      lost: false,
      filesExpired: false,
    };
    requests.set(r.id, r);
    return jsonReply(200, { request_id: r.id, ...(self.answerUrls ? urls(r) : {}), queue_position: 0 });
  }

  function cancel(r: FakeFalRequest): Reply {
    if (r.status === 'COMPLETED') return jsonReply(400, { status: 'ALREADY_COMPLETED' });
    if (r.status === 'IN_QUEUE') complete(r, 'cancelled');
    else r.cancelRequested = true;
    return jsonReply(202, { status: 'CANCELLATION_REQUESTED' });
  }

  const authed = (req: RecordedRequest<FalRoute>, handle: (key: string) => Reply) => () => {
    const key = falKey(req.headers);
    return key !== null && self.keys.has(key) ? handle(key) : jsonReply(401, { detail: 'No user found for Key ID and Secret' });
  };

  const core = await startFakeServer<FalRoute>({
    routes: ['submit', 'status', 'result', 'cancel', 'file'],
    initial: options.behaviour,
    errorReply: (_route, status) =>
      jsonReply(status, { detail: `Fake fal answered ${status} as told.`, ...(ERROR_TYPES[status] ? { error_type: ERROR_TYPES[status] } : {}) }),
    notFound: (req) => jsonReply(404, { detail: `Path ${req.path} not found` }),
    match(req) {
      const { method, path } = req;
      const file = /^\/files\/([^/]+)\.mp4$/.exec(path);
      if (file && method === 'GET') {
        return {
          route: 'file',
          handle: () => {
            const r = requests.get(file[1]!);
            const live = r && !r.lost && !r.filesExpired && r.outcome === 'succeeded';
            return resultFileReply('mp4', live ? { ratio: r.input.aspect_ratio as string, audio: r.input.generate_audio !== false, lastFrame: false } : null);
          },
        };
      }
      const queued = /^\/(.+)\/requests\/([^/]+)(\/status|\/cancel)?$/.exec(path);
      if (queued) {
        const [, app, rawId, tail] = queued as unknown as [string, string, string, string | undefined];
        const id = decodeURIComponent(rawId);
        const withRequest = (handle: (r: FakeFalRequest) => Reply) => (key: string) => {
          const r = owned(key, app, id);
          return r ? handle(r) : notFound(id);
        };
        if (tail === '/status' && method === 'GET') return { route: 'status', handle: authed(req, withRequest(read)) };
        if (tail === undefined && method === 'GET') return { route: 'result', handle: authed(req, withRequest(result)) };
        if (tail === '/cancel' && method === 'PUT') return { route: 'cancel', handle: authed(req, withRequest(cancel)) };
        return null;
      }
      const endpoint = path.slice(1);
      if (method === 'POST' && self.endpoints.has(endpoint)) return { route: 'submit', handle: authed(req, (key) => submit(key, endpoint, req.body)) };
      return null;
    },
  });

  const advance = (id: string, status: FalQueueStatus, outcome: FalOutcome = 'succeeded') => {
    const r = must(id);
    Object.assign(r, { status, pinned: true, pollsInStatus: 0 });
    if (status === 'COMPLETED') complete(r, outcome);
  };

  self = {
    ...core,
    baseUrl: core.origin,
    keys: new Set(options.keys ?? ['fal-key']),
    endpoints: new Set(options.endpoints ?? FAL_ENDPOINTS),
    lifecycle: { inQueue: 1, inProgress: 1, end: 'succeeded', ...options.lifecycle },
    answerUrls: options.answerUrls ?? true,
    submissions: () => core.requests.filter((r) => r.route === 'submit'),
    requestsMade: () => [...requests.values()],
    request: (id) => requests.get(id),
    advance,
    fail: (id, error = FAL_CONTENT_FAILURE) => {
      must(id).error = error;
      advance(id, 'COMPLETED', 'failed');
    },
    lose: (id) => void (must(id).lost = true),
    expireFiles: (id) => {
      for (const r of id === undefined ? requests.values() : [must(id)]) r.filesExpired = true;
    },
  };
  return self;
}
