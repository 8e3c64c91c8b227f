/** Conditions of the SQLite task statements, in its named-parameter syntax. */
/**
 * Fenced by the lease owner: a worker whose lease was taken over cannot write any more. A held task
 * may still be `pending`: an upstream channel holds it while the upstream keeps it queued.
 */
export const HELD = `id = @id AND status IN ('pending', 'processing') AND lease_owner = @owner`;
/**
 * Claimable: nobody holds it (no lease), or its holder stopped renewing. Written as the expression of
 * the index tasks_due_at (migration 13), so that a claim reads only the claimable rows.
 */
export const DUE = `status IN ('pending', 'processing') AND IFNULL(lease_expires_at, -1) <= @now`;
/** Never leased: the queue, in id order in tasks_due_at. */
export const QUEUED = `status IN ('pending', 'processing') AND IFNULL(lease_expires_at, -1) = -1`;
/**
 * Leased once and the lease ran out: a holder that died or stopped renewing. A task with a run open
 * (open_run > 0) always has a lease, since every statement that clears the lease closes the run.
 */
export const LAPSED = `status IN ('pending', 'processing') AND IFNULL(lease_expires_at, -1) BETWEEN 0 AND @now`;
