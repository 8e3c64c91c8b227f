/**
 * How a task changed, as other processes sharing the database hear of it: `queued` (submitted, or
 * back in the queue: dispatchers look), `claimed` and `progress` (watchers look), `settled` (final:
 * watchers, webhooks and estimates look).
 */
export type TaskChange = 'queued' | 'claimed' | 'progress' | 'settled';

/** Changes made by other processes on the same database, heard at once where the database can tell. */
export interface StoreChangeFeed {
  /**
   * Calls `listener` for changes other processes commit. A store that cannot tell never calls it;
   * the dispatcher, the event streams and the webhook worker then find them by polling.
   */
  onRemoteTaskChanges(listener: (change: TaskChange, ids: readonly string[]) => void): () => void;
}
