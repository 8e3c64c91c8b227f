import { z } from 'zod';
import { MODEL_ALIASES, MODEL_IDS, RESOLUTIONS, resolveModel, type ModelId, type ModelSpec, type Resolution } from './models.js';
import { SIZES, type Size } from './sizes.js';
import { invalid } from './invalid-request.js';

/**
 * The submit body of the seed. Types and single-field ranges live in the schema (so they reach the
 * OpenAPI document); rules that relate several fields live in `checkSubmitRules`. Unknown fields are
 * dropped; `null` counts as absent, as most clients send it for "not set".
 */
export const MAX_SEED = 4_294_967_295;
export const MAX_URL_LENGTH = 4096;
export const IMAGE_ROLES = ['first_frame', 'last_frame', 'reference_image'] as const;
export type ImageRole = (typeof IMAGE_ROLES)[number];
export const DURATION_SECONDS = { min: 4, max: 15 } as const;
/** Most entries per media field, and reference files in all (README: Submit rules). */
export const MEDIA_COUNT_LIMITS = { image_urls: 9, image_with_roles: 9, video_urls: 3, audio_urls: 3, total: 12 } as const;
/** What an absent (or null) field means; the model docs and input schema state these too. */
export const SUBMIT_DEFAULTS = {
  duration: 5,
  size: '16:9',
  resolution: '720p',
  seed: -1,
  generate_audio: false,
  return_last_frame: false,
} as const satisfies { duration: number; size: Size; resolution: Resolution; seed: number; generate_audio: boolean; return_last_frame: boolean };
const DURATION_RULE = `duration must be an integer number of seconds from ${DURATION_SECONDS.min} to ${DURATION_SECONDS.max}`;

const msg = (text: string) => ({ error: () => text });
export const MAX_CALLBACK_URL_LENGTH = 2048;
function isCallbackUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && !url.username && !url.password;
  } catch {
    return false;
  }
}
/** Where vidgate POSTs the task on every status change (signed webhooks); also a key's default. */
export const CallbackUrl = z
  .string(msg('callback_url must be a URL string'))
  .max(MAX_CALLBACK_URL_LENGTH, msg(`callback_url is longer than ${MAX_CALLBACK_URL_LENGTH} characters`))
  .refine(isCallbackUrl, msg('callback_url must be an absolute http:// or https:// URL without credentials'))
  .meta({ description: 'http(s) URL that receives the task object, signed (Standard Webhooks), on every status change' });
const urlString = (field: string) => z.string(msg(`${field} entries must be URL strings`)).meta({ description: 'http(s):// URL or asset://<id>' });

export const SubmitBody = z
  .object(
    {
      model: z
        .string(msg(`model is required: one of ${MODEL_IDS.join(', ')}`))
        .meta({ description: 'Video generation model', examples: ['doubao-seedance-2.0'] }),
      prompt: z
        .string(msg('prompt must be a string'))
        .nullish()
        .meta({ description: 'Video content description; required when no image or video reference is given' }),
      duration: z
        .number(msg(DURATION_RULE))
        .int(msg(DURATION_RULE))
        .min(DURATION_SECONDS.min, msg(DURATION_RULE))
        .max(DURATION_SECONDS.max, msg(DURATION_RULE))
        .nullish()
        .meta({ description: 'Seconds, 4 to 15; default 5' }),
      size: z
        .enum(SIZES, msg(`size must be one of ${SIZES.join(', ')}`))
        .nullish()
        .meta({ description: 'Aspect ratio; default 16:9' }),
      resolution: z
        .string(msg(`resolution must be one of ${RESOLUTIONS.join(', ')}`))
        .nullish()
        .meta({ description: "One of the model's resolutions (480p, 720p, 1080p, 4k); default 720p" }),
      seed: z
        .number(msg(`seed must be an integer from -1 to ${MAX_SEED}`))
        .int(msg(`seed must be an integer from -1 to ${MAX_SEED}`))
        .min(-1, msg(`seed must be an integer from -1 to ${MAX_SEED}`))
        .max(MAX_SEED, msg(`seed must be an integer from -1 to ${MAX_SEED}`))
        .nullish()
        .meta({ description: '-1 or absent = random' }),
      generate_audio: z.boolean(msg('generate_audio must be true or false')).nullish(),
      return_last_frame: z.boolean(msg('return_last_frame must be true or false')).nullish(),
      tools: z
        .array(
          z.object(
            { type: z.literal('web_search', msg('tools[].type must be "web_search"')) },
            msg('tools entries must be objects like {"type":"web_search"}'),
          ),
          msg('tools must be an array of {"type":"web_search"}'),
        )
        .max(1, msg('tools may list web_search at most once'))
        .nullish(),
      image_urls: z
        .array(urlString('image_urls'), msg('image_urls must be an array of URL strings'))
        .max(MEDIA_COUNT_LIMITS.image_urls, msg(`image_urls allows at most ${MEDIA_COUNT_LIMITS.image_urls} images`))
        .nullish(),
      image_with_roles: z
        .array(
          z.object(
            {
              url: urlString('image_with_roles[].url'),
              role: z.enum(IMAGE_ROLES, msg(`image_with_roles[].role must be one of ${IMAGE_ROLES.join(', ')}`)),
            },
            msg('image_with_roles entries must be objects {"url","role"}'),
          ),
          msg('image_with_roles must be an array of {"url","role"} objects'),
        )
        .max(MEDIA_COUNT_LIMITS.image_with_roles, msg(`image_with_roles allows at most ${MEDIA_COUNT_LIMITS.image_with_roles} images`))
        .nullish(),
      video_urls: z
        .array(urlString('video_urls'), msg('video_urls must be an array of URL strings'))
        .max(MEDIA_COUNT_LIMITS.video_urls, msg(`video_urls allows at most ${MEDIA_COUNT_LIMITS.video_urls} videos`))
        .nullish(),
      audio_urls: z
        .array(urlString('audio_urls'), msg('audio_urls must be an array of URL strings'))
        .max(MEDIA_COUNT_LIMITS.audio_urls, msg(`audio_urls allows at most ${MEDIA_COUNT_LIMITS.audio_urls} audio files`))
        .nullish(),
      callback_url: CallbackUrl.nullish(),
    },
    { error: (issue) => (issue.input == null ? 'the request body is empty: send a JSON object' : 'the request body must be a JSON object') },
  )
  .meta({ id: 'SubmitRequest' });
export type SubmitBody = z.infer<typeof SubmitBody>;

export type MediaKind = 'image' | 'video' | 'audio';
export type MediaRole = ImageRole | 'reference_video' | 'reference_audio';

export interface MediaInput {
  kind: MediaKind;
  role: MediaRole;
  url: string;
  /** Where the client put it, for error messages: `image_urls[1]`. */
  field: string;
  /** Set for asset://<id> references. */
  assetId: string | null;
}

/** A submit body after every rule passed: defaults applied, roles decided, names canonical. */
export interface TaskRequest {
  model: ModelId;
  prompt: string;
  duration: number;
  size: Size;
  resolution: Resolution;
  /** The seed the client asked for; -1 when random. The resolved seed is stored beside it. */
  requestedSeed: number;
  generateAudio: boolean;
  returnLastFrame: boolean;
  tools: Array<{ type: 'web_search' }>;
  media: MediaInput[];
}

export const ASSET_URL = /^asset:\/\/([A-Za-z0-9_.-]{1,128})$/;

function parseMediaUrl(url: string, field: string, model: ModelSpec): { assetId: string | null } {
  if (url.length > MAX_URL_LENGTH) throw invalid(`${field} is longer than ${MAX_URL_LENGTH} characters`, field);
  const asset = ASSET_URL.exec(url);
  if (asset) {
    if (!model.assetUrls) {
      throw invalid(`${field}: asset:// URLs are only supported by doubao-seedance-2.0 and doubao-seedance-2.0-fast, not ${model.id}`, field);
    }
    return { assetId: asset[1]! };
  }
  if (url.startsWith('asset://')) throw invalid(`${field} is not a valid asset URL: expected asset://<id> with letters, digits, _ . -`, field);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalid(`${field} is not a valid URL: expected http(s)://… or asset://<id>`, field);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw invalid(`${field} uses ${parsed.protocol.replace(':', '')}: only http, https and asset URLs are allowed`, field);
  }
  if (parsed.username || parsed.password) throw invalid(`${field} must not contain credentials`, field);
  return { assetId: null };
}

function resolveModelOrThrow(name: string): ModelSpec {
  const spec = resolveModel(name);
  if (!spec) {
    throw invalid(`model "${name}" is not supported: use one of ${[...MODEL_IDS, ...Object.keys(MODEL_ALIASES)].join(', ')}`, 'model');
  }
  return spec;
}

function resolveResolution(value: string | null | undefined, model: ModelSpec): Resolution {
  if (value == null) return SUBMIT_DEFAULTS.resolution;
  const normalized = value.toLowerCase() as Resolution;
  if (!model.resolutions.includes(normalized)) {
    throw invalid(`resolution "${value}" is not available for ${model.id}: use one of ${model.resolutions.join(', ')}`, 'resolution');
  }
  return normalized;
}

function collectMedia(body: SubmitBody, model: ModelSpec): MediaInput[] {
  const media: MediaInput[] = [];
  const add = (kind: MediaKind, role: MediaRole, url: string, field: string) =>
    media.push({ kind, role, url, field, assetId: parseMediaUrl(url, field, model).assetId });

  const videos = body.video_urls ?? [];
  const audios = body.audio_urls ?? [];
  const plainImages = body.image_urls ?? [];
  // One ordinary image with no video or audio is image-to-video; anything else makes every image a reference.
  const singleFirstFrame = plainImages.length === 1 && videos.length === 0 && audios.length === 0 && !ASSET_URL.test(plainImages[0]!);
  plainImages.forEach((url, i) => add('image', singleFirstFrame ? 'first_frame' : 'reference_image', url, `image_urls[${i}]`));
  (body.image_with_roles ?? []).forEach((item, i) => add('image', item.role, item.url, `image_with_roles[${i}].url`));
  videos.forEach((url, i) => add('video', 'reference_video', url, `video_urls[${i}]`));
  audios.forEach((url, i) => add('audio', 'reference_audio', url, `audio_urls[${i}]`));
  return media;
}

function checkRoleRules(body: SubmitBody, media: MediaInput[]): void {
  if (body.image_urls?.length && body.image_with_roles?.length) {
    throw invalid('image_urls and image_with_roles cannot be used together: send one of them', 'image_with_roles');
  }
  const roles = body.image_with_roles ?? [];
  const firstFrames = roles.filter((r) => r.role === 'first_frame').length;
  const lastFrames = roles.filter((r) => r.role === 'last_frame').length;
  if (firstFrames > 1) throw invalid('image_with_roles allows at most one first_frame', 'image_with_roles');
  if (lastFrames > 1) throw invalid('image_with_roles allows at most one last_frame', 'image_with_roles');
  if (lastFrames === 1 && firstFrames === 0) throw invalid('image_with_roles: a last_frame needs a first_frame', 'image_with_roles');
  if (firstFrames + lastFrames > 0) {
    if (roles.some((r) => r.role === 'reference_image')) {
      throw invalid('image_with_roles: first_frame/last_frame cannot be mixed with reference_image', 'image_with_roles');
    }
    if (body.video_urls?.length) throw invalid('video_urls cannot be used with first_frame/last_frame images', 'video_urls');
    if (body.audio_urls?.length) throw invalid('audio_urls cannot be used with first_frame/last_frame images', 'audio_urls');
  }
  const audios = media.filter((m) => m.kind === 'audio').length;
  const visualReferences = media.filter((m) => m.kind === 'video' || m.role === 'reference_image').length;
  if (audios > 0 && visualReferences === 0) {
    throw invalid('audio_urls needs at least one reference image or reference video', 'audio_urls');
  }
  if (media.length > MEDIA_COUNT_LIMITS.total) {
    throw invalid(`at most ${MEDIA_COUNT_LIMITS.total} reference files in all are allowed; got ${media.length}`, 'image_urls');
  }
}

function checkPrompt(prompt: string, media: MediaInput[], model: ModelSpec): void {
  const hasVisualInput = media.some((m) => m.kind === 'image' || m.kind === 'video');
  if (!prompt.trim() && !hasVisualInput) {
    throw invalid('prompt is required for text-to-video (no image or video reference was given)', 'prompt');
  }
  if (model.promptLimit !== null) {
    const length = [...prompt].length;
    if (length > model.promptLimit) {
      throw invalid(`prompt is ${length} characters; ${model.id} allows at most ${model.promptLimit}`, 'prompt');
    }
  }
}

/** Applies every rule of README: Submit rules that needs no database; asset ownership is checked by the caller. */
export function checkSubmitRules(body: SubmitBody): TaskRequest {
  const model = resolveModelOrThrow(body.model);
  const resolution = resolveResolution(body.resolution, model);
  const media = collectMedia(body, model);
  checkRoleRules(body, media);
  const prompt = body.prompt ?? '';
  checkPrompt(prompt, media, model);
  return {
    model: model.id,
    prompt,
    duration: body.duration ?? SUBMIT_DEFAULTS.duration,
    size: body.size ?? SUBMIT_DEFAULTS.size,
    resolution,
    requestedSeed: body.seed ?? SUBMIT_DEFAULTS.seed,
    generateAudio: body.generate_audio ?? SUBMIT_DEFAULTS.generate_audio,
    returnLastFrame: body.return_last_frame ?? SUBMIT_DEFAULTS.return_last_frame,
    tools: body.tools ?? [],
    media,
  };
}
