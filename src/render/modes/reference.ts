import { proceduralChain, wholeClip } from '../procedural.js';
import { sceneFor } from '../scene.js';
import { overlayReferenceImages } from './reference-images.js';
import { blurredBackdrop, stillMove, zoompanFilter } from './still.js';
import { referenceVideoBase } from './reference-video.js';
import { styleFor } from './styles.js';
import type { ModeContext, RenderMedia } from './types.js';

/**
 * Reference media: the reference videos are the motion base (restyled when the prompt names a style);
 * without them, a blurred, darkened copy of the first image drifting under a slow camera move. The
 * reference images take turns on top. Reference audio is handled with the soundtrack.
 */
export function referenceComposite(ctx: ModeContext, images: readonly RenderMedia[], videos: readonly RenderMedia[]): string {
  const { graph, job } = ctx;
  let picture: string;
  if (videos.length > 0) {
    picture = referenceVideoBase(ctx, videos, styleFor(job.prompt));
  } else if (images.length === 0) {
    // Submit rules give audio a visual reference; should none be there, the procedural scene stands in.
    picture = graph.label('scene');
    graph.add(`${proceduralChain(job, sceneFor(job.prompt, job.seed), ctx.font, wholeClip(job))}${picture}`);
  } else {
    const backdrop = blurredBackdrop(ctx, images[0]!, 'backdrop');
    const move = stillMove(job.prompt, job.seed, 'backdrop', { min: 1.08, max: 1.2 });
    picture = graph.label('drift');
    graph.add(`${backdrop}${zoompanFilter(ctx, move, { firstFrame: 0, count: ctx.totalFrames, moveStart: 0, moveEnd: ctx.totalFrames - 1 })}${picture}`);
  }
  if (images.length === 0) return picture;
  return overlayReferenceImages(ctx, picture, images, videos.length > 0 ? 'inset' : 'centre');
}
