import { filterValue, num, signed } from '../filter-syntax.js';
import { FPS } from '../output-format.js';
import { fittedStill, stillMove } from './still.js';
import type { ModeContext, RenderMedia } from './types.js';

/** The crossfade sits in the middle of the clip: a fifth of it, between half a second and 1.5 s. */
const FADE_SHARE = 0.2;
const FADE_FRAMES = { min: 12, max: 36 };

/** Frames of a still held in place: the one decoded frame repeated by reference (no copies, no scaling). */
const hold = (frames: number) => `loop=loop=${frames - 1}:size=1:start=0,setpts=N/(${FPS}*TB)`;
const ease = (t: string) => `(${t}*${t}*(3-2*${t}))`;

/**
 * First and last frame: frame 0 is the first image, the final frame the last image (both fitted to the
 * output size), and a crossfade joins them in the middle. The pictures are put together first, at the
 * fitted size, from three cheap pieces: the first image held, the crossfade (two frames that
 * ffmpeg's framerate filter blends in between, a linear mix with SIMD code rather than an alpha
 * overlay per frame), and the last image held. One camera then moves over the whole clip in one
 * zoompan: it eases in towards a point of the first image until the middle of the crossfade, glides
 * to a point of the last image during it, and eases back out to rest on the whole last image on the
 * final frame. At zoom 1 zoompan's crop is the whole picture, so frames 0 and last are the fitted
 * images themselves.
 */
export function firstLastFrame(ctx: ModeContext, first: RenderMedia, last: RenderMedia): string {
  const { graph, job, totalFrames } = ctx;
  const fadeFrames = Math.min(FADE_FRAMES.max, Math.max(FADE_FRAMES.min, Math.round(totalFrames * FADE_SHARE)));
  const fadeStart = Math.round((totalFrames - fadeFrames) / 2);
  const fadeEnd = fadeStart + fadeFrames;
  const final = totalFrames - 1;
  const moveA = stillMove(job.prompt, job.seed, 'first-frame', { min: 1.06, max: 1.14 });
  const moveB = stillMove(job.prompt, job.seed, 'last-frame', { min: 1.06, max: 1.14 });

  const a = fittedStill(ctx, first, 'first');
  const b = fittedStill(ctx, last, 'last');
  const [a1, a2, b1, b2, head, middle, tail] = ['a', 'a', 'b', 'b', 'head', 'middle', 'tail'].map((n) => graph.label(n)) as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  graph.add(`${a}split=2${a1}${a2}`);
  graph.add(`${b}split=2${b1}${b2}`);
  graph.add(`${a1}${hold(fadeStart)}${head}`);
  // The first image at t = 0 and the last at (fadeFrames + 1) frames: framerate fills in the frames in
  // between as mixes weighted by time, frame k of the fade being k/(fadeFrames + 1) of the last image
  // (interp_start/end 0/255: no frame snaps to either image; scene 100 and no flags: never a cut).
  graph.add(
    `${a2}${b1}concat=n=2:v=1:a=0,setpts=N*${fadeFrames + 1}/(${FPS}*TB),` +
      `framerate=fps=${FPS}:interp_start=0:interp_end=255:scene=100:flags=0,trim=start_frame=1:end_frame=${fadeFrames + 1},setpts=N/(${FPS}*TB)${middle}`,
  );
  graph.add(`${b2}${hold(totalFrames - fadeEnd)}${tail}`);

  // One camera over the joined stills: zoom 1 → zoomed in at the middle of the crossfade → 1.
  const mid = (fadeStart + fadeEnd - 1) / 2;
  const tent = `clip(min(on/${num(mid)},(${final}-on)/${num(final - mid)}),0,1)`;
  const zoomTo = (moveA.zoomTo + moveB.zoomTo) / 2;
  const zoom = `1${signed(zoomTo - 1)}*${ease(tent)}`;
  const glide = ease(`clip((on${signed(-fadeStart)})/${fadeFrames},0,1)`);
  const focus = (from: number, to: number) => `(${num(from)}${signed(to - from)}*${glide})`;
  const out = graph.label('flf');
  graph.add(
    `${head}${middle}${tail}concat=n=3:v=1:a=0,setpts=N/(${FPS}*TB),` +
      [
        `zoompan=z=${filterValue(zoom)}`,
        `x=${filterValue(`(iw-iw/zoom)*${focus(moveA.focusX, moveB.focusX)}`)}`,
        `y=${filterValue(`(ih-ih/zoom)*${focus(moveA.focusY, moveB.focusY)}`)}`,
        'd=1',
        `s=${job.width}x${job.height}`,
        `fps=${FPS}`,
      ].join(':') +
      `,setsar=1,setpts=N/(${FPS}*TB)${out}`,
  );
  return out;
}
