/**
 * The database cannot be reached right now (down, restarting, out of connections, a lock held too
 * long): the request may simply be tried again, so clients get a 503 with Retry-After, not a 500.
 */
export class StoreUnavailable extends Error {
  override name = 'StoreUnavailable';

  constructor(cause: unknown) {
    super(`the database is unavailable: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}
