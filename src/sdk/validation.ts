import { VidgateValidationError } from './errors.js';
import { IMAGE_ROLES, MODEL_IDS, SIZES, type GenerateParams, type ModelId } from './types.js';

/**
 * The client-side checks of README: Submit rules: everything that needs no server state (asset ownership and the
 * media themselves are checked by the server). Each failure names the parameter, like the server's 400.
 */

interface ModelRules {
  resolutions: readonly string[];
  assetUrls: boolean;
  promptLimit: number | null;
}

const RULES: Readonly<Record<ModelId, ModelRules>> = {
  'doubao-seedance-2.0': { resolutions: ['480p', '720p', '1080p', '4k'], assetUrls: true, promptLimit: 4000 },
  'doubao-seedance-2.0-fast': { resolutions: ['480p', '720p'], assetUrls: true, promptLimit: 4000 },
  'doubao-seedance-2.0-face': { resolutions: ['480p', '720p', '1080p'], assetUrls: false, promptLimit: 4000 },
  'doubao-seedance-2.0-fast-face': { resolutions: ['480p', '720p'], assetUrls: false, promptLimit: 4000 },
  'doubao-seedance-2.0-mini': { resolutions: ['480p', '720p'], assetUrls: false, promptLimit: null },
};

export const MAX_SEED = 4_294_967_295;
const MAX_URL_LENGTH = 4096;
const ASSET_URL = /^asset:\/\/[A-Za-z0-9_.-]{1,128}$/;

/** The canonical model id of a name or alias (`seedance-2.0-fast` → `doubao-seedance-2.0-fast`). */
export function canonicalModel(name: string): ModelId | undefined {
  const id = name.startsWith('seedance-') ? `doubao-${name}` : name;
  return (MODEL_IDS as readonly string[]).includes(id) ? (id as ModelId) : undefined;
}

const fail = (message: string, param: string): never => {
  throw new VidgateValidationError(message, param);
};

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const present = (v: unknown) => v !== undefined && v !== null;

function stringArray(value: unknown, field: string, max: number, noun: string): string[] {
  if (!present(value)) return [];
  if (!Array.isArray(value)) return fail(`${field} must be an array of URL strings`, field);
  if (value.length > max) fail(`${field} allows at most ${max} ${noun}; got ${value.length}`, field);
  value.forEach((v, i) => typeof v !== 'string' && fail(`${field} entries must be URL strings`, `${field}[${i}]`));
  return value as string[];
}

function checkUrl(url: string, field: string, model: ModelId, rules: ModelRules): void {
  if (url.length > MAX_URL_LENGTH) fail(`${field} is longer than ${MAX_URL_LENGTH} characters`, field);
  if (url.startsWith('asset://')) {
    if (!ASSET_URL.test(url)) fail(`${field} is not a valid asset URL: expected asset://<id> with letters, digits, _ . -`, field);
    if (!rules.assetUrls) fail(`${field}: asset:// URLs are only supported by doubao-seedance-2.0 and doubao-seedance-2.0-fast, not ${model}`, field);
    return;
  }
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    fail(`${field} is not a valid URL: expected http(s)://… or asset://<id>`, field);
  }
  if (parsed!.protocol !== 'http:' && parsed!.protocol !== 'https:') {
    fail(`${field} uses ${parsed!.protocol.replace(':', '')}: only http, https and asset URLs are allowed`, field);
  }
  if (parsed!.username || parsed!.password) fail(`${field} must not contain credentials`, field);
}

/** Throws `VidgateValidationError` naming the first parameter that breaks a rule of README: Submit rules. */
export function validateGenerateParams(params: GenerateParams): void {
  if (typeof params !== 'object' || params === null || Array.isArray(params)) fail('the parameters must be an object', 'model');
  const p = params as unknown as Record<string, unknown>;

  if (typeof p.model !== 'string') fail(`model is required: one of ${MODEL_IDS.join(', ')}`, 'model');
  const model =
    canonicalModel(p.model as string) ??
    fail(`model "${String(p.model)}" is not supported: use one of ${MODEL_IDS.join(', ')} (or seedance-2.0… aliases)`, 'model');
  const rules = RULES[model];

  if (present(p.prompt) && typeof p.prompt !== 'string') fail('prompt must be a string', 'prompt');
  if (present(p.duration) && !(isInt(p.duration) && p.duration >= 4 && p.duration <= 15)) {
    fail('duration must be an integer number of seconds from 4 to 15', 'duration');
  }
  if (present(p.size) && !(SIZES as readonly unknown[]).includes(p.size)) fail(`size must be one of ${SIZES.join(', ')}`, 'size');
  if (present(p.resolution)) {
    const r = typeof p.resolution === 'string' ? p.resolution.toLowerCase() : undefined;
    if (r === undefined || !rules.resolutions.includes(r)) {
      fail(`resolution "${String(p.resolution)}" is not available for ${model}: use one of ${rules.resolutions.join(', ')}`, 'resolution');
    }
  }
  if (present(p.seed) && !(isInt(p.seed) && p.seed >= -1 && p.seed <= MAX_SEED)) fail(`seed must be an integer from -1 to ${MAX_SEED}`, 'seed');
  for (const flag of ['generate_audio', 'return_last_frame'] as const) {
    if (present(p[flag]) && typeof p[flag] !== 'boolean') fail(`${flag} must be true or false`, flag);
  }
  if (present(p.tools)) {
    const tools = p.tools;
    if (!Array.isArray(tools) || !tools.every((t) => typeof t === 'object' && t !== null && (t as { type?: unknown }).type === 'web_search')) {
      fail('tools must be an array of {"type":"web_search"}', 'tools');
    }
    if ((tools as unknown[]).length > 1) fail('tools may list web_search at most once', 'tools');
  }

  const images = stringArray(p.image_urls, 'image_urls', 9, 'images');
  const videos = stringArray(p.video_urls, 'video_urls', 3, 'videos');
  const audios = stringArray(p.audio_urls, 'audio_urls', 3, 'audio files');
  let roles: Array<{ url: string; role: string }> = [];
  if (present(p.image_with_roles)) {
    if (!Array.isArray(p.image_with_roles)) fail('image_with_roles must be an array of {"url","role"} objects', 'image_with_roles');
    roles = p.image_with_roles as typeof roles;
    if (roles.length > 9) fail(`image_with_roles allows at most 9 images; got ${roles.length}`, 'image_with_roles');
    roles.forEach((item, i) => {
      if (typeof item !== 'object' || item === null || typeof item.url !== 'string') {
        fail('image_with_roles entries must be objects {"url","role"}', `image_with_roles[${i}]`);
      }
      if (!(IMAGE_ROLES as readonly string[]).includes(item.role)) {
        fail(`image_with_roles[].role must be one of ${IMAGE_ROLES.join(', ')}`, `image_with_roles[${i}].role`);
      }
    });
  }

  images.forEach((url, i) => checkUrl(url, `image_urls[${i}]`, model, rules));
  roles.forEach((item, i) => checkUrl(item.url, `image_with_roles[${i}].url`, model, rules));
  videos.forEach((url, i) => checkUrl(url, `video_urls[${i}]`, model, rules));
  audios.forEach((url, i) => checkUrl(url, `audio_urls[${i}]`, model, rules));

  if (images.length && roles.length) fail('image_urls and image_with_roles cannot be used together: send one of them', 'image_with_roles');
  const firstFrames = roles.filter((r) => r.role === 'first_frame').length;
  const lastFrames = roles.filter((r) => r.role === 'last_frame').length;
  if (firstFrames > 1) fail('image_with_roles allows at most one first_frame', 'image_with_roles');
  if (lastFrames > 1) fail('image_with_roles allows at most one last_frame', 'image_with_roles');
  if (lastFrames === 1 && firstFrames === 0) fail('image_with_roles: a last_frame needs a first_frame', 'image_with_roles');
  if (firstFrames + lastFrames > 0) {
    if (roles.some((r) => r.role === 'reference_image'))
      fail('image_with_roles: first_frame/last_frame cannot be mixed with reference_image', 'image_with_roles');
    if (videos.length) fail('video_urls cannot be used with first_frame/last_frame images', 'video_urls');
    if (audios.length) fail('audio_urls cannot be used with first_frame/last_frame images', 'audio_urls');
  }
  // One plain image alone is a first frame; any other image is a reference image.
  const singleFirstFrame = images.length === 1 && !videos.length && !audios.length && !images[0]!.startsWith('asset://');
  const referenceImages = (singleFirstFrame ? 0 : images.length) + roles.filter((r) => r.role === 'reference_image').length;
  if (audios.length && !videos.length && !referenceImages) fail('audio_urls needs at least one reference image or reference video', 'audio_urls');
  const total = images.length + roles.length + videos.length + audios.length;
  if (total > 12) fail(`at most 12 reference files in all are allowed; got ${total}`, 'image_urls');

  const prompt = typeof p.prompt === 'string' ? p.prompt : '';
  if (!prompt.trim() && !images.length && !roles.length && !videos.length) {
    fail('prompt is required for text-to-video (no image or video reference was given)', 'prompt');
  }
  if (rules.promptLimit !== null) {
    const length = [...prompt].length;
    if (length > rules.promptLimit) fail(`prompt is ${length} characters; ${model} allows at most ${rules.promptLimit}`, 'prompt');
  }
}
