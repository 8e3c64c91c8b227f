import { filterValue } from '../filter-syntax.js';
import type { FilterGraph } from '../graph.js';

/** Looks a prompt can ask the reference video to take; simple keyword matching. */
export type Style = 'anime' | 'noir' | 'watercolor' | 'sepia' | 'pixel';

const KEYWORDS: ReadonlyArray<readonly [Style, RegExp]> = [
  ['anime', /\b(anime|cartoon|manga|cel[- ]?shad\w*|comic(?:s| book)?|toon|ghibli)\b/i],
  ['noir', /\b(noir|black[- ](?:and|&)[- ]white|b&w|monochrome|gr[ae]yscale)\b/i],
  ['watercolor', /\b(water ?colou?rs?|painting|painted|painterly|oil paint\w*|impressionis\w+|gouache)\b/i],
  ['sepia', /\b(sepia|vintage|old[- ](?:film|photo\w*|movie)|silent film)\b/i],
  ['pixel', /\b(pixel(?:ated| art)?|8[- ]?bit|retro game)\b/i],
];

/** The style the prompt names first, or null. */
export function styleFor(prompt: string): Style | null {
  let best: { style: Style; at: number } | null = null;
  for (const [style, pattern] of KEYWORDS) {
    const at = prompt.search(pattern);
    if (at >= 0 && (!best || at < best.at)) best = { style, at };
  }
  return best?.style ?? null;
}

/**
 * Styles whose look does not depend on the output frame (no vignette centred on it, no blocks of its
 * pixels): a reference video smaller than the frame is restyled at its own size, before it is fitted,
 * which costs that many fewer pixels per frame (about half for a 480p video in a 720p render).
 */
export function restylesBeforeFit(style: Style): boolean {
  return style === 'anime';
}

/**
 * Adds the chains restyling the yuv420p stream at `input` (square pixels) into `output` (same size);
 * `size` is that size (pixel uses it). Everything works on yuv planes with LUTs, cheap kernels or tiny
 * intermediate sizes, and runs on ffmpeg 4.1 and 5.1.
 */
export function restyle(graph: FilterGraph, style: Style, input: string, output: string, size: { width: number; height: number }): void {
  switch (style) {
    case 'anime': {
      // Flat posterized colour with boosted saturation, and dark ink lines: a Sobel edge map (taken at half
      // size, which is cheaper and gives bolder lines), inverted and laid over the luma by darken (the darker
      // of the two: looks as multiply did, and ffmpeg has SIMD code for it). The halving is an exact 2:1 in
      // each direction, where fast_bilinear averages pixel pairs as well as bilinear does. Sizes come from
      // the frames themselves (scale2ref brings the lines back to the picture's), so a reference video
      // restyled at its decoded size needs no probed size: a rotated phone video decodes turned.
      const [colour, ink, flat, small, scaled, base, lines] = ['colour', 'ink', 'flat', 'small', 'scaled', 'base', 'lines'].map((n) => graph.label(n)) as [
        string,
        string,
        string,
        string,
        string,
        string,
        string,
      ];
      const halve = (side: string) => filterValue(`max(16,trunc(${side}/4)*2)`);
      graph.add(`${input}split=2${colour}${ink}`);
      graph.add(`${colour}lutyuv=y=${filterValue('floor(val/40)*40+24')}:u=${filterValue('(val-128)*1.6+128')}:v=${filterValue('(val-128)*1.6+128')}${flat}`);
      graph.add(
        `${ink}scale=${halve('iw')}:${halve('ih')}:flags=fast_bilinear,sobel=planes=1:scale=2,lutyuv=y=${filterValue('255-clip(val*2,0,255)')}:u=128:v=128${small}`,
      );
      graph.add(`${small}${flat}scale2ref=flags=bilinear${scaled}${base}`);
      graph.add(`${scaled}setsar=1${lines}`);
      graph.add(`${base}${lines}blend=c0_mode=darken:c1_mode=normal:c2_mode=normal,format=yuv420p${output}`);
      return;
    }
    case 'noir':
      graph.add(`${input}hue=s=0,eq=contrast=1.45:brightness=-0.04,vignette=angle=PI/4,format=yuv420p${output}`);
      return;
    case 'watercolor':
      graph.add(`${input}boxblur=4:1,eq=saturation=1.7:brightness=0.03,lutyuv=y=${filterValue('floor(val/24)*24+12')},format=yuv420p${output}`);
      return;
    case 'sepia':
      graph.add(`${input}hue=s=0,lutyuv=u=112:v=142,eq=contrast=1.1,vignette=angle=PI/5,format=yuv420p${output}`);
      return;
    case 'pixel': {
      const w = Math.max(16, 2 * Math.round(size.width / 16));
      const h = Math.max(16, 2 * Math.round(size.height / 16));
      graph.add(
        `${input}scale=${w}:${h}:flags=area,lutyuv=y=${filterValue('floor(val/32)*32+16')},scale=${size.width}:${size.height}:flags=neighbor,setsar=1,format=yuv420p${output}`,
      );
      return;
    }
  }
}
