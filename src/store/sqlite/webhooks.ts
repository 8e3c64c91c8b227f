import type { LeaseGuard } from '../task-queue-store.js';
import type { WebhookAttempt, WebhookAttemptOutcome, WebhookDelivery, WebhookDeliveryQuery, WebhookSecret, WebhookStore } from '../webhook-store.js';
import { type DeliveryRow, type SecretRow, toDelivery, toSecret } from '../sql/webhook-rows.js';
import type { SqliteConnection } from './connection.js';

/** Fenced by the delivery lease, like task writes: a worker whose lease was taken over writes nothing. */
const HELD = `id = @id AND state = 'pending' AND lease_owner = @owner`;
/** Pending and not held by anyone alive. */
const DUE = `state = 'pending' AND next_attempt_at <= @now AND (lease_expires_at IS NULL OR lease_expires_at <= @now)`;

/**
 * The webhook outbox, its attempts and the per-account secrets. Deliveries are queued by the task
 * queue (`SqliteOutbox`) in the transaction of the status change.
 */
export class SqliteWebhooks implements WebhookStore {
  private readonly s;

  constructor(private readonly connection: SqliteConnection) {
    const db = connection.db;
    this.s = {
      keyCallback: db.prepare('UPDATE api_keys SET callback_url = ? WHERE id = ?'),
      secret: db.prepare('SELECT * FROM webhook_secrets WHERE account_id = ?'),
      insertSecret: db.prepare('INSERT INTO webhook_secrets (account_id, secret, created_at) VALUES (?, ?, ?) ON CONFLICT (account_id) DO NOTHING'),
      rotateSecret: db.prepare(`
        INSERT INTO webhook_secrets (account_id, secret, previous, previous_until, created_at) VALUES (@accountId, @secret, NULL, NULL, @now)
        ON CONFLICT (account_id) DO UPDATE SET
          previous = CASE WHEN @previousUntil IS NULL THEN NULL ELSE webhook_secrets.secret END,
          previous_until = @previousUntil, secret = excluded.secret, created_at = excluded.created_at`),
      pickDue: db.prepare(`SELECT id FROM webhook_deliveries WHERE ${DUE} ORDER BY next_attempt_at, seq LIMIT @limit`).pluck(),
      take: db.prepare(`UPDATE webhook_deliveries SET lease_owner = @owner, lease_expires_at = @until WHERE id = @id AND ${DUE} RETURNING *`),
      saveBody: db.prepare(`UPDATE webhook_deliveries SET body = @body WHERE ${HELD}`),
      insertAttempt: db.prepare(`
        INSERT INTO webhook_attempts (delivery_seq, attempt, started_at, duration_ms, status_code, error, owner)
        SELECT seq, attempts + 1, @startedAt, @durationMs, @statusCode, @error, @owner FROM webhook_deliveries WHERE ${HELD}`),
      settle: db.prepare(`
        UPDATE webhook_deliveries SET attempts = attempts + 1, state = @state, next_attempt_at = @next, last_status = @statusCode,
          last_error = @error, finished_at = @finishedAt, lease_owner = NULL, lease_expires_at = NULL
        WHERE ${HELD}`),
      release: db.prepare(`UPDATE webhook_deliveries SET next_attempt_at = @dueAt, lease_owner = NULL, lease_expires_at = NULL WHERE ${HELD}`),
      nextDue: db.prepare(`SELECT MIN(MAX(next_attempt_at, COALESCE(lease_expires_at, 0))) FROM webhook_deliveries WHERE state = 'pending'`).pluck(),
      leaseOwners: db.prepare(`SELECT DISTINCT lease_owner FROM webhook_deliveries WHERE state = 'pending' AND lease_owner LIKE ? ESCAPE '\\'`).pluck(),
      expireLeases: db.prepare(`UPDATE webhook_deliveries SET lease_owner = NULL, lease_expires_at = NULL WHERE state = 'pending' AND lease_owner = ?`),
      delivery: db.prepare('SELECT * FROM webhook_deliveries WHERE id = ?'),
      retry: db.prepare(`
        UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = @now, finished_at = NULL, lease_owner = NULL, lease_expires_at = NULL
        WHERE id = @id AND state <> 'pending'`),
      attempts: db.prepare(`
        SELECT delivery_seq AS deliverySeq, attempt, started_at AS startedAt, duration_ms AS durationMs, status_code AS statusCode, error, owner
        FROM webhook_attempts WHERE delivery_seq IN (SELECT value FROM json_each(?)) ORDER BY delivery_seq, attempt`),
    };
  }

  async setApiKeyCallbackUrl(keyId: string, url: string | null): Promise<boolean> {
    return this.connection.writeTransaction(() => {
      if (this.s.keyCallback.run(url, keyId).changes !== 1) return false;
      this.connection.keysChanged();
      return true;
    });
  }

  async getWebhookSecret(accountId: string): Promise<WebhookSecret | null> {
    const row = this.s.secret.get(accountId) as SecretRow | undefined;
    return row ? toSecret(row) : null;
  }

  async ensureWebhookSecret(accountId: string, secret: string, now: number): Promise<WebhookSecret> {
    this.s.insertSecret.run(accountId, secret, now);
    return toSecret(this.s.secret.get(accountId) as SecretRow);
  }

  async rotateWebhookSecret(accountId: string, secret: string, now: number, previousUntil: number | null): Promise<WebhookSecret> {
    return this.connection.writeTransaction(() => {
      this.s.rotateSecret.run({ accountId, secret, now, previousUntil });
      return toSecret(this.s.secret.get(accountId) as SecretRow);
    });
  }

  async claimWebhookDeliveries(o: { owner: string; now: number; leaseMs: number; limit: number }): Promise<WebhookDelivery[]> {
    if (o.limit <= 0) return [];
    const params = { owner: o.owner, now: o.now, until: o.now + o.leaseMs, limit: o.limit };
    const rows = this.connection.writeTransaction(() =>
      (this.s.pickDue.all(params) as string[]).map((id) => this.s.take.get({ ...params, id }) as DeliveryRow | undefined).filter((r) => r !== undefined),
    );
    return rows.map(toDelivery);
  }

  async saveWebhookBody(g: LeaseGuard, body: string): Promise<boolean> {
    return this.s.saveBody.run({ ...g, body }).changes === 1;
  }

  async recordWebhookAttempt(
    g: LeaseGuard,
    attempt: Omit<WebhookAttempt, 'deliverySeq' | 'attempt' | 'owner'>,
    outcome: WebhookAttemptOutcome,
  ): Promise<boolean> {
    const finishedAt = attempt.startedAt + attempt.durationMs;
    return this.connection.writeTransaction(() => {
      if (this.s.insertAttempt.run({ ...g, ...attempt }).changes !== 1) return false;
      const change = outcome.delivered
        ? { state: 'delivered', next: null, statusCode: outcome.statusCode, error: null, finishedAt }
        : outcome.retryAt === null
          ? { state: 'failed', next: null, statusCode: outcome.statusCode, error: outcome.error, finishedAt }
          : { state: 'pending', next: outcome.retryAt, statusCode: outcome.statusCode, error: outcome.error, finishedAt: null };
      return this.s.settle.run({ ...g, ...change }).changes === 1;
    });
  }

  async releaseWebhookDelivery(g: LeaseGuard, dueAt: number): Promise<boolean> {
    return this.s.release.run({ ...g, dueAt }).changes === 1;
  }

  async nextWebhookDue(): Promise<number | null> {
    return (this.s.nextDue.get() as number | null) ?? null;
  }

  async listWebhookLeaseOwners(ownerPrefix: string): Promise<string[]> {
    return this.s.leaseOwners.all(`${ownerPrefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`) as string[];
  }

  async expireWebhookLeases(owner: string): Promise<number> {
    return this.s.expireLeases.run(owner).changes;
  }

  async listWebhookDeliveries(q: WebhookDeliveryQuery): Promise<WebhookDelivery[]> {
    const where: string[] = [];
    if (q.accountId !== undefined) where.push('account_id = @accountId');
    if (q.taskId !== undefined) where.push('task_id = @taskId');
    if (q.state !== undefined) where.push('state = @state');
    if (q.before !== undefined) where.push('seq < @before');
    const sql = `SELECT * FROM webhook_deliveries ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT @limit`;
    return (this.connection.statement(sql).all({ ...q }) as DeliveryRow[]).map(toDelivery);
  }

  async getWebhookDelivery(id: string): Promise<WebhookDelivery | null> {
    const row = this.s.delivery.get(id) as DeliveryRow | undefined;
    return row ? toDelivery(row) : null;
  }

  async listWebhookAttempts(deliverySeqs: readonly number[]): Promise<WebhookAttempt[]> {
    if (deliverySeqs.length === 0) return [];
    return this.s.attempts.all(JSON.stringify(deliverySeqs)) as WebhookAttempt[];
  }

  async retryWebhookDelivery(id: string, now: number): Promise<boolean> {
    return this.s.retry.run({ id, now }).changes === 1;
  }
}
