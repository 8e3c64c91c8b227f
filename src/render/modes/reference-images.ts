import { FPS } from '../output-format.js';
import { containSize, type Size } from '../fit.js';
import { stillInputOptions } from '../graph.js';
import type { ModeContext, RenderMedia } from './types.js';

/** Where the cards go: large and central over the image backdrop, an inset over a reference video. */
export type CardPlacement = 'centre' | 'inset';

/** Frames of alpha fade at each end of a card's turn (fewer when turns are short). */
const CARD_FADE_FRAMES = 4;

interface CardBox extends Size {
  x: number;
  y: number;
  border: number;
}

const even = (n: number) => 2 * Math.round(n / 2);

export function cardBox(frame: Size, placement: CardPlacement): CardBox {
  const short = Math.min(frame.width, frame.height);
  if (placement === 'centre') {
    const width = even(frame.width * 0.72);
    const height = even(frame.height * 0.66);
    // Centred in the part of the frame above the caption.
    return { width, height, x: (frame.width - width) / 2, y: even((frame.height * 0.8 - height) / 2), border: Math.max(2, even(short * 0.008)) };
  }
  const width = even(frame.width * 0.36);
  const height = even(frame.height * 0.36);
  const margin = even(short * 0.04);
  return { width, height, x: frame.width - width - margin, y: margin, border: Math.max(2, even(short * 0.006)) };
}

/** Frames each image is on screen: the clip shared out evenly, in order. */
export function cardTurns(totalFrames: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => Math.round((totalFrames * (i + 1)) / count) - Math.round((totalFrames * i) / count));
}

/**
 * Reference images as a slideshow of framed cards over `base`: each image in turn, whole (fitted inside
 * the card with a white border), fading in and out. The cards are one stream of still frames repeated by
 * `loop` (one frame held in memory each), joined with concat and laid over the base in one overlay.
 */
export function overlayReferenceImages(ctx: ModeContext, base: string, images: readonly RenderMedia[], placement: CardPlacement): string {
  const { graph, job, totalFrames } = ctx;
  const box = cardBox({ width: job.width, height: job.height }, placement);
  const inner = { width: box.width - 2 * box.border, height: box.height - 2 * box.border };
  const turns = cardTurns(totalFrames, images.length);
  const cards = images
    .map((image, i) => ({ image, frames: turns[i]! }))
    .filter(({ frames }) => frames > 0)
    .map(({ image, frames }) => {
      const input = graph.input(image.path, stillInputOptions(image.path));
      const picture = image.width && image.height ? containSize({ width: image.width, height: image.height }, inner) : inner;
      const framed = { width: picture.width + 2 * box.border, height: picture.height + 2 * box.border };
      const fade = Math.min(CARD_FADE_FRAMES, Math.floor(frames / 4));
      const card = graph.label('card');
      graph.add(
        [
          `[${input}:v]trim=end_frame=1`,
          'setpts=PTS-STARTPTS',
          `scale=${picture.width}:${picture.height}:flags=bicubic`,
          'setsar=1',
          'format=yuva420p',
          `pad=${framed.width}:${framed.height}:${box.border}:${box.border}:color=white`,
          `pad=${box.width}:${box.height}:${even((box.width - framed.width) / 2)}:${even((box.height - framed.height) / 2)}:color=black@0`,
          `loop=loop=${frames - 1}:size=1:start=0`,
          `setpts=N/(${FPS}*TB)`,
          ...(fade > 0 ? [`fade=t=in:s=0:n=${fade}:alpha=1`, `fade=t=out:s=${frames - fade}:n=${fade}:alpha=1`] : []),
        ].join(',') + card,
      );
      return card;
    });
  const deck = graph.label('deck');
  graph.add(cards.length === 1 ? `${cards[0]}null${deck}` : `${cards.join('')}concat=n=${cards.length}:v=1:a=0,setpts=N/(${FPS}*TB)${deck}`);
  const out = graph.label('cards');
  graph.add(`${base}${deck}overlay=x=${box.x}:y=${box.y}:format=yuv420:eof_action=pass${out}`);
  return out;
}
