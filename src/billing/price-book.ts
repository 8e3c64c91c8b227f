import { DEFAULT_PRICES, taskPriceMicros, type PriceRow } from '../contract/prices.js';
import type { ModelId } from '../contract/models.js';
import type { TaskRequest } from '../contract/submit.js';

export interface Usage {
  /** Total seconds of the reference videos, known once they were probed. */
  referenceVideoSeconds?: number;
}

/** The prices in force (README: Money defaults, or the operator's) applied to tasks. */
export class PriceBook {
  constructor(
    readonly table: Readonly<Record<ModelId, PriceRow>> = DEFAULT_PRICES,
    /** Credits per USD in the operator's unit, for `credits_cost` beside `cost`. */
    readonly creditsPerUsd = 1,
  ) {}

  private price(request: TaskRequest, referenceVideoSeconds: number | null): number {
    return taskPriceMicros(
      {
        model: request.model,
        resolution: request.resolution,
        durationSeconds: request.duration,
        hasReferenceVideo: request.media.some((m) => m.kind === 'video'),
        referenceVideoSeconds,
      },
      this.table,
    );
  }

  /** What submit reserves: exact without reference video, the upper bound with one. */
  reservation(request: TaskRequest): number {
    return this.price(request, null);
  }

  /** What a completed task costs, once the input video seconds are known. */
  finalPrice(request: TaskRequest, usage: Usage | undefined): number {
    return this.price(request, usage?.referenceVideoSeconds ?? null);
  }
}
