import type { LeaseGuard } from '../task-queue-store.js';
import type { WebhookAttempt, WebhookAttemptOutcome, WebhookDelivery, WebhookDeliveryQuery, WebhookSecret, WebhookStore } from '../webhook-store.js';
import { type DeliveryRow, type SecretRow, toDelivery, toSecret } from '../sql/webhook-rows.js';
import { keysChanged } from './accounts.js';
import type { PgConnection } from './connection.js';

/** Fenced by the delivery lease, like task writes: a worker whose lease was taken over writes nothing ($1 id, $2 owner). */
const HELD = `id = $1 AND state = 'pending' AND lease_owner = $2`;
/** Pending and not held by anyone alive ($1 now). */
const DUE = `state = 'pending' AND next_attempt_at <= $1 AND (lease_expires_at IS NULL OR lease_expires_at <= $1)`;

// PostgreSQL folds unquoted aliases to lower case: camelCase aliases are quoted.
const ATTEMPT_COLUMNS = `delivery_seq AS "deliverySeq", attempt, started_at AS "startedAt", duration_ms AS "durationMs", status_code AS "statusCode", error, owner`;

/**
 * The webhook outbox, its attempts and the per-account secrets. Deliveries are queued by the task
 * queue in the transaction of the status change. Several processes share the outbox: claims lock
 * the rows they take and skip the ones another claimer holds locked.
 */
export class PgWebhooks implements WebhookStore {
  constructor(private readonly connection: PgConnection) {}

  async setApiKeyCallbackUrl(keyId: string, url: string | null): Promise<boolean> {
    return this.connection.transaction(async (tx) => {
      if ((await tx.run('UPDATE api_keys SET callback_url = $2 WHERE id = $1', [keyId, url])) !== 1) return false;
      // Other processes' key caches hold the old default URL until they hear of the change.
      await keysChanged(tx, this.connection.keysVersion);
      return true;
    });
  }

  async getWebhookSecret(accountId: string): Promise<WebhookSecret | null> {
    const row = await this.connection.row<SecretRow>('SELECT * FROM webhook_secrets WHERE account_id = $1', [accountId]);
    return row ? toSecret(row) : null;
  }

  async ensureWebhookSecret(accountId: string, secret: string, now: number): Promise<WebhookSecret> {
    // A concurrent first insert makes this one wait for its commit, then do nothing: both read the same secret.
    await this.connection.run('INSERT INTO webhook_secrets (account_id, secret, created_at) VALUES ($1, $2, $3) ON CONFLICT (account_id) DO NOTHING', [
      accountId,
      secret,
      now,
    ]);
    return (await this.getWebhookSecret(accountId)) as WebhookSecret;
  }

  async rotateWebhookSecret(accountId: string, secret: string, now: number, previousUntil: number | null): Promise<WebhookSecret> {
    // RETURNING gives the row as this statement left it, so no second read (and no transaction) is needed.
    const row = await this.connection.row<SecretRow>(
      `INSERT INTO webhook_secrets (account_id, secret, previous, previous_until, created_at) VALUES ($1, $2, NULL, NULL, $3)
       ON CONFLICT (account_id) DO UPDATE SET
         previous = CASE WHEN $4::bigint IS NULL THEN NULL ELSE webhook_secrets.secret END,
         previous_until = $4::bigint, secret = excluded.secret, created_at = excluded.created_at
       RETURNING *`,
      [accountId, secret, now, previousUntil],
    );
    return toSecret(row as SecretRow);
  }

  async claimWebhookDeliveries(o: { owner: string; now: number; leaseMs: number; limit: number }): Promise<WebhookDelivery[]> {
    if (o.limit <= 0) return [];
    const rows = await this.connection.transaction(async (tx) => {
      // Rows another claimer has locked are skipped, not waited for: it is taking them.
      const picked = await tx.rows<{ seq: number }>(
        `SELECT seq FROM webhook_deliveries WHERE ${DUE} ORDER BY next_attempt_at, seq LIMIT $2 FOR NO KEY UPDATE SKIP LOCKED`,
        [o.now, o.limit],
      );
      if (picked.length === 0) return [];
      return tx.rows<DeliveryRow>('UPDATE webhook_deliveries SET lease_owner = $2, lease_expires_at = $3 WHERE seq = ANY($1) RETURNING *', [
        picked.map((p) => p.seq),
        o.owner,
        o.now + o.leaseMs,
      ]);
    });
    // RETURNING keeps no order: oldest due first, as picked.
    rows.sort((a, b) => (a.next_attempt_at ?? 0) - (b.next_attempt_at ?? 0) || a.seq - b.seq);
    return rows.map(toDelivery);
  }

  async saveWebhookBody(g: LeaseGuard, body: string): Promise<boolean> {
    return (await this.connection.run(`UPDATE webhook_deliveries SET body = $3 WHERE ${HELD}`, [g.id, g.owner, body])) === 1;
  }

  async recordWebhookAttempt(
    g: LeaseGuard,
    attempt: Omit<WebhookAttempt, 'deliverySeq' | 'attempt' | 'owner'>,
    outcome: WebhookAttemptOutcome,
  ): Promise<boolean> {
    const finishedAt = attempt.startedAt + attempt.durationMs;
    const change = outcome.delivered
      ? { state: 'delivered', next: null, statusCode: outcome.statusCode, error: null, finishedAt }
      : outcome.retryAt === null
        ? { state: 'failed', next: null, statusCode: outcome.statusCode, error: outcome.error, finishedAt }
        : { state: 'pending', next: outcome.retryAt, statusCode: outcome.statusCode, error: outcome.error, finishedAt: null };
    return this.connection.transaction(async (tx) => {
      // The fenced update first: it locks the row, so no claimer can take it between it and the
      // attempt it counts, and a writer who lost the lease records no attempt either.
      const settled = await tx.row<{ seq: number; attempts: number }>(
        `UPDATE webhook_deliveries SET attempts = attempts + 1, state = $3, next_attempt_at = $4, last_status = $5,
           last_error = $6, finished_at = $7, lease_owner = NULL, lease_expires_at = NULL
         WHERE ${HELD} RETURNING seq, attempts`,
        [g.id, g.owner, change.state, change.next, change.statusCode, change.error, change.finishedAt],
      );
      if (!settled) return false;
      await tx.run(
        `INSERT INTO webhook_attempts (delivery_seq, attempt, started_at, duration_ms, status_code, error, owner) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [settled.seq, settled.attempts, attempt.startedAt, attempt.durationMs, attempt.statusCode, attempt.error, g.owner],
      );
      return true;
    });
  }

  async releaseWebhookDelivery(g: LeaseGuard, dueAt: number): Promise<boolean> {
    return (
      (await this.connection.run(`UPDATE webhook_deliveries SET next_attempt_at = $3, lease_owner = NULL, lease_expires_at = NULL WHERE ${HELD}`, [
        g.id,
        g.owner,
        dueAt,
      ])) === 1
    );
  }

  async nextWebhookDue(): Promise<number | null> {
    // GREATEST skips NULLs where SQLite's MAX(a, b) is NULL: a pending row without a due time
    // (never claimable) is left out explicitly, as it was there.
    const row = await this.connection.row<{ due: number | null }>(
      `SELECT MIN(GREATEST(next_attempt_at, COALESCE(lease_expires_at, 0))) AS due FROM webhook_deliveries
       WHERE state = 'pending' AND next_attempt_at IS NOT NULL`,
    );
    return row?.due ?? null;
  }

  async listWebhookLeaseOwners(ownerPrefix: string): Promise<string[]> {
    const rows = await this.connection.rows<{ lease_owner: string }>(
      `SELECT DISTINCT lease_owner FROM webhook_deliveries WHERE state = 'pending' AND lease_owner LIKE $1 ESCAPE '\\'`,
      [`${ownerPrefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`],
    );
    return rows.map((r) => r.lease_owner);
  }

  async expireWebhookLeases(owner: string): Promise<number> {
    return this.connection.run(`UPDATE webhook_deliveries SET lease_owner = NULL, lease_expires_at = NULL WHERE state = 'pending' AND lease_owner = $1`, [
      owner,
    ]);
  }

  async listWebhookDeliveries(q: WebhookDeliveryQuery): Promise<WebhookDelivery[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (condition: string, value: unknown) => {
      params.push(value);
      where.push(`${condition} $${params.length}`);
    };
    if (q.accountId !== undefined) add('account_id =', q.accountId);
    if (q.taskId !== undefined) add('task_id =', q.taskId);
    if (q.state !== undefined) add('state =', q.state);
    if (q.before !== undefined) add('seq <', q.before);
    params.push(q.limit);
    const sql = `SELECT * FROM webhook_deliveries ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT $${params.length}`;
    return (await this.connection.rows<DeliveryRow>(sql, params)).map(toDelivery);
  }

  async getWebhookDelivery(id: string): Promise<WebhookDelivery | null> {
    const row = await this.connection.row<DeliveryRow>('SELECT * FROM webhook_deliveries WHERE id = $1', [id]);
    return row ? toDelivery(row) : null;
  }

  async listWebhookAttempts(deliverySeqs: readonly number[]): Promise<WebhookAttempt[]> {
    if (deliverySeqs.length === 0) return [];
    return this.connection.rows<WebhookAttempt>(`SELECT ${ATTEMPT_COLUMNS} FROM webhook_attempts WHERE delivery_seq = ANY($1) ORDER BY delivery_seq, attempt`, [
      deliverySeqs,
    ]);
  }

  async retryWebhookDelivery(id: string, now: number): Promise<boolean> {
    return (
      (await this.connection.run(
        `UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = $2, finished_at = NULL, lease_owner = NULL, lease_expires_at = NULL
         WHERE id = $1 AND state <> 'pending'`,
        [id, now],
      )) === 1
    );
  }
}
