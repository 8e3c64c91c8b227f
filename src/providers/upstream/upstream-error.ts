/**
 * What went wrong talking to an upstream, sorted by what vidgate does about it:
 * - `unavailable`: connection refused or reset, timeout, 429, 5xx, a body that is not JSON — try
 *   another channel (at submit) or poll again later;
 * - `rejected`: the upstream said no (4xx) — the task fails with the upstream's code and message;
 * - `not_found`: the upstream does not know the task (any more).
 */
export type UpstreamErrorKind = 'unavailable' | 'rejected' | 'not_found';

export class UpstreamError extends Error {
  constructor(
    readonly kind: UpstreamErrorKind,
    readonly status: number | null,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'UpstreamError';
  }
}
