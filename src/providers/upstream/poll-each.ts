import type { UpstreamStatus } from './adapter.js';
import { UpstreamError } from './upstream-error.js';

/**
 * `pollMany` of an upstream that reads one task per call (batchSize 1): each id in turn. A task whose
 * answer cannot be read is that task's error, not the round's; a task the upstream does not know is
 * left out (the watch ends it `lost`); any other error ends the round.
 */
export async function pollEach(
  ids: readonly string[],
  pollOne: (id: string) => Promise<UpstreamStatus | undefined>,
): Promise<Map<string, UpstreamStatus | UpstreamError>> {
  const statuses = new Map<string, UpstreamStatus | UpstreamError>();
  for (const id of ids) {
    try {
      const status = await pollOne(id);
      if (status) statuses.set(id, status);
    } catch (err) {
      if (!(err instanceof UpstreamError) || err.code !== 'malformed_response') throw err;
      statuses.set(id, err);
    }
  }
  return statuses;
}
