import type { ModelId, Resolution } from './models.js';

/** Money is integer micro-USD everywhere; USD only at the edges. */
export const MICROS_PER_USD = 1_000_000;
export const usdToMicros = (usd: number): number => Math.round(usd * MICROS_PER_USD);
export const microsToUsd = (micros: number): number => micros / MICROS_PER_USD;

export interface PriceRow {
  /** micro-USD per output second, by resolution; absent = resolution not offered. */
  perSecond: Partial<Record<Resolution, number>>;
  /** micro-USD per (input video + output) second when a reference video is given. */
  perSecondWithVideo: Partial<Record<Resolution, number>>;
}

const scaleRow = (row: PriceRow, factor: number): PriceRow => {
  const scale = (r: Partial<Record<Resolution, number>>) =>
    Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Math.round(v * factor)])) as Partial<Record<Resolution, number>>;
  return { perSecond: scale(row.perSecond), perSecondWithVideo: scale(row.perSecondWithVideo) };
};

const BASE: PriceRow = {
  perSecond: { '480p': 66_000, '720p': 142_000, '1080p': 354_400, '4k': 722_000 },
  perSecondWithVideo: { '480p': 40_000, '720p': 85_840, '1080p': 215_680, '4k': 444_320 },
};
const FACE: PriceRow = {
  perSecond: { '480p': 99_200, '720p': 213_600, '1080p': 500_000 },
  perSecondWithVideo: { '480p': 60_000, '720p': 128_800, '1080p': 300_000 },
};

/** README: Money defaults. -fast and -fast-face are 0.8× of their base row, -mini 0.5× of the standard row. */
export const DEFAULT_PRICES: Readonly<Record<ModelId, PriceRow>> = {
  'doubao-seedance-2.0': BASE,
  'doubao-seedance-2.0-fast': scaleRow(BASE, 0.8),
  'doubao-seedance-2.0-face': FACE,
  'doubao-seedance-2.0-fast-face': scaleRow(FACE, 0.8),
  'doubao-seedance-2.0-mini': scaleRow(BASE, 0.5),
};

/** The longest reference video total the rules allow (README: Media: t < 15.2 s); bounds the reservation. */
export const MAX_REFERENCE_VIDEO_SECONDS = 15.2;

export interface PriceQuery {
  model: ModelId;
  resolution: Resolution;
  durationSeconds: number;
  hasReferenceVideo: boolean;
  /** Known once the inputs were probed; null at submit, which prices the upper bound. */
  referenceVideoSeconds: number | null;
}

export function taskPriceMicros(q: PriceQuery, table: Readonly<Record<ModelId, PriceRow>> = DEFAULT_PRICES): number {
  const row = table[q.model];
  if (!q.hasReferenceVideo) return Math.round((row.perSecond[q.resolution] ?? 0) * q.durationSeconds);
  const inputSeconds = q.referenceVideoSeconds ?? MAX_REFERENCE_VIDEO_SECONDS;
  return Math.round((row.perSecondWithVideo[q.resolution] ?? 0) * (inputSeconds + q.durationSeconds));
}
