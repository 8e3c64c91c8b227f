import { ulid } from 'ulid';
import {
  bearer,
  isObject,
  jsonReply,
  observe,
  resultFileReply,
  startFakeServer,
  unixNow,
  type Behaviour,
  type FakeServer,
  type RecordedRequest,
  type Reply,
} from './fake-server.js';

/**
 * A fake APIMart-compatible video API (README: API, §8 `apimart`) on 127.0.0.1: submit, task status and
 * cancel under `/v1`, errors in the §2.3 envelope. Tasks belong to the key that created them; a task
 * moves pending → processing → completed as it is read, see `ApimartLifecycle`; results are small
 * real files served by the fake under `/files/<id>.mp4|.png`.
 */

export type ApimartRoute = 'submit' | 'poll' | 'cancel' | 'file';
export type ApimartStatus = 'pending' | 'processing' | 'completed' | 'failed' | 'cancelled';

export interface ApimartError {
  code: string;
  message: string;
  type: string;
}

/** What a submit carried (as sent; only `model` and prompt-or-media are checked). */
export interface ApimartSubmitBody {
  model: string;
  prompt?: string;
  duration?: number;
  size?: string;
  resolution?: string;
  seed?: number;
  generate_audio?: boolean;
  return_last_frame?: boolean;
  image_urls?: string[];
  image_with_roles?: Array<{ url: string; role: string }>;
  video_urls?: string[];
  audio_urls?: string[];
  [field: string]: unknown;
}

/** `data` of `GET /v1/tasks/{id}` (README: API). */
export interface ApimartTaskObject {
  id: string;
  status: ApimartStatus;
  progress: number;
  /** Unix seconds. */
  created: number;
  estimated_time: number;
  /** Only when completed. */
  completed?: number;
  actual_time?: number;
  result?: {
    /** `url` is an array of one string, or the string itself when `urlVariant` is 'string'. */
    videos: Array<{ url: string[] | string; expires_at: number }>;
    last_frame_url?: string;
  };
  /** Only when failed. */
  error?: ApimartError;
  /** USD: 0.142 × duration. */
  cost: number;
}

/** The fake's own record of a task. */
export interface FakeApimartTask {
  id: string;
  /** The API key that created it; only that key can read or cancel it. */
  key: string;
  request: ApimartSubmitBody;
  status: ApimartStatus;
  progress: number;
  polls: number;
  pollsInStatus: number;
  /** True after `advance()`: reads no longer move it. */
  pinned: boolean;
  createdAt: number;
  /** Unix seconds, set on completion. */
  completedAt?: number;
  error?: ApimartError;
  /** Merged over the task object on every read (set by `advance(…, extra)`). */
  overrides: Partial<ApimartTaskObject>;
  lost: boolean;
  filesExpired: boolean;
}

/** Like `ArkLifecycle`: seen `pending` for `pending` reads, `processing` for `processing` reads, then `end`. */
export interface ApimartLifecycle {
  pending: number;
  processing: number;
  end: 'completed' | 'failed';
}

export interface FakeApimartOptions {
  /** Valid API keys; default `['apimart-key']`. */
  keys?: string[];
  /** Accepted models; default `APIMART_MODELS`. */
  models?: string[];
  /** Default `{pending: 1, processing: 1, end: 'completed'}`. */
  lifecycle?: Partial<ApimartLifecycle>;
  behaviour?: Partial<Record<ApimartRoute, Behaviour>>;
  /** Submit answer `data`: `[{…}]` (default) or `{…}`. */
  variant?: 'array' | 'object';
  /** `result.videos[0].url`: `["…"]` (default) or `"…"`. */
  urlVariant?: 'array' | 'string';
  /** `Retry-After` seconds on 429; default 1. */
  retryAfter?: number;
  /** Answer `X-APIMart-Response-Version: 2026-07-27` in its shape (default), or ignore it as hosts of the seed's era do. */
  speaksVersions?: boolean;
}

export interface FakeApimart extends FakeServer<ApimartRoute> {
  /** Same as `origin`: paths are `/v1/…`. */
  baseUrl: string;
  keys: Set<string>;
  models: Set<string>;
  lifecycle: ApimartLifecycle;
  variant: 'array' | 'object';
  urlVariant: 'array' | 'string';
  retryAfter: number;
  speaksVersions: boolean;
  /** Requests to the submit route, in order (rejected ones included). */
  submissions(): RecordedRequest<ApimartRoute>[];
  tasks(): FakeApimartTask[];
  task(id: string): FakeApimartTask | undefined;
  /** What a GET would answer now (`data`), without counting as a read. */
  view(id: string): ApimartTaskObject;
  /** Puts the task in `status` and pins it there; `extra` is merged over its task object from now on. */
  advance(id: string, status: ApimartStatus, extra?: Partial<ApimartTaskObject>): void;
  /** `advance(id, 'failed')` with `error` (default `APIMART_FAILURE`). */
  fail(id: string, error?: ApimartError): void;
  /** The task is answered 404 from now on (GET, cancel, files). */
  lose(id: string): void;
  /** The files of this task (of every task when no id) answer 404 from now on. */
  expireFiles(id?: string): void;
}

export const APIMART_MODELS = [
  'doubao-seedance-2.0',
  'doubao-seedance-2.0-fast',
  'doubao-seedance-2.0-face',
  'doubao-seedance-2.0-fast-face',
  'doubao-seedance-2.0-mini',
  'seedance-2.0',
  'seedance-2.0-fast',
  'seedance-2.0-face',
  'seedance-2.0-mini',
];

export const APIMART_FAILURE: ApimartError = {
  code: 'content_policy_violation',
  message: 'The generated video was flagged by content moderation',
  type: 'invalid_request_error',
};

/** HTTP status → `error.type` and the seed's message. */
const ERROR_KINDS: Record<number, [string, string]> = {
  400: ['invalid_request_error', 'Invalid request parameters'],
  401: ['authentication_error', 'Authentication failed, please check your API key'],
  402: ['payment_required', 'Insufficient account balance, please top up and try again'],
  404: ['not_found_error', 'Not found'],
  409: ['conflict_error', 'Conflict'],
  413: ['invalid_request_error', 'Request body too large'],
  429: ['rate_limit_error', 'Too many requests, please try again later'],
  500: ['server_error', 'Internal server error, please try again later'],
};

const SECONDS_KEPT = 24 * 3600;

export async function startFakeApimart(options: FakeApimartOptions = {}): Promise<FakeApimart> {
  const tasks = new Map<string, FakeApimartTask>();
  // The returned object: handlers read its settings (variant, keys, …) as they are at request time.
  let self!: FakeApimart;

  const apiError = (status: number, message?: string, param?: string): Reply => {
    const [type, fallback] = ERROR_KINDS[status] ?? [status >= 500 ? 'server_error' : 'invalid_request_error', `HTTP ${status}`];
    const headers: Record<string, string> = status === 429 ? { 'retry-after': String(self.retryAfter) } : {};
    return jsonReply(status, { error: { code: status, message: message ?? fallback, type, ...(param ? { param } : {}) } }, headers);
  };
  const notFound = (id: string) => apiError(404, `task ${id} not found`);
  const must = (id: string) => {
    const task = tasks.get(id);
    if (!task) throw new Error(`fake apimart: no task ${id}`);
    return task;
  };
  const owned = (key: string, id: string) => {
    const task = tasks.get(id);
    return task && !task.lost && task.key === key ? task : undefined;
  };
  const entered = (task: FakeApimartTask) => {
    if (task.status === 'processing') task.progress = Math.max(task.progress, 10);
    if (task.status === 'completed') task.completedAt = unixNow();
    if (task.status === 'failed') task.error ??= APIMART_FAILURE;
  };

  function view(task: FakeApimartTask): ApimartTaskObject {
    const r = task.request;
    const duration = typeof r.duration === 'number' ? r.duration : 5;
    const object: ApimartTaskObject = {
      id: task.id,
      status: task.status,
      progress: task.status === 'completed' ? 100 : task.progress,
      created: task.createdAt,
      estimated_time: 60,
      cost: Math.round(0.142 * duration * 1e6) / 1e6,
    };
    if (task.status === 'completed') {
      const completed = task.completedAt ?? unixNow();
      const url = `${self.origin}/files/${task.id}.mp4`;
      object.completed = completed;
      object.actual_time = completed - task.createdAt;
      object.result = { videos: [{ url: self.urlVariant === 'string' ? url : [url], expires_at: completed + SECONDS_KEPT }] };
      if (r.return_last_frame) object.result.last_frame_url = `${self.origin}/files/${task.id}.png`;
    }
    if (task.status === 'failed' && task.error) object.error = task.error;
    return { ...object, ...task.overrides };
  }

  function read(task: FakeApimartTask): ApimartTaskObject {
    const { pending, processing, end } = self.lifecycle;
    if (
      observe<ApimartStatus>(
        task,
        [
          ['pending', pending],
          ['processing', processing],
        ],
        end,
      )
    )
      entered(task);
    if (task.status === 'processing') task.progress = Math.min(95, task.progress + 20);
    return view(task);
  }

  /** Answers in the shape asked for by `X-APIMart-Response-Version`, as APIMart does (README: Answer versions). */
  function submit(key: string, body: unknown, asked: string | string[] | undefined): Reply {
    const version = self.speaksVersions ? asked : undefined;
    if (version !== undefined && version !== '2026-07-27') return apiError(400, 'unsupported X-APIMart-Response-Version: supported versions are 2026-07-27');
    if (!isObject(body)) return apiError(400, 'The request body must be a JSON object');
    if (typeof body.model !== 'string' || !self.models.has(body.model)) {
      return apiError(400, `model must be one of ${[...self.models].join(', ')}`, 'model');
    }
    const media = ['image_urls', 'image_with_roles', 'video_urls'].some((f) => Array.isArray(body[f]) && (body[f] as unknown[]).length > 0);
    if (!media && (typeof body.prompt !== 'string' || body.prompt.trim() === '')) {
      return apiError(400, 'prompt is required when no image or video reference is given', 'prompt');
    }
    const task: FakeApimartTask = {
      id: `task_${ulid()}`,
      key,
      request: body as ApimartSubmitBody,
      status: 'pending',
      progress: 0,
      polls: 0,
      pollsInStatus: 0,
      pinned: false,
      createdAt: unixNow(),
      overrides: {},
      lost: false,
      filesExpired: false,
    };
    tasks.set(task.id, task);
    if (version === '2026-07-27') {
      return jsonReply(
        200,
        { code: 200, data: { id: task.id, object: 'generation.task', status: 'pending' }, request_id: `req_${ulid()}` },
        { 'x-apimart-response-version': version },
      );
    }
    const submitted = { status: 'submitted', task_id: task.id };
    return jsonReply(200, { code: 200, data: self.variant === 'object' ? submitted : [submitted] });
  }

  function cancel(key: string, id: string): Reply {
    const task = owned(key, id);
    if (!task) return notFound(id);
    if (task.status !== 'pending' && task.status !== 'processing') {
      return apiError(409, `task ${id} is ${task.status}: only pending or processing tasks can be cancelled`);
    }
    task.status = 'cancelled';
    task.pollsInStatus = 0;
    return jsonReply(200, { code: 200, data: view(task) });
  }

  const authed = (req: RecordedRequest<ApimartRoute>, handle: (key: string) => Reply) => () => {
    const key = bearer(req.headers);
    return key !== null && self.keys.has(key) ? handle(key) : apiError(401);
  };

  const core = await startFakeServer<ApimartRoute>({
    routes: ['submit', 'poll', 'cancel', 'file'],
    initial: options.behaviour,
    errorReply: (_route, status) => apiError(status),
    notFound: (req) => apiError(404, `no route ${req.method} ${req.path}`),
    match(req) {
      const { method, path } = req;
      if (path === '/v1/videos/generations' && method === 'POST')
        return { route: 'submit', handle: authed(req, (key) => submit(key, req.body, req.headers['x-apimart-response-version'])) };
      const task = /^\/v1\/tasks\/([^/]+)(\/cancel)?$/.exec(path);
      const id = task ? decodeURIComponent(task[1]!) : '';
      if (task && !task[2] && method === 'GET') {
        return {
          route: 'poll',
          handle: authed(req, (key) => {
            const found = owned(key, id);
            return found ? jsonReply(200, { code: 200, data: read(found) }) : notFound(id);
          }),
        };
      }
      if (task?.[2] && method === 'POST') return { route: 'cancel', handle: authed(req, (key) => cancel(key, id)) };
      const file = /^\/files\/([^/]+)\.(mp4|png)$/.exec(path);
      if (file && method === 'GET') {
        return {
          route: 'file',
          handle: () => {
            const t = tasks.get(file[1]!);
            const live = t && !t.lost && !t.filesExpired && t.status === 'completed';
            const r = t?.request;
            return resultFileReply(file[2]!, live && r ? { ratio: r.size, audio: r.generate_audio === true, lastFrame: r.return_last_frame === true } : null);
          },
        };
      }
      return null;
    },
  });

  const advance = (id: string, status: ApimartStatus, extra: Partial<ApimartTaskObject> = {}) => {
    const task = must(id);
    Object.assign(task, { status, pinned: true, pollsInStatus: 0 });
    Object.assign(task.overrides, extra);
    entered(task);
  };

  self = {
    ...core,
    baseUrl: core.origin,
    keys: new Set(options.keys ?? ['apimart-key']),
    models: new Set(options.models ?? APIMART_MODELS),
    lifecycle: { pending: 1, processing: 1, end: 'completed', ...options.lifecycle },
    variant: options.variant ?? 'array',
    speaksVersions: options.speaksVersions ?? true,
    urlVariant: options.urlVariant ?? 'array',
    retryAfter: options.retryAfter ?? 1,
    submissions: () => core.requests.filter((r) => r.route === 'submit'),
    tasks: () => [...tasks.values()],
    task: (id) => tasks.get(id),
    view: (id) => view(must(id)),
    advance,
    fail: (id, error = APIMART_FAILURE) => {
      must(id).error = error;
      advance(id, 'failed');
    },
    lose: (id) => void (must(id).lost = true),
    expireFiles: (id) => {
      for (const t of id === undefined ? tasks.values() : [must(id)]) t.filesExpired = true;
    },
  };
  return self;
}
