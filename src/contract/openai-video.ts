import { z } from 'zod';
import { type TaskFailure, failureMessage } from './failures.js';
import { invalid } from './invalid-request.js';
import { MODEL_ALIASES, MODEL_IDS, resolveModel, type ModelSpec, type Resolution } from './models.js';
import { ASPECTS, nearestAspect, pixelSize, type Aspect, type Size } from './sizes.js';
import { DURATION_SECONDS, type SubmitBody, type TaskRequest } from './submit.js';

/**
 * The OpenAI Videos API (`/v1/videos`, README: OpenAI Videos API) on vidgate's Seedance tasks: the
 * create parameters and how they map onto a submit body, the `video` object a task is shown as, and
 * OpenAI's error shape. A video's id is its task's id (`task_…`): both doors show the same task.
 */

/** What an absent parameter means on this door: OpenAI's default length, vidgate's standard model and 720p 16:9. */
export const OPENAI_VIDEO_DEFAULTS = { model: 'doubao-seedance-2.0', seconds: 4, resolution: '720p', aspect: '16:9' } as const satisfies {
  model: string;
  seconds: number;
  resolution: Resolution;
  aspect: Aspect;
};
/** The multipart file field (or JSON object) of the first frame. */
export const INPUT_REFERENCE = 'input_reference';

const msg = (text: string) => ({ error: () => text });
const OFFERED = [...MODEL_IDS, ...Object.keys(MODEL_ALIASES)];
const SECONDS_RULE = `seconds must be a whole number of seconds from ${DURATION_SECONDS.min} to ${DURATION_SECONDS.max} (the durations Seedance 2.0 makes), e.g. "4"`;

export const OpenAIVideoCreateBody = z
  .object(
    {
      prompt: z.string(msg('prompt is required: a text description of the video')).meta({ description: 'Text prompt that describes the video' }),
      model: z
        .string(msg('model must be a string'))
        .nullish()
        .meta({
          description: `A Seedance 2.0 model of this server (${OFFERED.join(', ')}); default ${OPENAI_VIDEO_DEFAULTS.model}. OpenAI's sora-2 models are not served here (400)`,
          examples: ['doubao-seedance-2.0-fast'],
        }),
      seconds: z
        .union([z.string(), z.number()], msg(SECONDS_RULE))
        .nullish()
        .meta({ description: `Clip length in seconds, ${DURATION_SECONDS.min}–${DURATION_SECONDS.max}, as a string; default "4"`, examples: ['4'] }),
      size: z
        .string(msg('size must be a string WIDTHxHEIGHT, e.g. "1248x704"'))
        .nullish()
        .meta({
          description:
            "WIDTHxHEIGHT, one of the model's output sizes (README: Output: 864x480, 1248x704, 1920x1088, … and their portrait, square and other ratios); default 1248x704 (720p 16:9)",
          examples: ['864x480', '1248x704'],
        }),
      input_reference: z
        .union([
          z.string().meta({ format: 'binary', description: 'multipart/form-data: the image file (JPEG, PNG, WebP or GIF, at most 20 MB)' }),
          z
            .object({
              image_url: z.string(msg('input_reference.image_url must be a string')).nullish().meta({ description: 'http(s) URL or a base64 data: URL' }),
              file_id: z.string(msg('input_reference.file_id must be a string')).nullish().meta({ description: 'not supported by this server (400)' }),
            })
            .meta({ description: 'JSON: the image by URL' }),
        ])
        .nullish()
        .meta({ description: "The video's first frame: an image file (multipart), or {image_url} (JSON)" }),
    },
    {
      error: (issue) =>
        issue.input == null
          ? 'the request body is empty: send multipart/form-data or a JSON object with prompt'
          : 'the request body must be a JSON object or a form',
    },
  )
  .meta({ id: 'OpenAIVideoCreateRequest' });
export type OpenAIVideoCreate = z.infer<typeof OpenAIVideoCreateBody>;

/** Parses create parameters (a JSON body, or the text fields of a form), refusing with the field at fault. */
export function parseVideoCreate(input: unknown): OpenAIVideoCreate {
  const parsed = OpenAIVideoCreateBody.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const param = issue.path.length > 0 ? issue.path.map(String).join('.') : undefined;
  throw invalid(issue.message, param);
}

/** Where the first frame comes from: nothing, a URL to fetch at run time, or bytes sent inline (a data: URL). */
export type InputReference = { kind: 'none' } | { kind: 'url'; url: string } | { kind: 'inline'; bytes: Buffer };

const DATA_URL = /^data:([\w.+-]+\/[\w.+-]+)?((?:;[\w-]+=[^;,]*)*);base64,([A-Za-z0-9+/\s]*={0,2})$/;

/** The `input_reference` of a JSON body (or the text fields of a form); a file is read by the route. */
export function inputReferenceOf(create: OpenAIVideoCreate): InputReference {
  const given = create.input_reference;
  if (given == null) return { kind: 'none' };
  if (typeof given !== 'string' && given.file_id != null && given.image_url == null) {
    throw invalid(
      'input_reference.file_id is not supported: this server has no Files API; send the image as a multipart file in input_reference, or its URL in input_reference.image_url',
      INPUT_REFERENCE,
    );
  }
  const url = typeof given === 'string' ? given : given.image_url;
  if (url == null || url === '') throw invalid('input_reference needs an image: a multipart file, or {"image_url": "https://…"}', INPUT_REFERENCE);
  if (url.startsWith('data:')) {
    const match = DATA_URL.exec(url);
    if (!match) throw invalid('input_reference.image_url is a data: URL that is not base64 (expected data:image/png;base64,…)', INPUT_REFERENCE);
    return { kind: 'inline', bytes: Buffer.from(match[3]!, 'base64') };
  }
  let parsed: URL | null = null;
  try {
    parsed = new URL(url);
  } catch {
    // Refused below.
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || parsed.username || parsed.password) {
    throw invalid('input_reference.image_url must be an http(s) URL without credentials, or a base64 data: URL', INPUT_REFERENCE);
  }
  return { kind: 'url', url };
}

function modelOf(name: string | null | undefined): ModelSpec {
  const wanted = name ?? OPENAI_VIDEO_DEFAULTS.model;
  const spec = resolveModel(wanted);
  if (!spec) {
    throw invalid(`model "${wanted}" is not offered by this server: it makes videos with the Seedance 2.0 models ${OFFERED.join(', ')}`, 'model');
  }
  return spec;
}

function secondsOf(value: string | number | null | undefined): number {
  if (value == null) return OPENAI_VIDEO_DEFAULTS.seconds;
  const text = String(value).trim();
  const seconds = /^\d{1,3}$/.test(text) ? Number(text) : Number.NaN;
  if (!(seconds >= DURATION_SECONDS.min && seconds <= DURATION_SECONDS.max)) throw invalid(`${SECONDS_RULE}; got ${JSON.stringify(value)}`, 'seconds');
  return seconds;
}

interface SizeOption {
  resolution: Resolution;
  aspect: Aspect;
  width: number;
  height: number;
}

const sizeText = (o: { width: number; height: number }) => `${o.width}x${o.height}`;

/** The output sizes a model makes, by resolution then aspect: what `size` may name. */
export function videoSizes(model: ModelSpec): SizeOption[] {
  return model.resolutions.flatMap((resolution) => ASPECTS.map((aspect) => ({ resolution, aspect, ...pixelSize(resolution, aspect) })));
}

function sizeOf(value: string | null | undefined, model: ModelSpec): { resolution: Resolution; aspect: Aspect } {
  if (value == null) return { resolution: OPENAI_VIDEO_DEFAULTS.resolution, aspect: OPENAI_VIDEO_DEFAULTS.aspect };
  const options = videoSizes(model);
  const match = /^\s*(\d{1,5})\s*[xX]\s*(\d{1,5})\s*$/.exec(value);
  const width = match ? Number(match[1]) : 0;
  const height = match ? Number(match[2]) : 0;
  const exact = options.find((o) => o.width === width && o.height === height);
  if (exact) return exact;
  const listed = options.map(sizeText).join(', ');
  if (!match || width === 0 || height === 0) {
    throw invalid(`size must be WIDTHxHEIGHT, one of the sizes ${model.id} makes: ${listed}; got ${JSON.stringify(value)}`, 'size');
  }
  // The nearest: the aspect nearest the one asked for, then the pixel count nearest; 1280x720 points at 1248x704.
  const aspect = nearestAspect(width, height);
  const area = (o: { width: number; height: number }) => Math.abs(Math.log((o.width * o.height) / (width * height)));
  const nearest = options.filter((o) => o.aspect === aspect).reduce((best, o) => (area(o) < area(best) ? o : best));
  throw invalid(
    `size ${width}x${height} is not a size ${model.id} makes; the nearest is ${sizeText(nearest)} (${nearest.resolution} ${nearest.aspect}). Sizes: ${listed}`,
    'size',
  );
}

/**
 * The submit body a create asks for, checked for what only this door knows (model names, seconds,
 * WxH sizes); the submit rules check the rest. Every video comes with sound (as OpenAI's do) and its
 * last frame, which `GET /v1/videos/{id}/content?variant=thumbnail` serves.
 */
export function toSubmitBody(create: OpenAIVideoCreate, firstFrameUrl: string | null): SubmitBody {
  const model = modelOf(create.model);
  const duration = secondsOf(create.seconds);
  const { resolution, aspect } = sizeOf(create.size, model);
  return {
    model: model.id,
    prompt: create.prompt,
    duration,
    resolution,
    size: aspect,
    generate_audio: true,
    return_last_frame: true,
    ...(firstFrameUrl ? { image_with_roles: [{ url: firstFrameUrl, role: 'first_frame' as const }] } : {}),
  };
}

/** Submit-rule parameters by the name this door gives them. */
export function openAIParam(param: string | undefined): string | undefined {
  if (param === undefined) return undefined;
  if (param === 'duration') return 'seconds';
  if (param === 'resolution') return 'size';
  if (/^(image_with_roles|image_urls)\b/.test(param)) return INPUT_REFERENCE;
  return param;
}

export const VIDEO_STATUSES = ['queued', 'in_progress', 'completed', 'failed'] as const;
export type VideoStatus = (typeof VIDEO_STATUSES)[number];

export const OpenAIVideo = z
  .object({
    id: z.string().meta({ description: 'the task id: the same task at /v1/tasks/{id}', examples: ['task_01KMCGF6BQGN3X28H3KSR50X5T'] }),
    object: z.literal('video'),
    model: z.string().meta({ description: 'the canonical Seedance model id' }),
    status: z.enum(VIDEO_STATUSES).meta({ description: 'pending → queued, processing → in_progress, completed, failed (and cancelled) → failed' }),
    progress: z.number().int().min(0).max(100),
    created_at: z.number().int().meta({ description: 'unix seconds' }),
    completed_at: z.number().int().nullable().meta({ description: 'unix seconds the job finished (completed or failed); null before' }),
    expires_at: z.number().int().nullable().meta({ description: 'unix seconds the content stops being served; null until completed' }),
    prompt: z.string().nullable(),
    seconds: z.string().meta({ examples: ['4'] }),
    size: z.string().meta({ description: 'WIDTHxHEIGHT of the output (`adaptive` for a task submitted with size adaptive)', examples: ['1248x704'] }),
    remixed_from_video_id: z.string().nullable().meta({ description: 'always null: remixes are not offered' }),
    error: z
      .object({ code: z.string(), message: z.string() })
      .nullable()
      .meta({ description: "why it failed (the task's error code and English message); `cancelled` for a cancelled task" }),
  })
  .meta({ id: 'OpenAIVideo' });
export type OpenAIVideo = z.infer<typeof OpenAIVideo>;

export const OpenAIVideoList = z
  .object({
    object: z.literal('list'),
    data: z.array(OpenAIVideo),
    first_id: z.string().nullable(),
    last_id: z.string().nullable().meta({ description: 'pass as `after` for the next page' }),
    has_more: z.boolean(),
  })
  .meta({ id: 'OpenAIVideoList' });

export const OpenAIVideoDeleted = z.object({ id: z.string(), object: z.literal('video.deleted'), deleted: z.literal(true) }).meta({ id: 'OpenAIVideoDeleted' });

/** What a video is made of, as stored tasks have it (TaskRecord fits). */
export interface VideoTask {
  id: string;
  status: 'pending' | 'processing' | 'completed' | 'failed' | 'cancelled';
  progress: number;
  createdAt: number;
  finishedAt: number | null;
  request: Pick<TaskRequest, 'model' | 'prompt' | 'duration' | 'size' | 'resolution'>;
  result: { expiresAt: number } | null;
  error: TaskFailure | null;
}

const unix = (ms: number) => Math.floor(ms / 1000);
const STATUS: Readonly<Record<VideoTask['status'], VideoStatus>> = {
  pending: 'queued',
  processing: 'in_progress',
  completed: 'completed',
  failed: 'failed',
  cancelled: 'failed',
};

/** Output size of a request: `adaptive` is decided by the media when the task runs. */
export const outputSizeText = (resolution: Resolution, size: Size): string => (size === 'adaptive' ? 'adaptive' : sizeText(pixelSize(resolution, size)));

/** A task as OpenAI's `video` object. */
export function toVideoObject(task: VideoTask): OpenAIVideo {
  const finished = task.status === 'completed' || task.status === 'failed' || task.status === 'cancelled';
  const error = task.error
    ? { code: task.error.code, message: failureMessage(task.error, 'en') }
    : task.status === 'cancelled'
      ? { code: 'cancelled', message: 'The video was cancelled before it was made; its price was refunded in full' }
      : task.status === 'failed'
        ? { code: 'internal_error', message: 'The video failed' }
        : null;
  return {
    id: task.id,
    object: 'video',
    model: task.request.model,
    status: STATUS[task.status],
    progress: task.status === 'completed' ? 100 : task.progress,
    created_at: unix(task.createdAt),
    completed_at: finished && task.finishedAt !== null ? unix(task.finishedAt) : null,
    expires_at: task.status === 'completed' && task.result ? unix(task.result.expiresAt) : null,
    prompt: task.request.prompt,
    seconds: String(task.request.duration),
    size: outputSizeText(task.request.resolution, task.request.size),
    remixed_from_video_id: null,
    error,
  };
}

/** OpenAI's error shape, on the /v1/videos routes only; the rest of vidgate answers its own envelope. */
export const OpenAIErrorResponse = z
  .object({
    error: z.object({
      message: z.string(),
      type: z.string().meta({ examples: ['invalid_request_error'] }),
      param: z.string().nullable().meta({ description: 'the parameter at fault, e.g. size or seconds' }),
      code: z
        .string()
        .nullable()
        .meta({ examples: ['invalid_value', 'invalid_api_key', 'not_found'] }),
    }),
  })
  .meta({ id: 'OpenAIErrorResponse' });
export type OpenAIErrorBody = z.infer<typeof OpenAIErrorResponse>;

/** type and code by HTTP status, as OpenAI's API gives them. */
const OPENAI_ERRORS: Readonly<Record<number, { type: string; code: string | null }>> = {
  400: { type: 'invalid_request_error', code: null },
  401: { type: 'invalid_request_error', code: 'invalid_api_key' },
  402: { type: 'insufficient_quota', code: 'insufficient_quota' },
  403: { type: 'invalid_request_error', code: null },
  404: { type: 'invalid_request_error', code: 'not_found' },
  408: { type: 'invalid_request_error', code: 'timeout' },
  409: { type: 'invalid_request_error', code: 'conflict' },
  413: { type: 'invalid_request_error', code: 'request_too_large' },
  429: { type: 'requests', code: 'rate_limit_exceeded' },
};

export function openAIErrorBody(status: number, message: string, param: string | undefined): OpenAIErrorBody {
  const known = OPENAI_ERRORS[status] ?? (status >= 500 ? { type: 'server_error', code: null } : { type: 'invalid_request_error', code: null });
  const code = status === 400 && param !== undefined ? 'invalid_value' : known.code;
  return { error: { message, type: known.type, param: openAIParam(param) ?? null, code } };
}
