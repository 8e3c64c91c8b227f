import { randomInt } from 'node:crypto';
import {
  bearer,
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
 * A fake Replicate predictions API (README: Configuration `replicate`) serving ByteDance Seedance 2.0
 * on 127.0.0.1, after Replicate's HTTP API reference and the models' input schemas:
 * - `POST /v1/models/{owner}/{name}/predictions` `{input}` (the model's current version) or
 *   `POST /v1/predictions` `{version, input}`, `Authorization: Bearer <token>` → 201 and the prediction;
 * - `GET /v1/predictions/{id}` → `{id, model, version, input, status: starting|processing|succeeded|
 *   failed|canceled, output (the video's URL), error, logs, urls: {get, cancel, web}, …}`;
 * - `POST /v1/predictions/{id}/cancel` → the prediction, `canceled` unless it had already ended.
 * Errors are problem details `{title, detail, status}` (422 adds `invalid_fields`; 429 says it was
 * throttled, with Retry-After). Predictions belong to the token that made them; one moves
 * starting → processing → its end as it is read (see `ReplicateLifecycle`); outputs are small real
 * files served under `/files/<id>.mp4`.
 *
 * Stricter than Replicate where it helps the tests: input fields the model does not have are a 422.
 */

export type ReplicateRoute = 'submit' | 'poll' | 'cancel' | 'file';
export type ReplicateStatus = 'starting' | 'processing' | 'succeeded' | 'failed' | 'canceled';

export interface FakePrediction {
  id: string;
  key: string;
  /** owner/name */
  model: string;
  version: string;
  /** Which create route made it. */
  via: 'model' | 'version';
  input: Record<string, unknown>;
  status: ReplicateStatus;
  polls: number;
  pollsInStatus: number;
  pinned: boolean;
  createdAt: string;
  error?: string;
  /** Merged over the prediction object on every read. */
  overrides: Record<string, unknown>;
  lost: boolean;
  filesExpired: boolean;
}

/** Reads seen `starting`, then `processing`, then `end`. `Infinity` holds it. */
export interface ReplicateLifecycle {
  starting: number;
  processing: number;
  end: 'succeeded' | 'failed';
}

export interface FakeReplicateOptions {
  /** Valid API tokens; default `['r8-key']`. */
  keys?: string[];
  /** Model → its current version id; default `REPLICATE_MODELS`. */
  models?: Record<string, string>;
  /** Default `{starting: 1, processing: 1, end: 'succeeded'}`. */
  lifecycle?: Partial<ReplicateLifecycle>;
  behaviour?: Partial<Record<ReplicateRoute, Behaviour>>;
  /** `output` as the URL itself (the model's schema, default) or a list of one. */
  outputVariant?: 'string' | 'list';
}

export interface FakeReplicate extends FakeServer<ReplicateRoute> {
  /** `<origin>/v1`: what a channel's `base_url` would be. */
  baseUrl: string;
  keys: Set<string>;
  models: Map<string, string>;
  lifecycle: ReplicateLifecycle;
  outputVariant: 'string' | 'list';
  submissions(): RecordedRequest<ReplicateRoute>[];
  predictions(): FakePrediction[];
  prediction(id: string): FakePrediction | undefined;
  /** What a GET would answer now, without counting as a read. */
  view(id: string): Record<string, unknown>;
  /** Puts the prediction in `status` and pins it there; `extra` is merged over its object from now on. */
  advance(id: string, status: ReplicateStatus, extra?: Record<string, unknown>): void;
  /** `advance(id, 'failed')` with `error` (default `REPLICATE_SENSITIVE_FAILURE`). */
  fail(id: string, error?: string): void;
  lose(id: string): void;
  expireFiles(id?: string): void;
}

/** The versions of replicate.com/bytedance/seedance-2.0 and -fast whose API pages give their input schema. */
export const REPLICATE_MODELS: Record<string, string> = {
  'bytedance/seedance-2.0': 'd456b64a60da3903c3692f7128d491004d021bbc2e1e19c63bccb117d3f4ab7b',
  'bytedance/seedance-2.0-fast': '90388a62748fab7edda739f1df78e8cbc66cc9275cfe232888ce53dea3d5e7b5',
};

export const REPLICATE_SENSITIVE_FAILURE = 'The input or output was flagged as sensitive. Please try again with different inputs. (E005)';

const ASPECT_RATIOS = ['16:9', '4:3', '1:1', '3:4', '9:16', '21:9', 'adaptive'];
const FIELDS = [
  'prompt',
  'image',
  'last_frame_image',
  'reference_images',
  'reference_videos',
  'reference_audios',
  'duration',
  'resolution',
  'aspect_ratio',
  'generate_audio',
  'seed',
];
const TOP_LEVEL = ['input', 'version', 'webhook', 'webhook_events_filter', 'stream'];

const problem = (status: number, title: string, detail: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
  jsonReply(status, { title, detail, status, ...extra }, headers);

const invalid = (field: string, description: string, type = 'invalid') =>
  problem(422, 'Input validation failed', `- ${field}: ${description}\n`, { invalid_fields: [{ type, field, description }] });

const strings = (value: unknown) => Array.isArray(value) && value.every((v) => typeof v === 'string');

/** The Seedance 2.0 input schema as Replicate documents it; null when acceptable. */
function invalidInput(input: Record<string, unknown>): Reply | null {
  for (const field of Object.keys(input)) if (!FIELDS.includes(field)) return invalid(`input.${field}`, `Additional property ${field} is not allowed`);
  if (typeof input.prompt !== 'string' || !input.prompt.trim()) return invalid('input.prompt', 'prompt is required', 'required');
  for (const field of ['image', 'last_frame_image']) {
    if (input[field] !== undefined && typeof input[field] !== 'string') return invalid(`input.${field}`, 'Invalid type. Expected: string');
  }
  const limits = { reference_images: 9, reference_videos: 3, reference_audios: 3 } as const;
  for (const [field, max] of Object.entries(limits)) {
    if (input[field] === undefined) continue;
    if (!strings(input[field])) return invalid(`input.${field}`, 'Invalid type. Expected: array of strings');
    if ((input[field] as string[]).length > max) return invalid(`input.${field}`, `Array must have at most ${max} items`);
  }
  const refImages = (input.reference_images as string[] | undefined)?.length ?? 0;
  const refVideos = (input.reference_videos as string[] | undefined)?.length ?? 0;
  if (input.last_frame_image !== undefined && input.image === undefined)
    return invalid('input.last_frame_image', 'Only works if a first frame image is also provided');
  if ((input.image !== undefined || input.last_frame_image !== undefined) && refImages) {
    return invalid('input.reference_images', 'Cannot be used together with first/last frame images');
  }
  if ((input.reference_audios as string[] | undefined)?.length && !refImages && !refVideos) {
    return invalid('input.reference_audios', 'Requires at least one reference image or video');
  }
  const duration = input.duration;
  if (duration !== undefined && (!Number.isInteger(duration) || ((duration as number) !== -1 && ((duration as number) < 4 || (duration as number) > 15)))) {
    return invalid('input.duration', 'Invalid type or range. Expected: integer -1 or 4 to 15');
  }
  if (input.resolution !== undefined && !['480p', '720p'].includes(input.resolution as string)) {
    return invalid('input.resolution', 'input.resolution must be one of the following: "480p", "720p"', 'enum');
  }
  if (input.aspect_ratio !== undefined && !ASPECT_RATIOS.includes(input.aspect_ratio as string)) {
    return invalid('input.aspect_ratio', `input.aspect_ratio must be one of the following: ${ASPECT_RATIOS.join(', ')}`, 'enum');
  }
  if (input.generate_audio !== undefined && typeof input.generate_audio !== 'boolean')
    return invalid('input.generate_audio', 'Invalid type. Expected: boolean');
  if (input.seed !== undefined && !Number.isInteger(input.seed)) return invalid('input.seed', 'Invalid type. Expected: integer');
  return null;
}

const ID_CHARS = '0123456789abcdefghjkmnpqrstvwxyz';

export async function startFakeReplicate(options: FakeReplicateOptions = {}): Promise<FakeReplicate> {
  const predictions = new Map<string, FakePrediction>();
  let self!: FakeReplicate;

  const must = (id: string) => {
    const p = predictions.get(id);
    if (!p) throw new Error(`fake replicate: no prediction ${id}`);
    return p;
  };
  const notFound = () => problem(404, 'Not found', 'The requested resource could not be found.');
  const owned = (key: string, id: string) => {
    const p = predictions.get(id);
    return p && !p.lost && p.key === key ? p : undefined;
  };
  const terminal = (s: ReplicateStatus) => s === 'succeeded' || s === 'failed' || s === 'canceled';
  const entered = (p: FakePrediction) => {
    if (p.status === 'failed') p.error ??= REPLICATE_SENSITIVE_FAILURE;
  };

  function view(p: FakePrediction): Record<string, unknown> {
    const api = `${self.origin}/v1/predictions/${p.id}`;
    const url = `${self.origin}/files/${p.id}.mp4`;
    return {
      id: p.id,
      model: p.model,
      version: p.version,
      input: p.input,
      logs: '',
      output: p.status === 'succeeded' ? (self.outputVariant === 'list' ? [url] : url) : null,
      data_removed: false,
      error: p.status === 'failed' ? (p.error ?? REPLICATE_SENSITIVE_FAILURE) : null,
      status: p.status,
      created_at: p.createdAt,
      ...(p.status !== 'starting' ? { started_at: p.createdAt } : {}),
      ...(terminal(p.status) ? { completed_at: new Date().toISOString(), metrics: { predict_time: 1.5 } } : {}),
      urls: { get: api, cancel: `${api}/cancel`, stream: `${self.origin}/stream/${p.id}`, web: `https://replicate.com/p/${p.id}` },
      ...p.overrides,
    };
  }

  function read(p: FakePrediction): Record<string, unknown> {
    const { starting, processing, end } = self.lifecycle;
    if (
      observe<ReplicateStatus>(
        p,
        [
          ['starting', starting],
          ['processing', processing],
        ],
        end,
      )
    )
      entered(p);
    return view(p);
  }

  function create(key: string, body: unknown, target: { model: string; version: string; via: 'model' | 'version' }): Reply {
    if (!isObject(body)) return problem(400, 'Invalid request body', 'The request body must be a JSON object.');
    for (const field of Object.keys(body)) {
      if (!TOP_LEVEL.includes(field)) return invalid('', `Additional property ${field} is not allowed`, 'additional_property_not_allowed');
    }
    if (target.via === 'model' && body.version !== undefined)
      return invalid('', 'Additional property version is not allowed', 'additional_property_not_allowed');
    if (!isObject(body.input)) return invalid('', 'input is required', 'required');
    const bad = invalidInput(body.input);
    if (bad) return bad;
    let id: string;
    do id = Array.from({ length: 26 }, () => ID_CHARS[randomInt(ID_CHARS.length)]).join('');
    while (predictions.has(id));
    const p: FakePrediction = {
      id,
      key,
      ...target,
      input: body.input,
      status: 'starting',
      polls: 0,
      pollsInStatus: 0,
      pinned: false,
      createdAt: new Date().toISOString(),
      overrides: {},
      lost: false,
      filesExpired: false,
    };
    predictions.set(id, p);
    return jsonReply(201, view(p));
  }

  /** `POST /v1/predictions`: `version` is a version id, or `owner/name:id`. */
  function byVersion(key: string, body: unknown): Reply {
    const given = isObject(body) && typeof body.version === 'string' ? body.version : '';
    const id = given.includes(':') ? given.split(':')[1]! : given;
    const model = [...self.models].find(([, v]) => v === id)?.[0];
    if (!model) return invalid('version', `Invalid version or not permitted: ${given || '(none)'}`);
    return create(key, body, { model, version: id, via: 'version' });
  }

  function cancel(p: FakePrediction): Reply {
    if (!terminal(p.status)) {
      p.status = 'canceled';
      p.pollsInStatus = 0;
    }
    return jsonReply(200, view(p));
  }

  const authed = (req: RecordedRequest<ReplicateRoute>, handle: (key: string) => Reply) => () => {
    const key = bearer(req.headers);
    return key !== null && self.keys.has(key) ? handle(key) : problem(401, 'Unauthenticated', 'You did not pass a valid authentication token');
  };

  const core = await startFakeServer<ReplicateRoute>({
    routes: ['submit', 'poll', 'cancel', 'file'],
    initial: options.behaviour,
    errorReply: (_route, status) =>
      status === 429
        ? problem(429, 'Too Many Requests', 'Request was throttled. Expected available in 1 second.', {}, { 'retry-after': '1' })
        : problem(status, `HTTP ${status}`, `Fake Replicate answered ${status} as told.`),
    notFound: () => notFound(),
    match(req) {
      const { method, path } = req;
      const model = /^\/v1\/models\/([^/]+)\/([^/]+)\/predictions$/.exec(path);
      if (model && method === 'POST') {
        const name = `${model[1]}/${model[2]}`;
        const version = self.models.get(name);
        return { route: 'submit', handle: authed(req, (key) => (version ? create(key, req.body, { model: name, version, via: 'model' }) : notFound())) };
      }
      if (path === '/v1/predictions' && method === 'POST') return { route: 'submit', handle: authed(req, (key) => byVersion(key, req.body)) };
      const one = /^\/v1\/predictions\/([^/]+)(\/cancel)?$/.exec(path);
      if (one) {
        const id = decodeURIComponent(one[1]!);
        if (!one[2] && method === 'GET') {
          return {
            route: 'poll',
            handle: authed(req, (key) => {
              const p = owned(key, id);
              return p ? jsonReply(200, read(p)) : notFound();
            }),
          };
        }
        if (one[2] && method === 'POST') {
          return {
            route: 'cancel',
            handle: authed(req, (key) => {
              const p = owned(key, id);
              return p ? cancel(p) : notFound();
            }),
          };
        }
      }
      const file = /^\/files\/([^/]+)\.mp4$/.exec(path);
      if (file && method === 'GET') {
        return {
          route: 'file',
          handle: () => {
            const p = predictions.get(file[1]!);
            const live = p && !p.lost && !p.filesExpired && p.status === 'succeeded';
            return resultFileReply('mp4', live ? { ratio: p.input.aspect_ratio as string, audio: p.input.generate_audio !== false, lastFrame: false } : null);
          },
        };
      }
      return null;
    },
  });

  const advance = (id: string, status: ReplicateStatus, extra: Record<string, unknown> = {}) => {
    const p = must(id);
    Object.assign(p, { status, pinned: true, pollsInStatus: 0 });
    Object.assign(p.overrides, extra);
    entered(p);
  };

  self = {
    ...core,
    baseUrl: `${core.origin}/v1`,
    keys: new Set(options.keys ?? ['r8-key']),
    models: new Map(Object.entries(options.models ?? REPLICATE_MODELS)),
    lifecycle: { starting: 1, processing: 1, end: 'succeeded', ...options.lifecycle },
    outputVariant: options.outputVariant ?? 'string',
    submissions: () => core.requests.filter((r) => r.route === 'submit'),
    predictions: () => [...predictions.values()],
    prediction: (id) => predictions.get(id),
    view: (id) => view(must(id)),
    advance,
    fail: (id, error = REPLICATE_SENSITIVE_FAILURE) => {
      must(id).error = error;
      advance(id, 'failed');
    },
    lose: (id) => void (must(id).lost = true),
    expireFiles: (id) => {
      for (const p of id === undefined ? predictions.values() : [must(id)]) p.filesExpired = true;
    },
  };
  return self;
}
