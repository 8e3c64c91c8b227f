import type { FilterGraph } from './graph.js';

/**
 * How a picture is fitted to a frame: `cover` scales it to fill and crops the overflow evenly;
 * `contain-blur` shows all of it, centred, over a blurred, zoomed copy of itself filling the frame.
 */
export type Fit = 'cover' | 'contain-blur';

/** Cropping may take at most this share of a picture before it is shown whole instead. */
const MAX_COVER_LOSS = 0.2;

export interface Size {
  width: number;
  height: number;
}

/** `cover` when the aspects are close enough, else `contain-blur`; cover when the source size is unknown. */
export function fitFor(source: Partial<Size>, frame: Size): Fit {
  if (!source.width || !source.height) return 'cover';
  const ratio = source.width / source.height / (frame.width / frame.height);
  const lost = 1 - Math.min(ratio, 1 / ratio);
  return lost <= MAX_COVER_LOSS ? 'cover' : 'contain-blur';
}

/** Scale to fill and crop the centre: a plain filter list, cheap enough per frame. */
export function coverFilters(frame: Size, flags = 'bicubic'): string[] {
  return [`scale=${frame.width}:${frame.height}:force_original_aspect_ratio=increase:flags=${flags}`, `crop=${frame.width}:${frame.height}`, 'setsar=1'];
}

/** The largest even size of the source's aspect that fits in `box`. */
export function containSize(source: Size, box: Size): Size {
  const scale = Math.min(box.width / source.width, box.height / source.height);
  const even = (n: number, max: number) => Math.max(2, Math.min(max - (max % 2), 2 * Math.round(n / 2)));
  return { width: even(source.width * scale, box.width), height: even(source.height * scale, box.height) };
}

/**
 * Adds chains turning the stream at `input` (a pad like `[0:v]` or a label) into `frame`-sized yuv420p
 * at `output`, fitted as `fit` says. contain-blur needs the source size.
 */
export function fitChains(graph: FilterGraph, input: string, output: string, frame: Size, fit: Fit, source: Partial<Size>, flags = 'bicubic'): void {
  if (fit === 'cover' || !source.width || !source.height) {
    graph.add(`${input}${[...coverFilters(frame, flags), 'format=yuv420p'].join(',')}${output}`);
    return;
  }
  const inner = containSize({ width: source.width, height: source.height }, frame);
  const small = { width: evenAtLeast(frame.width / 8), height: evenAtLeast(frame.height / 8) };
  const [back, front, blurred, sharp] = ['back', 'front', 'blurred', 'sharp'].map((name) => graph.label(name)) as [string, string, string, string];
  graph.add(`${input}split=2${back}${front}`);
  // Blurring a 1/8-size copy and scaling it up is a wide, soft blur for the price of a tiny one.
  graph.add(
    `${back}${[...coverFilters(small, 'bilinear'), 'boxblur=2:1', `scale=${frame.width}:${frame.height}:flags=bilinear`, 'format=yuv420p'].join(',')}${blurred}`,
  );
  graph.add(`${front}scale=${inner.width}:${inner.height}:flags=${flags},setsar=1,format=yuv420p${sharp}`);
  const x = (frame.width - inner.width) / 2;
  const y = (frame.height - inner.height) / 2;
  graph.add(`${blurred}${sharp}overlay=x=${x}:y=${y}:format=yuv420,setsar=1${output}`);
}

function evenAtLeast(n: number): number {
  return Math.max(16, 2 * Math.round(n / 2));
}
