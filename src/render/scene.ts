import { createHash } from 'node:crypto';

export interface Rgb {
  r: number;
  g: number;
  b: number;
}

/** One travelling sine wave of the background plasma, in normalised screen units. */
export interface Wave {
  kx: number;
  ky: number;
  speed: number;
  phase: number;
}

/** A glyph drifting on a Lissajous path; centre and amplitudes are fractions of the frame, size of its shorter side. */
export interface Shape {
  glyph: string;
  size: number;
  colour: Rgb;
  opacity: number;
  centreX: number;
  centreY: number;
  ampX: number;
  ampY: number;
  freqX: number;
  freqY: number;
  phaseX: number;
  phaseY: number;
}

/** Zoom and pan applied to the background field over the whole clip. */
export interface CameraMove {
  zoomFrom: number;
  zoomTo: number;
  panX: number;
  panY: number;
}

export interface AmbientTone {
  hz: number;
  gain: number;
}

export interface Scene {
  palette: Rgb[];
  waves: Wave[];
  ripple: { x: number; y: number; k: number; speed: number };
  shapes: Shape[];
  camera: CameraMove;
  chord: AmbientTone[];
  tremoloHz: number;
}

const GLYPHS = ['●', '■', '▲', '◆', '★', '○'];
const CHORDS = [
  [1, 5 / 4, 3 / 2],
  [1, 6 / 5, 3 / 2],
  [1, 3 / 2, 9 / 4],
  [1, 4 / 3, 5 / 3],
  [1, 5 / 4, 15 / 8],
];

export function sceneFor(prompt: string, seed: number): Scene {
  const rand = randomStream(createHash('sha256').update(`${prompt}\0${seed}`).digest());
  const palette = paletteFrom(rand);
  return {
    palette,
    waves: [0, 1, 2].map(() => waveFrom(rand)),
    ripple: { x: range(rand, -0.4, 0.4), y: range(rand, -0.3, 0.3), k: range(rand, 6, 14), speed: range(rand, 0.6, 1.6) },
    shapes: Array.from({ length: 2 + Math.floor(rand() * 3) }, () => shapeFrom(rand, palette)),
    camera: cameraFrom(rand),
    chord: chordFrom(rand),
    tremoloHz: range(rand, 0.15, 0.6),
  };
}

/** A deterministic stream of numbers in [0, 1) for any key (e.g. prompt, seed and purpose). */
export function seededRandom(key: string): () => number {
  return randomStream(createHash('sha256').update(key).digest());
}

/** sfc32 seeded from the digest: cheap, well distributed and identical on every platform. */
function randomStream(digest: Buffer): () => number {
  let a = digest.readUInt32LE(0);
  let b = digest.readUInt32LE(4);
  let c = digest.readUInt32LE(8);
  let d = digest.readUInt32LE(12);
  return () => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t / 4294967296;
  };
}

function range(rand: () => number, min: number, max: number): number {
  return min + (max - min) * rand();
}

function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)] as T;
}

/** Stops run from dark to mid lightness so white text and the lightened shapes stand out on every palette. */
function paletteFrom(rand: () => number): Rgb[] {
  const baseHue = rand() * 360;
  const spread = pick(rand, [30, 60, 120, 150, 180]);
  const stops = 3 + Math.floor(rand() * 2);
  return Array.from({ length: stops }, (_, i) => {
    const along = i / (stops - 1);
    return hslToRgb(baseHue + spread * along, range(rand, 0.45, 0.85), 0.12 + 0.5 * along);
  });
}

function waveFrom(rand: () => number): Wave {
  const angle = rand() * 2 * Math.PI;
  const k = range(rand, 3, 9);
  return {
    kx: k * Math.cos(angle),
    ky: k * Math.sin(angle),
    speed: range(rand, 0.4, 1.4) * (rand() < 0.5 ? -1 : 1),
    phase: rand() * 2 * Math.PI,
  };
}

function shapeFrom(rand: () => number, palette: Rgb[]): Shape {
  const brightest = palette[palette.length - 1] as Rgb;
  return {
    glyph: pick(rand, GLYPHS),
    size: range(rand, 0.08, 0.22),
    colour: lighten(brightest, range(rand, 0.2, 0.6)),
    opacity: range(rand, 0.35, 0.75),
    centreX: range(rand, 0.25, 0.75),
    centreY: range(rand, 0.2, 0.6),
    ampX: range(rand, 0.1, 0.3),
    ampY: range(rand, 0.05, 0.2),
    freqX: range(rand, 0.05, 0.25),
    freqY: range(rand, 0.05, 0.25),
    phaseX: rand() * 2 * Math.PI,
    phaseY: rand() * 2 * Math.PI,
  };
}

function cameraFrom(rand: () => number): CameraMove {
  const zoomIn = rand() < 0.5;
  const near = range(rand, 0.75, 0.9);
  const far = range(rand, 1.05, 1.3);
  return {
    zoomFrom: zoomIn ? far : near,
    zoomTo: zoomIn ? near : far,
    panX: range(rand, -0.5, 0.5),
    panY: range(rand, -0.3, 0.3),
  };
}

function chordFrom(rand: () => number): AmbientTone[] {
  const rootHz = 110 * 2 ** (Math.floor(rand() * 12) / 12);
  return pick(rand, CHORDS).map((ratio, i) => ({ hz: round(rootHz * ratio, 3), gain: round(1 / (i + 1), 3) }));
}

function lighten(colour: Rgb, amount: number): Rgb {
  const mix = (channel: number): number => Math.round(channel + (255 - channel) * amount);
  return { r: mix(colour.r), g: mix(colour.g), b: mix(colour.b) };
}

function hslToRgb(hueDeg: number, saturation: number, lightness: number): Rgb {
  const hue = (((hueDeg % 360) + 360) % 360) / 360;
  const q = lightness < 0.5 ? lightness * (1 + saturation) : lightness + saturation - lightness * saturation;
  const p = 2 * lightness - q;
  const channel = (offset: number): number => {
    let t = hue + offset;
    if (t < 0) t += 1;
    if (t > 1) t -= 1;
    if (t < 1 / 6) return p + (q - p) * 6 * t;
    if (t < 1 / 2) return q;
    if (t < 2 / 3) return p + (q - p) * (2 / 3 - t) * 6;
    return p;
  };
  return {
    r: Math.round(channel(1 / 3) * 255),
    g: Math.round(channel(0) * 255),
    b: Math.round(channel(-1 / 3) * 255),
  };
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
