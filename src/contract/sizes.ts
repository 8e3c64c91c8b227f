import type { Resolution } from './models.js';

export const ASPECTS = ['16:9', '4:3', '1:1', '3:4', '9:16', '21:9'] as const;
export type Aspect = (typeof ASPECTS)[number];
export const SIZES = [...ASPECTS, 'adaptive'] as const;
export type Size = (typeof SIZES)[number];

export interface PixelSize {
  width: number;
  height: number;
}

/** README: Output: output pixel size by resolution and aspect. */
const PIXELS: Readonly<Record<Resolution, Readonly<Record<Aspect, readonly [number, number]>>>> = {
  '480p': { '16:9': [864, 480], '4:3': [736, 544], '1:1': [640, 640], '3:4': [544, 736], '9:16': [480, 864], '21:9': [960, 416] },
  '720p': { '16:9': [1248, 704], '4:3': [1120, 832], '1:1': [960, 960], '3:4': [832, 1120], '9:16': [704, 1248], '21:9': [1504, 640] },
  '1080p': { '16:9': [1920, 1088], '4:3': [1664, 1248], '1:1': [1440, 1440], '3:4': [1248, 1664], '9:16': [1088, 1920], '21:9': [2176, 928] },
  '4k': { '16:9': [3840, 2160], '4:3': [3312, 2496], '1:1': [2880, 2880], '3:4': [2496, 3312], '9:16': [2160, 3840], '21:9': [3840, 1648] },
};

export function pixelSize(resolution: Resolution, aspect: Aspect): PixelSize {
  const [width, height] = PIXELS[resolution][aspect];
  return { width, height };
}

const ASPECT_RATIOS: ReadonlyArray<readonly [Aspect, number]> = ASPECTS.map((a) => {
  const [w, h] = a.split(':').map(Number) as [number, number];
  return [a, w / h] as const;
});

/** `adaptive`: the aspect whose ratio is nearest (in log space) to the media's; 16:9 without media. */
export function nearestAspect(width?: number, height?: number): Aspect {
  if (!width || !height) return '16:9';
  const target = Math.log(width / height);
  let best: Aspect = '16:9';
  let bestDistance = Infinity;
  for (const [aspect, ratio] of ASPECT_RATIOS) {
    const distance = Math.abs(Math.log(ratio) - target);
    if (distance < bestDistance) {
      best = aspect;
      bestDistance = distance;
    }
  }
  return best;
}

export const OUTPUT_FPS = 24;
