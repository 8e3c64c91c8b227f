import { randomInt } from 'node:crypto';
import {
  bearer,
  intParam,
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
 * A fake Volcengine Ark / BytePlus ModelArk video-generation API (README: Configuration `ark`) on 127.0.0.1.
 * Base URL `<origin>/api/v3`; tasks belong to the key that created them; a task moves
 * queued → running → succeeded as it is read (GET or list), see `ArkLifecycle`; results are small
 * real files served by the fake under `/files/<id>.mp4|.png`.
 */

export type ArkRoute = 'submit' | 'poll' | 'list' | 'cancel' | 'file';
export type ArkStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'expired';

export interface ArkError {
  code: string;
  message: string;
}

export interface ArkContentItem {
  type: 'text' | 'image_url' | 'video_url' | 'audio_url';
  text?: string;
  image_url?: { url: string };
  video_url?: { url: string };
  audio_url?: { url: string };
  role?: string;
}

/** What a submit carried (as sent; only `model` and `content` are checked). */
export interface ArkSubmitBody {
  model: string;
  content: ArkContentItem[];
  resolution?: string;
  ratio?: string;
  duration?: number;
  seed?: number;
  generate_audio?: boolean;
  return_last_frame?: boolean;
  tools?: Array<{ type: string }>;
  watermark?: boolean;
  [field: string]: unknown;
}

/** `GET …/tasks/{id}` and each item of the list. */
export interface ArkTaskObject {
  id: string;
  model: string;
  status: ArkStatus;
  /** Only when succeeded. */
  content?: { video_url: string; last_frame_url?: string };
  /** Only when succeeded. */
  usage?: { completion_tokens: number; total_tokens: number };
  /** Only when failed. */
  error?: ArkError;
  seed: number;
  resolution: string;
  ratio: string;
  duration: number;
  framespersecond: 24;
  /** Unix seconds. */
  created_at: number;
  updated_at: number;
}

/** The fake's own record of a task. */
export interface FakeArkTask {
  id: string;
  /** The API key that created it; only that key can read, list or cancel it. */
  key: string;
  request: ArkSubmitBody;
  status: ArkStatus;
  polls: number;
  pollsInStatus: number;
  /** True after `advance()`: reads no longer move it. */
  pinned: boolean;
  seed: number;
  createdAt: number;
  updatedAt: number;
  error?: ArkError;
  /** Merged over the task object on every read (set by `advance(…, extra)`). */
  overrides: Partial<ArkTaskObject>;
  /** 404 everywhere from then on. */
  lost: boolean;
  /** Its files answer 404. */
  filesExpired: boolean;
}

/**
 * How reads move a task that was not `advance()`d: it is seen `queued` for `queued` reads, then
 * `running` for `running` reads, then it is `end` for good. `Infinity` holds it; change at any time.
 */
export interface ArkLifecycle {
  queued: number;
  running: number;
  end: 'succeeded' | 'failed' | 'expired';
}

export interface FakeArkOptions {
  /** Valid API keys; default `['ark-key']`. */
  keys?: string[];
  /** Known model ids; default `ARK_MODELS`. */
  models?: string[];
  /** Default `{queued: 1, running: 1, end: 'succeeded'}`. */
  lifecycle?: Partial<ArkLifecycle>;
  behaviour?: Partial<Record<ArkRoute, Behaviour>>;
}

export interface FakeArk extends FakeServer<ArkRoute> {
  /** `<origin>/api/v3`: what a channel's `base_url` would be. */
  baseUrl: string;
  keys: Set<string>;
  models: Set<string>;
  lifecycle: ArkLifecycle;
  /** Requests to the submit route, in order (rejected ones included). */
  submissions(): RecordedRequest<ArkRoute>[];
  /** Tasks in creation order. */
  tasks(): FakeArkTask[];
  task(id: string): FakeArkTask | undefined;
  /** What a GET would answer now, without counting as a read. */
  view(id: string): ArkTaskObject;
  /** Puts the task in `status` and pins it there; `extra` is merged over its task object from now on. */
  advance(id: string, status: ArkStatus, extra?: Partial<ArkTaskObject>): void;
  /** `advance(id, 'failed')` with `error` (default OutputVideoSensitiveContentDetected). */
  fail(id: string, error?: ArkError): void;
  /** `advance(id, 'expired')`. */
  expire(id: string): void;
  /** The task is answered 404 from now on (GET, list, DELETE, files). */
  lose(id: string): void;
  /** The files of this task (of every task when no id) answer 404 from now on. */
  expireFiles(id?: string): void;
}

export const ARK_MODELS = [
  'doubao-seedance-2-0-260128',
  'doubao-seedance-2-0-fast-260128',
  'doubao-seedance-2-0-mini-260615',
  'dreamina-seedance-2-0-260128',
  'dreamina-seedance-2-0-fast-260128',
  'dreamina-seedance-2-0-mini-260615',
];

export const ARK_SENSITIVE_FAILURE: ArkError = {
  code: 'OutputVideoSensitiveContentDetected',
  message: 'The request failed because the output video may contain sensitive information.',
};

const TASKS = '/api/v3/contents/generations/tasks';

/** HTTP status → Ark's `error.code` and `error.type`. */
const ERROR_KINDS: Record<number, [string, string]> = {
  400: ['InvalidParameter', 'BadRequest'],
  401: ['AuthenticationError', 'Unauthorized'],
  403: ['AccessDenied', 'Forbidden'],
  404: ['ResourceNotFound', 'NotFound'],
  409: ['InvalidAction', 'Conflict'],
  429: ['RateLimitExceeded', 'TooManyRequests'],
  500: ['InternalServiceError', 'InternalServerError'],
  502: ['ServiceUnavailable', 'BadGateway'],
  503: ['ServiceUnavailable', 'ServiceUnavailable'],
};

function arkError(status: number, message: string, param?: string): Reply {
  const [code, type] = ERROR_KINDS[status] ?? ['InternalServiceError', 'InternalServerError'];
  return jsonReply(status, { error: { code, message, type, ...(param ? { param } : {}) } });
}

/** Output pixels per frame by resolution (16:9), for `usage.completion_tokens` = pixels × fps × s / 1024. */
const PIXELS: Record<string, number> = { '480p': 864 * 480, '720p': 1248 * 704, '1080p': 1920 * 1088, '4k': 3840 * 2160 };

export async function startFakeArk(options: FakeArkOptions = {}): Promise<FakeArk> {
  const tasks = new Map<string, FakeArkTask>();
  // The returned object: handlers read its settings (keys, lifecycle, …) as they are at request time.
  let self!: FakeArk;

  const must = (id: string) => {
    const task = tasks.get(id);
    if (!task) throw new Error(`fake ark: no task ${id}`);
    return task;
  };
  const notFound = (id: string) => arkError(404, `The specified task ${id} is not found.`);
  /** The caller's live task, or undefined (another key's task is not there for it). */
  const owned = (key: string, id: string) => {
    const task = tasks.get(id);
    return task && !task.lost && task.key === key ? task : undefined;
  };
  const entered = (task: FakeArkTask) => {
    task.updatedAt = unixNow();
    if (task.status === 'failed') task.error ??= ARK_SENSITIVE_FAILURE;
  };

  function view(task: FakeArkTask): ArkTaskObject {
    const r = task.request;
    const object: ArkTaskObject = {
      id: task.id,
      model: r.model,
      status: task.status,
      seed: task.seed,
      resolution: r.resolution ?? '720p',
      ratio: r.ratio && r.ratio !== 'adaptive' ? r.ratio : '16:9',
      duration: r.duration ?? 5,
      framespersecond: 24,
      created_at: task.createdAt,
      updated_at: task.updatedAt,
    };
    if (task.status === 'succeeded') {
      object.content = { video_url: `${self.origin}/files/${task.id}.mp4` };
      if (r.return_last_frame) object.content.last_frame_url = `${self.origin}/files/${task.id}.png`;
      const tokens = Math.floor(((PIXELS[object.resolution] ?? PIXELS['720p']!) * 24 * object.duration) / 1024);
      object.usage = { completion_tokens: tokens, total_tokens: tokens };
    }
    if (task.status === 'failed' && task.error) object.error = task.error;
    return { ...object, ...task.overrides };
  }

  /** A read by the upstream's client: counts, and moves the task along the lifecycle. */
  function read(task: FakeArkTask): ArkTaskObject {
    const { queued, running, end } = self.lifecycle;
    if (
      observe<ArkStatus>(
        task,
        [
          ['queued', queued],
          ['running', running],
        ],
        end,
      )
    )
      entered(task);
    return view(task);
  }

  function submit(key: string, body: unknown): Reply {
    if (!isObject(body)) return arkError(400, 'The request body is not valid JSON.');
    if (typeof body.model !== 'string' || !self.models.has(body.model)) {
      return arkError(
        400,
        `The parameter \`model\` specified in the request is not valid: model ${JSON.stringify(body.model)} does not exist or you do not have access to it.`,
        'model',
      );
    }
    const content = body.content;
    const usable = (item: unknown) => isObject(item) && ((item.type === 'text' && typeof item.text === 'string') || item.type === 'image_url');
    if (!Array.isArray(content) || !content.some(usable)) {
      return arkError(400, 'The parameter `content` specified in the request is not valid: it must contain at least one text or image_url item.', 'content');
    }
    const request = body as ArkSubmitBody;
    const now = unixNow();
    const task: FakeArkTask = {
      id: newId(),
      key,
      request,
      status: 'queued',
      polls: 0,
      pollsInStatus: 0,
      pinned: false,
      seed: typeof request.seed === 'number' && request.seed >= 0 ? request.seed : randomInt(0, 2 ** 32),
      createdAt: now,
      updatedAt: now,
      overrides: {},
      lost: false,
      filesExpired: false,
    };
    tasks.set(task.id, task);
    created.set(task.id, created.size);
    return jsonReply(200, { id: task.id });
  }

  /** Creation order of each task, for newest-first lists. */
  const created = new Map<string, number>();

  function list(key: string, query: URLSearchParams): Reply {
    const pageNum = intParam(query.get('page_num'), 1);
    const pageSize = intParam(query.get('page_size'), 10);
    if (pageNum === null || pageNum < 1)
      return arkError(400, 'The parameter `page_num` specified in the request is not valid: it must be a positive integer.', 'page_num');
    if (pageSize === null || pageSize < 1 || pageSize > 500) {
      return arkError(400, 'The parameter `page_size` specified in the request is not valid: it must be an integer from 1 to 500.', 'page_size');
    }
    const ids = query.getAll('filter.task_ids');
    const status = query.get('filter.status');
    const model = query.get('filter.model');
    // With ids, look those up (newest first, like the full scan) instead of scanning every task.
    const candidates = ids.length
      ? [...new Set(ids)].flatMap((id) => tasks.get(id) ?? []).sort((x, y) => created.get(y.id)! - created.get(x.id)!)
      : [...tasks.values()].reverse();
    const matching = candidates.filter((t) => t.key === key && !t.lost && (!status || t.status === status) && (!model || t.request.model === model));
    const page = matching.slice((pageNum - 1) * pageSize, pageNum * pageSize);
    return jsonReply(200, { items: page.map(read), total: matching.length });
  }

  function cancel(key: string, id: string): Reply {
    const task = owned(key, id);
    if (!task) return notFound(id);
    if (task.status !== 'queued') return arkError(409, `The task ${id} is ${task.status}: only a queued task can be cancelled.`);
    task.status = 'cancelled';
    task.pollsInStatus = 0;
    entered(task);
    return jsonReply(200, {});
  }

  function newId(): string {
    const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
    for (;;) {
      const id = `cgt-${stamp}-${Array.from({ length: 5 }, () => '0123456789abcdefghijklmnopqrstuvwxyz'[randomInt(36)]).join('')}`;
      if (!tasks.has(id)) return id;
    }
  }

  /** Runs `handle` with the caller's key, or answers 401. */
  const authed = (req: RecordedRequest<ArkRoute>, handle: (key: string) => Reply) => () => {
    const key = bearer(req.headers);
    return key !== null && self.keys.has(key) ? handle(key) : arkError(401, 'The API key or AK/SK in the request is missing or invalid.');
  };

  const core = await startFakeServer<ArkRoute>({
    routes: ['submit', 'poll', 'list', 'cancel', 'file'],
    initial: options.behaviour,
    errorReply: (_route, status) => arkError(status, `Fake Ark answered ${status} as told.`),
    notFound: (req) => arkError(404, `The requested resource ${req.method} ${req.path} was not found.`),
    match(req) {
      const { method, path } = req;
      if (path === TASKS && method === 'POST') return { route: 'submit', handle: authed(req, (key) => submit(key, req.body)) };
      if (path === TASKS && method === 'GET') return { route: 'list', handle: authed(req, (key) => list(key, req.query)) };
      const id = path.startsWith(`${TASKS}/`) ? decodeURIComponent(path.slice(TASKS.length + 1)) : null;
      if (id && method === 'GET') {
        return {
          route: 'poll',
          handle: authed(req, (key) => {
            const task = owned(key, id);
            return task ? jsonReply(200, read(task)) : notFound(id);
          }),
        };
      }
      if (id && method === 'DELETE') return { route: 'cancel', handle: authed(req, (key) => cancel(key, id)) };
      const file = /^\/files\/([^/]+)\.(mp4|png)$/.exec(path);
      if (file && method === 'GET') {
        return {
          route: 'file',
          handle: () => {
            const task = tasks.get(file[1]!);
            const live = task && !task.lost && !task.filesExpired && task.status === 'succeeded';
            const r = task?.request;
            return resultFileReply(file[2]!, live && r ? { ratio: r.ratio, audio: r.generate_audio !== false, lastFrame: r.return_last_frame === true } : null);
          },
        };
      }
      return null;
    },
  });
  const advance = (id: string, status: ArkStatus, extra: Partial<ArkTaskObject> = {}) => {
    const task = must(id);
    Object.assign(task, { status, pinned: true, pollsInStatus: 0 });
    Object.assign(task.overrides, extra);
    entered(task);
  };

  self = {
    ...core,
    baseUrl: `${core.origin}/api/v3`,
    keys: new Set(options.keys ?? ['ark-key']),
    models: new Set(options.models ?? ARK_MODELS),
    lifecycle: { queued: 1, running: 1, end: 'succeeded', ...options.lifecycle },
    submissions: () => core.requests.filter((r) => r.route === 'submit'),
    tasks: () => [...tasks.values()],
    task: (id) => tasks.get(id),
    view: (id) => view(must(id)),
    advance,
    fail: (id, error = ARK_SENSITIVE_FAILURE) => {
      must(id).error = error;
      advance(id, 'failed');
    },
    expire: (id) => advance(id, 'expired'),
    lose: (id) => void (must(id).lost = true),
    expireFiles: (id) => {
      for (const task of id === undefined ? tasks.values() : [must(id)]) task.filesExpired = true;
    },
  };
  return self;
}
