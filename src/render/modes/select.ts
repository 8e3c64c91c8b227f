import type { RenderMedia } from './types.js';

/** Which renderer a job's media call for (README: Submit rules roles, decided at submit). */
export type ModePlan =
  | { mode: 'text-to-video' }
  | { mode: 'image-to-video'; first: RenderMedia }
  | { mode: 'first-last-frame'; first: RenderMedia; last: RenderMedia }
  | { mode: 'reference'; images: RenderMedia[]; videos: RenderMedia[]; audios: RenderMedia[] };

export type Mode = ModePlan['mode'];

export function selectMode(media: readonly RenderMedia[]): ModePlan {
  if (media.length === 0) return { mode: 'text-to-video' };
  const first = media.find((m) => m.role === 'first_frame');
  const last = media.find((m) => m.role === 'last_frame');
  if (first && last) return { mode: 'first-last-frame', first, last };
  if (first) return { mode: 'image-to-video', first };
  if (last) throw new Error('a last_frame image needs a first_frame image');
  return {
    mode: 'reference',
    images: media.filter((m) => m.kind === 'image'),
    videos: media.filter((m) => m.kind === 'video'),
    audios: media.filter((m) => m.kind === 'audio'),
  };
}

/** README: Output `adaptive`: the size of the first image, else of the first video; undefined without either. */
export function adaptiveSource(media: readonly RenderMedia[]): { width: number; height: number } | undefined {
  const source = media.find((m) => m.kind === 'image' && m.width && m.height) ?? media.find((m) => m.kind === 'video' && m.width && m.height);
  return source ? { width: source.width!, height: source.height! } : undefined;
}
