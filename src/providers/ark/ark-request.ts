import type { SubmitInput } from '../upstream/adapter.js';

type ContentItem =
  | { type: 'text'; text: string }
  | { type: 'image_url'; image_url: { url: string }; role: 'first_frame' | 'last_frame' | 'reference_image' }
  | { type: 'video_url'; video_url: { url: string }; role: 'reference_video' }
  | { type: 'audio_url'; audio_url: { url: string }; role: 'reference_audio' };

/** The Ark `POST /contents/generations/tasks` body for a vidgate task (README: Configuration). */
export function arkTaskBody(input: SubmitInput) {
  const { request } = input;
  const content: ContentItem[] = [];
  if (request.prompt.trim()) content.push({ type: 'text', text: request.prompt });
  for (const media of request.media) {
    if (media.kind === 'image') {
      content.push({ type: 'image_url', image_url: { url: media.url }, role: media.role as 'first_frame' | 'last_frame' | 'reference_image' });
    } else if (media.kind === 'video') {
      content.push({ type: 'video_url', video_url: { url: media.url }, role: 'reference_video' });
    } else {
      content.push({ type: 'audio_url', audio_url: { url: media.url }, role: 'reference_audio' });
    }
  }
  return {
    model: input.upstreamModel,
    content,
    resolution: request.resolution,
    ratio: request.size,
    duration: request.duration,
    seed: input.seed,
    generate_audio: request.generateAudio,
    return_last_frame: request.returnLastFrame,
    ...(request.tools.length ? { tools: request.tools } : {}),
    watermark: false,
  };
}
