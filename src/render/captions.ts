import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { drawtext, num } from './filter-syntax.js';
import type { FontChoice } from './fonts.js';

const CAPTION_MAX_LINES = 4;

export interface CaptionJob {
  prompt: string;
  seed: number;
  width: number;
  height: number;
  workDir: string;
}

export interface CaptionFiles {
  captionFile: string | null;
  labelFile: string;
}

/** Seconds of the clip during which the prompt caption shows; absent = always. */
export interface CaptionWindow {
  from: number;
  to: number;
}

/** Text goes through files so the prompt never needs filtergraph or drawtext escaping. */
export async function writeTextFiles(job: CaptionJob): Promise<CaptionFiles> {
  const labelFile = path.join(job.workDir, 'label.txt');
  await writeFile(labelFile, `vidgate local preview · seed ${job.seed}`);
  const lines = wrapCaption(job.prompt, captionLayout(job).maxCharsPerLine);
  if (lines.length === 0) return { captionFile: null, labelFile };
  const captionFile = path.join(job.workDir, 'caption.txt');
  await writeFile(captionFile, lines.join('\n'));
  return { captionFile, labelFile };
}

export function captionLayout(job: { width: number; height: number }): { fontSize: number; margin: number; maxCharsPerLine: number } {
  const short = Math.min(job.width, job.height);
  const fontSize = Math.max(12, Math.round(short * 0.045));
  const margin = Math.round(short * 0.06);
  // DejaVu Sans averages about 0.55 em per Latin glyph; the slack keeps capitals inside the frame.
  const maxCharsPerLine = Math.max(8, Math.floor((job.width - 2 * margin) / (fontSize * 0.6)));
  return { fontSize, margin, maxCharsPerLine };
}

/**
 * The honest "vidgate local preview" label (always on) and the prompt caption (during `window`, when
 * given: image modes keep it off their first and last frames, which must be the given images).
 */
export function captionFilters(job: { width: number; height: number }, font: FontChoice, files: CaptionFiles, window?: CaptionWindow): string[] {
  const { fontSize, margin } = captionLayout(job);
  const labelSize = Math.max(10, Math.round(fontSize * 0.5));
  const label = drawtext({
    ...font,
    textfile: files.labelFile,
    expansion: 'none',
    fontsize: String(labelSize),
    fontcolor: 'white@0.85',
    box: '1',
    boxcolor: 'black@0.35',
    boxborderw: String(Math.round(labelSize * 0.4)),
    x: String(Math.round(margin / 2)),
    y: String(Math.round(margin / 2)),
  });
  if (!files.captionFile) return [label];
  const caption = drawtext({
    ...font,
    textfile: files.captionFile,
    expansion: 'none',
    fontsize: String(fontSize),
    fontcolor: 'white',
    line_spacing: String(Math.round(fontSize * 0.25)),
    box: '1',
    boxcolor: 'black@0.55',
    boxborderw: String(Math.round(fontSize * 0.45)),
    x: '(w-tw)/2',
    y: `h-th-${margin}`,
    ...(window ? { enable: `between(t,${num(window.from)},${num(window.to)})` } : {}),
  });
  return [label, caption];
}

/**
 * Greedy word wrap measured in Latin-glyph units, where wide (CJK, emoji) characters count double.
 * Words longer than a line are split, which is also how unspaced CJK text wraps.
 */
export function wrapCaption(prompt: string, maxUnits: number): string[] {
  // More than the lines can show is cut before wrapping, so a prompt of any length wraps in the same time.
  const text = firstCodePoints(sanitiseCaption(prompt), CAPTION_MAX_LINES * maxUnits + 1);
  if (!text) return [];
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    for (const piece of splitLongWord(word, maxUnits)) {
      const candidate = line ? `${line} ${piece}` : piece;
      if (line && textUnits(candidate) > maxUnits) {
        lines.push(line);
        line = piece;
      } else {
        line = candidate;
      }
    }
  }
  lines.push(line);
  return ellipsise(lines, maxUnits);
}

/** Control characters would render as boxes; newlines and tabs collapse because drawtext has no wrapping of its own. */
function sanitiseCaption(prompt: string): string {
  return prompt.replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\s]+/gu, ' ').trim();
}

function firstCodePoints(text: string, count: number): string {
  let seen = 0;
  let end = 0;
  for (const char of text) {
    if (seen++ === count) return text.slice(0, end);
    end += char.length;
  }
  return text;
}

function splitLongWord(word: string, maxUnits: number): string[] {
  const pieces: string[] = [];
  let piece = '';
  for (const char of word) {
    if (piece && textUnits(piece + char) > maxUnits) {
      pieces.push(piece);
      piece = '';
    }
    piece += char;
  }
  pieces.push(piece);
  return pieces;
}

function ellipsise(lines: string[], maxUnits: number): string[] {
  if (lines.length <= CAPTION_MAX_LINES) return lines;
  const kept = lines.slice(0, CAPTION_MAX_LINES);
  let last = [...(kept[CAPTION_MAX_LINES - 1] ?? '')];
  while (last.length > 0 && textUnits(`${last.join('')}…`) > maxUnits) last = last.slice(0, -1);
  kept[CAPTION_MAX_LINES - 1] = `${last.join('').trimEnd()}…`;
  return kept;
}

function textUnits(text: string): number {
  let units = 0;
  for (const char of text) units += isWide(char.codePointAt(0) ?? 0) ? 2 : 1;
  return units;
}

function isWide(codePoint: number): boolean {
  return (
    (codePoint >= 0x1100 && codePoint <= 0x115f) ||
    (codePoint >= 0x2e80 && codePoint <= 0xa4cf) ||
    (codePoint >= 0xac00 && codePoint <= 0xd7a3) ||
    (codePoint >= 0xf900 && codePoint <= 0xfaff) ||
    (codePoint >= 0xfe30 && codePoint <= 0xfe4f) ||
    (codePoint >= 0xff00 && codePoint <= 0xff60) ||
    (codePoint >= 0xffe0 && codePoint <= 0xffe6) ||
    codePoint >= 0x1f300
  );
}
