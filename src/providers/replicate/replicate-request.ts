import type { MediaRole, TaskRequest } from '../../contract/submit.js';
import type { SubmitInput } from '../upstream/adapter.js';
import type { Refusal } from '../types.js';
import { UpstreamError } from '../upstream/upstream-error.js';

/** Replicate's `bytedance/seedance-2.0` and `-fast` take 480p and 720p (their `resolution` input). */
const RESOLUTIONS: ReadonlySet<string> = new Set(['480p', '720p']);

/**
 * What Replicate's Seedance 2.0 cannot do: 1080p and 4k, the last frame (its output is the video's
 * URL only), web search, and a task without a prompt.
 */
export function replicateRefusal(request: TaskRequest): Refusal | null {
  if (!RESOLUTIONS.has(request.resolution)) {
    return { param: 'resolution', message: `Replicate's Seedance 2.0 renders 480p or 720p, not ${request.resolution}` };
  }
  if (request.returnLastFrame) return { param: 'return_last_frame', message: "Replicate's Seedance 2.0 does not return the last frame" };
  if (request.tools.length) return { param: 'tools', message: "Replicate's Seedance 2.0 has no web search" };
  if (!request.prompt.trim()) return { param: 'prompt', message: "Replicate's Seedance 2.0 needs a prompt, also with images or videos" };
  return null;
}

/** The model's `input` for a vidgate task: one model takes every mode, each kind of media in its own field. */
export function replicateInput(input: SubmitInput): Record<string, unknown> {
  const { request } = input;
  const urls = (role: MediaRole) => request.media.filter((m) => m.role === role).map((m) => m.url);
  const [first] = urls('first_frame');
  const [last] = urls('last_frame');
  const [images, videos, audios] = [urls('reference_image'), urls('reference_video'), urls('reference_audio')];
  return {
    prompt: request.prompt,
    ...(first ? { image: first } : {}),
    ...(last ? { last_frame_image: last } : {}),
    ...(images.length ? { reference_images: images } : {}),
    ...(videos.length ? { reference_videos: videos } : {}),
    ...(audios.length ? { reference_audios: audios } : {}),
    duration: request.duration,
    resolution: request.resolution,
    // Replicate's aspect_ratio takes vidgate's values as they are, "adaptive" included.
    aspect_ratio: request.size,
    generate_audio: request.generateAudio,
    seed: input.seed,
  };
}

const MODEL = /^([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+)(?::([0-9a-f]{8,128}))?$/;

/**
 * The channel's model id: `owner/name` runs the model's current version
 * (`POST /v1/models/{owner}/{name}/predictions`); `owner/name:version` pins one (`POST /v1/predictions`).
 */
export function replicateTarget(upstreamModel: string): { path: string; version?: string } {
  const match = MODEL.exec(upstreamModel);
  if (!match) {
    throw new UpstreamError('rejected', null, 'invalid_model', `"${upstreamModel}" is not a Replicate model: expected owner/name or owner/name:version`);
  }
  const [, owner, name, version] = match;
  return version ? { path: 'predictions', version } : { path: `models/${owner}/${name}/predictions` };
}
