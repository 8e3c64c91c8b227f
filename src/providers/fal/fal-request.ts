import type { MediaRole, TaskRequest } from '../../contract/submit.js';
import type { SubmitInput } from '../upstream/adapter.js';
import type { Refusal } from '../types.js';

/**
 * fal serves Seedance 2.0 as one endpoint per mode and tier: `bytedance/seedance-2.0/<mode>` and
 * `bytedance/seedance-2.0/fast/<mode>` (README: Configuration `fal`). The channel's model id names
 * the tier; the task's media choose the mode.
 */
export type FalMode = 'text-to-video' | 'image-to-video' | 'reference-to-video';
const MODES: readonly FalMode[] = ['text-to-video', 'image-to-video', 'reference-to-video'];

/** fal's Seedance 2.0 endpoints offer 480p and 720p (their `resolution` enum). */
const RESOLUTIONS: ReadonlySet<string> = new Set(['480p', '720p']);

/** No media: text; a first frame (with or without a last one): image; references of any kind: reference. */
export function falMode(request: Pick<TaskRequest, 'media'>): FalMode {
  if (request.media.length === 0) return 'text-to-video';
  return request.media.some((m) => m.role === 'first_frame') ? 'image-to-video' : 'reference-to-video';
}

/** The endpoint id for the mode under the channel's model id; a full endpoint id in the configuration is accepted too. */
export function falEndpoint(upstreamModel: string, mode: FalMode): string {
  const id = upstreamModel.replace(/^\/+|\/+$/g, '');
  const tier = MODES.reduce((rest, m) => (rest.endsWith(`/${m}`) ? rest.slice(0, -m.length - 1) : rest), id);
  return `${tier}/${mode}`;
}

/**
 * What fal's Seedance 2.0 cannot do: 1080p and 4k, the last frame (the result is the video and its
 * seed only), web search, and a task without a prompt (every endpoint requires one).
 */
export function falRefusal(request: TaskRequest): Refusal | null {
  if (!RESOLUTIONS.has(request.resolution)) {
    return { param: 'resolution', message: `fal's Seedance 2.0 renders 480p or 720p, not ${request.resolution}` };
  }
  if (request.returnLastFrame) return { param: 'return_last_frame', message: "fal's Seedance 2.0 does not return the last frame" };
  if (request.tools.length) return { param: 'tools', message: "fal's Seedance 2.0 has no web search" };
  if (!request.prompt.trim()) return { param: 'prompt', message: "fal's Seedance 2.0 needs a prompt, also with images or videos" };
  return null;
}

/** The endpoint and the input of fal's queue submit for a vidgate task. */
export function falSubmit(input: SubmitInput): { endpoint: string; body: Record<string, unknown> } {
  const { request } = input;
  const mode = falMode(request);
  const urls = (role: MediaRole) => request.media.filter((m) => m.role === role).map((m) => m.url);
  const body: Record<string, unknown> = { prompt: request.prompt };
  if (mode === 'image-to-video') {
    body.image_url = urls('first_frame')[0];
    const [last] = urls('last_frame');
    if (last) body.end_image_url = last;
  }
  if (mode === 'reference-to-video') {
    const [images, videos, audios] = [urls('reference_image'), urls('reference_video'), urls('reference_audio')];
    if (images.length) body.image_urls = images;
    if (videos.length) body.video_urls = videos;
    if (audios.length) body.audio_urls = audios;
  }
  Object.assign(body, {
    resolution: request.resolution,
    // fal's duration is a string enum ("auto", "4" … "15"); its ratio "auto" is vidgate's "adaptive".
    duration: String(request.duration),
    aspect_ratio: request.size === 'adaptive' ? 'auto' : request.size,
    generate_audio: request.generateAudio,
    seed: input.seed,
  });
  return { endpoint: falEndpoint(input.upstreamModel, mode), body };
}
