/** Conditions of the SQLite task statements, in its named-parameter syntax. */
/**
 * Fenced by the lease owner: a worker whose lease was taken over cannot write any more. A held task
 * may still be `pending`: an upstream channel holds it while the upstream keeps it queued.
 */
export const HELD = `id = @id AND status IN ('pending', 'processing') AND lease_owner = @owner`;
/** Claimable: nobody holds it, or its holder stopped renewing. */
export const DUE = `status IN ('pending', 'processing') AND (lease_expires_at IS NULL OR lease_expires_at <= @now)`;
