import type { MediaInput } from '../contract/submit.js';
import { TaskFailureError } from '../contract/failures.js';

export type MediaProblemCode = 'invalid_media' | 'media_fetch_failed';

/**
 * Something is wrong with one media file, said without knowing which field it came from: one
 * download may serve several inputs (the cache shares it), each of which names its own field.
 */
export class MediaProblem extends Error {
  constructor(
    readonly code: MediaProblemCode,
    /** English, completing "<field> does not meet the media rules: …" / "<field> could not be fetched: …". */
    readonly detail: string,
    /** What a tool said about the file (ffprobe's stderr): for the operator's log, never for the client. */
    readonly diagnostic?: string,
  ) {
    super(detail);
    this.name = 'MediaProblem';
  }
}

export const invalidMedia = (detail: string, diagnostic?: string) => new MediaProblem('invalid_media', detail, diagnostic);
export const fetchFailed = (detail: string) => new MediaProblem('media_fetch_failed', detail);

/** The task failure a client sees for one input (or, for totals, a field family such as `video_urls`). */
export function mediaFailure(code: MediaProblemCode, field: string, detail: string): TaskFailureError {
  return new TaskFailureError({ code, params: { field, detail } });
}

/** Puts a field on a MediaProblem; anything else (an abort, a bug) passes through unchanged. */
export function forInput(err: unknown, input: MediaInput): unknown {
  return err instanceof MediaProblem ? mediaFailure(err.code, input.field, err.detail) : err;
}
