/**
 * Request counts per rate-limit key in fixed windows, shared by every instance on the database, so
 * that a key's allowance is the same whichever instance a load balancer sends it to.
 */
export interface RateWindowStore {
  /**
   * Counts one request of `key`. A window starts at the key's first request and lasts `windowMs`;
   * returns the requests counted in the current window, this one included, and the ms it has left.
   */
  countRequest(key: string, windowMs: number, now: number): Promise<{ count: number; resetInMs: number }>;
  /** The same, without counting. */
  peekRequests(key: string, windowMs: number, now: number): Promise<{ count: number; resetInMs: number }>;
}
