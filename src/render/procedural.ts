import { writeFile } from 'node:fs/promises';
import path from 'node:path';
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

/** The plasma's keyframes as raw 8-bit grey frames, and the ffmpeg input options that read them. */
export interface PlasmaField {
  file: string;
  inputOptions: string[];
}

/**
 * Computes the plasma's keyframes here, in a few milliseconds, and writes them to `workDir` for ffmpeg
 * to read: the same field geq evaluated (the expression below, point for point at the same constants),
 * without geq's ~1.2 µs per pixel of expression interpreter (~60 ms of a 5 s render's CPU). One
 * keyframe past the end, so frame blending always has a next keyframe to blend towards.
 */
export async function writePlasmaField(size: ProceduralSize, scene: Scene, workDir: string): Promise<PlasmaField> {
  const field = fieldSize(size);
  const frames = fieldKeyframes(size.durationSeconds);
  const data = plasmaPixels(scene, size.durationSeconds, field, frames);
  const file = path.join(workDir, 'plasma.gray');
  await writeFile(file, data);
  return {
    file,
    // Read at the output rate and restamped n/FIELD_FPS in the graph (proceduralChain): ffmpeg 4.1 holds
    // the last output frame for as long as the input said its last frame lasts, so read at 8 fps the
    // clip would end with two extra frames.
    inputOptions: ['-f', 'rawvideo', '-pix_fmt', 'gray', '-video_size', `${field.width}x${field.height}`, '-framerate', String(FPS)],
  };
}

/** As many keyframes as the nullsrc of the geq graph gave: up to 1.5 keyframe intervals past the end. */
function fieldKeyframes(durationSeconds: number): number {
  return Math.ceil((durationSeconds + 1.5 / FIELD_FPS) * FIELD_FPS);
}

/**
 * The procedural scene at the output size, yuv420p at FPS: a low-resolution plasma through the scene's
 * palette, scaled up, with the scene's glyphs drifting over it. `field` is the input pad of the
 * written plasma keyframes (writePlasmaField); without one, ffmpeg's geq evaluates them. No output
 * label: callers append filters.
 */
export function proceduralChain(size: ProceduralSize, scene: Scene, font: FontChoice, window: FrameWindow, field?: string): string {
  const grid = fieldSize(size);
  const keyframes = field
    ? // Stamped n/FIELD_FPS like nullsrc's frames; trim keeps timestamps, so drawtext's t matches the full render frame for frame.
      [`${field}setpts=N*${FPS / FIELD_FPS}`, `trim=start_frame=${window.firstKeyframe}`]
    : [
        `nullsrc=s=${grid.width}x${grid.height}:r=${FIELD_FPS}:d=${num(size.durationSeconds + 1.5 / FIELD_FPS)}`,
        // trim keeps timestamps, so geq's T and drawtext's t match the full render frame for frame.
        `trim=start_frame=${window.firstKeyframe}`,
        'format=gray',
        `geq=lum=${filterValue(plasmaExpression(scene, size.durationSeconds, grid.width / grid.height))}`,
      ];
  return [
    ...keyframes,
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

/** The constants of plasmaExpression, rounded as it prints them, so both give the same field. */
const r5 = (value: number) => Number(num(value));

/** plasmaExpression evaluated at every pixel (X, Y) of every keyframe (T = n / FIELD_FPS), 8 bits a pixel. */
function plasmaPixels(scene: Scene, durationSeconds: number, grid: { width: number; height: number }, frames: number): Buffer {
  const { camera, ripple } = scene;
  const aspect = grid.width / grid.height;
  const zoomFrom = r5(camera.zoomFrom);
  const zoomRate = r5((camera.zoomTo - camera.zoomFrom) / durationSeconds);
  const panX = camera.panX / durationSeconds;
  const panY = camera.panY / durationSeconds;
  const waves = scene.waves.map((w) => ({ kx: r5(w.kx * aspect), ky: r5(w.ky), rate: r5(w.kx * panX + w.ky * panY + w.speed), phase: r5(w.phase) }));
  const ripplePanX = r5(panX);
  const ripplePanY = r5(panY);
  const [rx, ry, rk, rs, a] = [r5(-ripple.x), r5(-ripple.y), r5(ripple.k), r5(-ripple.speed), r5(aspect)];
  const out = Buffer.alloc(grid.width * grid.height * frames);
  let at = 0;
  for (let n = 0; n < frames; n++) {
    const t = n / FIELD_FPS;
    const zoom = zoomFrom + zoomRate * t;
    for (let y = 0; y < grid.height; y++) {
      const fy = y / grid.height - 0.5;
      for (let x = 0; x < grid.width; x++) {
        const fx = x / grid.width - 0.5;
        let sum = 0;
        for (const w of waves) sum += Math.sin(zoom * (w.kx * fx + w.ky * fy) + w.rate * t + w.phase);
        const u = a * fx * zoom + ripplePanX * t + rx;
        const v = fy * zoom + ripplePanY * t + ry;
        sum += Math.sin(rk * Math.hypot(u, v) + rs * t);
        // geq stores its value truncated to the pixel's 8 bits.
        out[at++] = Math.trunc(Math.min(255, Math.max(0, 128 + 48 * sum)));
      }
    }
  }
  return out;
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
