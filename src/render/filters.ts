import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Rgb } from './scene.js';

/** The output frame rate (README: Output), and the audio rate every renderer writes. */
export const FPS = 24;
export const SAMPLE_RATE = 48_000;
/** AAC's frame size: audio is re-chunked to it before the encoder (ffmpeg 5.1 refuses bigger frames). */
export const AAC_FRAME_SAMPLES = 1024;

/** Debian's fonts-dejavu-core: the whole of DejaVu Sans (Latin, Greek, Cyrillic, Armenian, …). */
export const SYSTEM_FONT_FILE = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';
/** The same face from the @fontsource/dejavu-sans dependency, which ships its Latin subset only. */
const PACKAGED_FONT = '@fontsource/dejavu-sans/files/dejavu-sans-latin-400-normal.woff';

export type FontChoice = { fontfile: string } | { font: string };

/**
 * The caption font: the system's DejaVu Sans when installed, since it draws more scripts, else the
 * one shipped with the project's dependencies, so captions are drawn whatever the machine has.
 * fontconfig's "Sans" is left for an install whose node_modules lost the font package.
 */
export function fontChoice(systemFontFile = SYSTEM_FONT_FILE): FontChoice {
  if (existsSync(systemFontFile)) return { fontfile: systemFontFile };
  const packaged = packagedFontFile();
  return packaged ? { fontfile: packaged } : { font: 'Sans' };
}

export function packagedFontFile(): string | null {
  try {
    return createRequire(import.meta.url).resolve(PACKAGED_FONT);
  } catch {
    return null;
  }
}

/**
 * Escapes a value for both parsing levels it passes through: first the filter's own
 * key=value list (':' separated), then the filtergraph (',' ';' '[' ']' separated).
 */
export function filterValue(value: string): string {
  const optionLevel = value.replace(/[\\':\s]/g, '\\$&');
  return optionLevel.replace(/[\\'[\],;\s]/g, '\\$&');
}

export function num(value: number): string {
  return Number(value.toFixed(5)).toString();
}

/** A term with its own sign, so expressions never contain '+-' or '--'. */
export function signed(value: number): string {
  const text = num(value);
  return text.startsWith('-') ? text : `+${text}`;
}

export function hex(colour: Rgb): string {
  return `0x${[colour.r, colour.g, colour.b].map((c) => c.toString(16).padStart(2, '0')).join('')}`;
}

export function drawtext(options: Record<string, string>): string {
  return `drawtext=${Object.entries(options)
    .map(([key, value]) => `${key}=${filterValue(value)}`)
    .join(':')}`;
}

/** Output size checks shared by every renderer. */
export function assertOutput(job: { width: number; height: number; durationSeconds: number; seed: number }): void {
  const evenSize = (n: number): boolean => Number.isInteger(n) && n >= 16 && n % 2 === 0;
  if (!evenSize(job.width) || !evenSize(job.height)) {
    throw new RangeError(`output size must be even integers >= 16, got ${job.width}x${job.height}`);
  }
  if (!Number.isInteger(job.durationSeconds) || job.durationSeconds < 1) {
    throw new RangeError(`durationSeconds must be a positive integer, got ${job.durationSeconds}`);
  }
  if (!Number.isInteger(job.seed) || job.seed < 0 || job.seed > 0xffff_ffff) {
    throw new RangeError(`seed must be an integer in 0..4294967295, got ${job.seed}`);
  }
}
