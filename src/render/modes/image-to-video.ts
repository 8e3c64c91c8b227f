import { stillMove, fittedStill, zoompanFilter } from './still.js';
import type { ModeContext, RenderMedia } from './types.js';

/**
 * Image-to-video: frame 0 is the image fitted to the output size, then the camera eases in towards a
 * point of it chosen by the seed. Answers the label of the clip (totalFrames frames).
 */
export function imageToVideo(ctx: ModeContext, first: RenderMedia): string {
  const still = fittedStill(ctx, first, 'first');
  const move = stillMove(ctx.job.prompt, ctx.job.seed, 'image-to-video', { min: 1.1, max: 1.22 });
  const out = ctx.graph.label('i2v');
  const last = ctx.totalFrames - 1;
  ctx.graph.add(`${still}${zoompanFilter(ctx, move, { firstFrame: 0, count: ctx.totalFrames, moveStart: 0, moveEnd: last })}${out}`);
  return out;
}
