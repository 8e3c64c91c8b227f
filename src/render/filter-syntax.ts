import type { Rgb } from './scene.js';

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
