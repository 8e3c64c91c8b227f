import { filterValue, num, signed } from '../filter-syntax.js';
import { FPS } from '../output-format.js';
import { coverFilters, fitChains, fitFor } from '../fit.js';
import { stillInputOptions } from '../graph.js';
import { seededRandom } from '../scene.js';
import type { ModeContext, RenderMedia } from './types.js';

/**
 * A slow camera move over a still: the zoom eases from `zoomFrom` to `zoomTo` while the view closes in on
 * (focusX, focusY), given as fractions of the picture. Zoom 1 is the whole fitted picture.
 */
export interface StillMove {
  zoomFrom: number;
  zoomTo: number;
  focusX: number;
  focusY: number;
}

/** A zoom-in towards a point, derived from prompt and seed; `purpose` keeps the moves of one job apart. */
export function stillMove(prompt: string, seed: number, purpose: string, zoom: { min: number; max: number }): StillMove {
  const rand = seededRandom(`${prompt}\0${seed}\0${purpose}`);
  return {
    zoomFrom: 1,
    zoomTo: zoom.min + (zoom.max - zoom.min) * rand(),
    focusX: 0.2 + 0.6 * rand(),
    focusY: 0.25 + 0.5 * rand(),
  };
}

/**
 * Adds the chains that decode `media` (its first frame only: an animated GIF is a still here) and fit it
 * to the output size; answers the label of that single yuv420p frame.
 */
export function fittedStill(ctx: ModeContext, media: RenderMedia, name: string): string {
  const { graph, job } = ctx;
  const input = graph.input(media.path, stillInputOptions(media.path));
  const decoded = graph.label(`${name}src`);
  const fitted = graph.label(name);
  graph.add(`[${input}:v]trim=end_frame=1,setpts=PTS-STARTPTS${decoded}`);
  const frame = { width: job.width, height: job.height };
  fitChains(graph, decoded, fitted, frame, fitFor(media, frame), media);
  return fitted;
}

/**
 * zoompan over one still frame: `count` output frames, numbered from `firstFrame` within a move that
 * spans frames `moveStart`..`moveEnd` with smoothstep easing. zoompan crops on whole pixels of the input,
 * so the input is the fitted frame (no larger), which keeps it as cheap as one scale per frame; at zoom 1
 * the crop is the whole frame and swscale copies it unchanged.
 */
export function zoompanFilter(ctx: ModeContext, move: StillMove, span: { firstFrame: number; count: number; moveStart: number; moveEnd: number }): string {
  const frame = span.firstFrame === 0 ? 'on' : `(on+${span.firstFrame})`;
  const length = Math.max(1, span.moveEnd - span.moveStart);
  const progress = `clip((${frame}${signed(-span.moveStart)})/${length},0,1)`;
  const ease = `(${progress}*${progress}*(3-2*${progress}))`;
  const zoom = `${num(move.zoomFrom)}${signed(move.zoomTo - move.zoomFrom)}*${ease}`;
  return `${[
    `zoompan=z=${filterValue(zoom)}`,
    `x=${filterValue(`(iw-iw/zoom)*${num(move.focusX)}`)}`,
    `y=${filterValue(`(ih-ih/zoom)*${num(move.focusY)}`)}`,
    `d=${span.count}`,
    `s=${ctx.job.width}x${ctx.job.height}`,
    `fps=${FPS}`,
  ].join(':')},setsar=1,setpts=N/(${FPS}*TB)`;
}

/**
 * A backdrop made from a picture: covering the frame, heavily blurred (a 1/32-size copy scaled back up),
 * darkened and desaturated so that whatever is laid over it stands out; one frame, to be moved by zoompan.
 */
export function blurredBackdrop(ctx: ModeContext, media: RenderMedia, name: string): string {
  const { graph, job } = ctx;
  const input = graph.input(media.path, stillInputOptions(media.path));
  const backdrop = graph.label(name);
  const small = { width: Math.max(16, 2 * Math.round(job.width / 32)), height: Math.max(16, 2 * Math.round(job.height / 32)) };
  graph.add(
    [
      `[${input}:v]trim=end_frame=1`,
      'setpts=PTS-STARTPTS',
      ...coverFilters(small, 'area'),
      'boxblur=1:1',
      `scale=${job.width}:${job.height}:flags=bicubic`,
      'setsar=1',
      'format=yuv420p',
      'eq=brightness=-0.12:saturation=0.45',
    ].join(',') + backdrop,
  );
  return backdrop;
}
