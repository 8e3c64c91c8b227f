import { FPS } from '../output-format.js';
import { reversed, stillMove, fittedStill, zoompanFilter } from './still.js';
import type { ModeContext, RenderMedia } from './types.js';

/** The crossfade sits in the middle of the clip: a fifth of it, between half a second and 1.5 s. */
const FADE_SHARE = 0.2;
const FADE_FRAMES = { min: 12, max: 36 };

/**
 * First and last frame: frame 0 is the first image, the final frame the last image (both fitted to the
 * output size). The camera eases in on the first image, the last image eases out to rest whole on the
 * final frame, and a crossfade (alpha fade + overlay, frame-counted) joins them in the middle.
 * Built as three segments so only the crossfade frames pay for two zooms and a blend.
 */
export function firstLastFrame(ctx: ModeContext, first: RenderMedia, last: RenderMedia): string {
  const { graph, job, totalFrames } = ctx;
  const fadeFrames = Math.min(FADE_FRAMES.max, Math.max(FADE_FRAMES.min, Math.round(totalFrames * FADE_SHARE)));
  const fadeStart = Math.round((totalFrames - fadeFrames) / 2);
  const fadeEnd = fadeStart + fadeFrames;
  const final = totalFrames - 1;
  const moveA = stillMove(job.prompt, job.seed, 'first-frame', { min: 1.06, max: 1.14 });
  const moveB = reversed(stillMove(job.prompt, job.seed, 'last-frame', { min: 1.06, max: 1.14 }));
  const spanA = { moveStart: 0, moveEnd: fadeEnd - 1 };
  const spanB = { moveStart: fadeStart, moveEnd: final };

  const a = fittedStill(ctx, first, 'first');
  const b = fittedStill(ctx, last, 'last');
  const [a1, a2, b1, b2] = ['a', 'a', 'b', 'b'].map((n) => graph.label(n)) as [string, string, string, string];
  const [head, fadingA, fadingB, middle, tail] = ['head', 'outgoing', 'incoming', 'middle', 'tail'].map((n) => graph.label(n)) as [
    string,
    string,
    string,
    string,
    string,
  ];
  graph.add(`${a}split=2${a1}${a2}`);
  graph.add(`${b}split=2${b1}${b2}`);
  graph.add(`${a1}${zoompanFilter(ctx, moveA, { firstFrame: 0, count: fadeStart, ...spanA })}${head}`);
  graph.add(`${a2}${zoompanFilter(ctx, moveA, { firstFrame: fadeStart, count: fadeEnd - fadeStart, ...spanA })}${fadingA}`);
  graph.add(
    `${b1}${zoompanFilter(ctx, moveB, { firstFrame: fadeStart, count: fadeEnd - fadeStart, ...spanB })},format=yuva420p,` +
      `fade=t=in:s=0:n=${fadeEnd - fadeStart}:alpha=1${fadingB}`,
  );
  graph.add(`${fadingA}${fadingB}overlay=format=yuv420:shortest=1${middle}`);
  graph.add(`${b2}${zoompanFilter(ctx, moveB, { firstFrame: fadeEnd, count: totalFrames - fadeEnd, ...spanB })}${tail}`);
  const out = graph.label('flf');
  graph.add(`${head}${middle}${tail}concat=n=3:v=1:a=0,setpts=N/(${FPS}*TB)${out}`);
  return out;
}
