import { drawtext, filterValue, hex, num, signed } from './filter-syntax.js';
import { FPS } from './output-format.js';
import type { FontChoice } from './fonts.js';
import type { Rgb, Scene, Shape } from './scene.js';

/** The plasma is evaluated at this rate and blended up to FPS: geq is the dominant cost and the field moves slowly. */
export const FIELD_FPS = 8;
/** Longest side of the plasma grid; it is smooth, so bicubic upscaling hides the low resolution. */
const FIELD_LONG_SIDE = 48;

export interface ProceduralSize {
  width: number;
  height: number;
  durationSeconds: number;
}

/** A slice of the clip: keyframes before firstKeyframe are skipped, then `count` frames from `first` are kept. */
export interface FrameWindow {
  firstKeyframe: number;
  first: number;
  count: number;
}

export function wholeClip(size: ProceduralSize): FrameWindow {
  return { firstKeyframe: 0, first: 0, count: FPS * size.durationSeconds };
}

/**
 * The window holding only the final frame: since the picture is a pure function of time, rendering the
 * final keyframe interval reproduces the identical frame for the cost of one.
 */
export function lastFrameWindow(size: ProceduralSize): FrameWindow {
  const totalFrames = FPS * size.durationSeconds;
  const framesPerKeyframe = FPS / FIELD_FPS;
  const firstKeyframe = Math.floor((totalFrames - 1) / framesPerKeyframe);
  return { firstKeyframe, first: totalFrames - 1 - firstKeyframe * framesPerKeyframe, count: 1 };
}

/**
 * The procedural scene at the output size, yuv420p at FPS: a low-resolution plasma through the scene's
 * palette, scaled up, with the scene's glyphs drifting over it. No source label: callers append filters.
 */
export function proceduralChain(size: ProceduralSize, scene: Scene, font: FontChoice, window: FrameWindow): string {
  const field = fieldSize(size);
  return [
    // One keyframe past the end, so frame blending always has a next keyframe to blend towards.
    `nullsrc=s=${field.width}x${field.height}:r=${FIELD_FPS}:d=${num(size.durationSeconds + 1.5 / FIELD_FPS)}`,
    // trim keeps timestamps, so geq's T and drawtext's t match the full render frame for frame.
    `trim=start_frame=${window.firstKeyframe}`,
    'format=gray',
    `geq=lum=${filterValue(plasmaExpression(scene, size.durationSeconds, field.width / field.height))}`,
    `framerate=fps=${FPS}:flags=0`,
    `trim=start_frame=${window.first}:end_frame=${window.first + window.count}`,
    'format=rgb24',
    `lutrgb=${paletteLut(scene.palette)}`,
    `scale=${size.width}:${size.height}:flags=bicubic`,
    'setsar=1',
    'format=yuv420p',
    ...scene.shapes.map((shape) => shapeText(shape, size, font)),
  ].join(',');
}

function fieldSize(size: ProceduralSize): { width: number; height: number } {
  const scale = FIELD_LONG_SIDE / Math.max(size.width, size.height);
  return {
    width: Math.max(8, Math.round(size.width * scale)),
    height: Math.max(8, Math.round(size.height * scale)),
  };
}

/**
 * A sum of travelling waves plus a ripple, seen through a zooming and panning camera, mapped to 0..255.
 * The camera is folded into each term instead of kept in st()/ld() variables: ffmpeg 4.1's slice-threaded
 * geq shares those variables between threads, which garbles rows at random.
 */
function plasmaExpression(scene: Scene, durationSeconds: number, aspect: number): string {
  const { camera, ripple } = scene;
  const zoom = `(${num(camera.zoomFrom)}${signed((camera.zoomTo - camera.zoomFrom) / durationSeconds)}*T)`;
  const panX = camera.panX / durationSeconds;
  const panY = camera.panY / durationSeconds;
  const waves = scene.waves.map((w) => {
    const across = `(${num(w.kx * aspect)}*(X/W-0.5)${signed(w.ky)}*(Y/H-0.5))`;
    return `sin(${zoom}*${across}${signed(w.kx * panX + w.ky * panY + w.speed)}*T${signed(w.phase)})`;
  });
  const u = `${num(aspect)}*(X/W-0.5)*${zoom}${signed(panX)}*T${signed(-ripple.x)}`;
  const v = `(Y/H-0.5)*${zoom}${signed(panY)}*T${signed(-ripple.y)}`;
  const rippleWave = `sin(${num(ripple.k)}*hypot(${u},${v})${signed(-ripple.speed)}*T)`;
  return `clip(128+48*(${[...waves, rippleWave].join('+')}),0,255)`;
}

/** Piecewise-linear ramp through the palette stops, evaluated once per channel value by lutrgb. */
function paletteLut(palette: Rgb[]): string {
  const segment = 255 / (palette.length - 1);
  const channel = (key: keyof Rgb): string => {
    const first = palette[0] as Rgb;
    const terms = palette.slice(1).map((stop, i) => {
      const step = stop[key] - (palette[i] as Rgb)[key];
      return `${signed(step)}*clip((val-${num(i * segment)})/${num(segment)},0,1)`;
    });
    return filterValue(`${first[key]}${terms.join('')}`);
  };
  return `r=${channel('r')}:g=${channel('g')}:b=${channel('b')}`;
}

function shapeText(shape: Shape, size: ProceduralSize, font: FontChoice): string {
  const x = `(${num(shape.centreX)}+${num(shape.ampX)}*sin(${num(2 * Math.PI * shape.freqX)}*t+${num(shape.phaseX)}))*w-tw/2`;
  const y = `(${num(shape.centreY)}+${num(shape.ampY)}*sin(${num(2 * Math.PI * shape.freqY)}*t+${num(shape.phaseY)}))*h-th/2`;
  return drawtext({
    ...font,
    text: shape.glyph,
    expansion: 'none',
    fontsize: String(Math.round(shape.size * Math.min(size.width, size.height))),
    fontcolor: `${hex(shape.colour)}@${num(shape.opacity)}`,
    x,
    y,
  });
}
