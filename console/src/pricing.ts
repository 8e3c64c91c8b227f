import type { Model } from './types.js';

/**
 * A task's price from a model's pricing (GET /v1/models), computed exactly as the server does
 * (src/contract/prices.ts): integer micro-USD per second × output seconds; with a reference video,
 * the rate per (input + output) second, reserved at submit for the longest input the rules allow.
 */
export const MAX_REFERENCE_VIDEO_SECONDS = 15.2;
const MICROS = 1_000_000;

export interface Quote {
  /** USD. */
  usd: number;
  /** USD per second applied. */
  rate: number;
  /** Seconds billed: output seconds, or input + output with a reference video. */
  seconds: number;
  withReferenceVideo: boolean;
}

export function quote(
  model: Model,
  resolution: string,
  durationSeconds: number,
  withReferenceVideo: boolean,
  referenceVideoSeconds: number | null = null,
): Quote | null {
  const row = withReferenceVideo ? model.pricing.per_second_with_reference_video : model.pricing.per_second;
  const rate = row[resolution];
  if (rate === undefined || !Number.isInteger(durationSeconds)) return null;
  const micros = Math.round(rate * MICROS);
  if (!withReferenceVideo) return { usd: Math.round(micros * durationSeconds) / MICROS, rate, seconds: durationSeconds, withReferenceVideo };
  const input = referenceVideoSeconds ?? MAX_REFERENCE_VIDEO_SECONDS;
  return { usd: Math.round(micros * (input + durationSeconds)) / MICROS, rate, seconds: input + durationSeconds, withReferenceVideo };
}
