import pg from 'pg';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import type { AssetRecord } from '../../src/store/asset-store.js';
import { PgAssets } from '../../src/store/postgres/assets.js';
import { PgConnection } from '../../src/store/postgres/connection.js';
import { PgSettings } from '../../src/store/postgres/settings.js';
import { PgTaskEvents, RECENT_RUN_TIMES_SQL } from '../../src/store/postgres/task-events.js';
import { PgWebhooks } from '../../src/store/postgres/webhooks.js';
import { createTestDatabase } from '../helpers/postgres-server.js';

/**
 * The assets, webhooks, task-event and settings parts of the PostgreSQL store, each on a fresh
 * database of the real server the suite starts. The rows of other parts they hang on (accounts,
 * keys, tasks, queued deliveries) are written here with plain SQL.
 */

let database: { url: string; drop: () => Promise<void> };
let connection: PgConnection;
const extra: PgConnection[] = [];

beforeEach(async () => {
  database = await createTestDatabase(inject('postgresAdminUrl'));
  connection = new PgConnection(database.url);
  await connection.migrate();
});
afterEach(async () => {
  for (const c of extra.splice(0)) await c.close();
  await connection.close();
  await database.drop();
});

const other = () => {
  const c = new PgConnection(database.url);
  extra.push(c);
  return c;
};

let counter = 0;
const uid = (prefix: string) => `${prefix}_${String(++counter).padStart(6, '0')}`;

async function seedAccount(): Promise<{ accountId: string; keyId: string }> {
  const accountId = uid('acct');
  const keyId = uid('key');
  await connection.run(`INSERT INTO accounts (id, name, unlimited, balance_micros, created_at) VALUES ($1, 'test', 1, 0, 1)`, [accountId]);
  await connection.run(`INSERT INTO api_keys (id, account_id, hash, prefix, name, created_at) VALUES ($1, $2, $3, 'sk-test', 'test', 1)`, [
    keyId,
    accountId,
    `${keyId}-hash`,
  ]);
  return { accountId, keyId };
}

interface TaskSeed {
  status?: string;
  progress?: number;
  provider?: string;
  model?: string;
  request?: object;
  createdAt?: number;
  finishedAt?: number | null;
}

async function seedTask(owner: { accountId: string; keyId: string }, t: TaskSeed = {}): Promise<string> {
  const id = uid('task');
  const model = t.model ?? 'doubao-seedance-2.0';
  await connection.run(
    `INSERT INTO tasks (id, account_id, key_id, status, progress, model, request, seed, provider, estimated_seconds, cost_micros, created_at, finished_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, 7, $8, 1, 264000, $9, $10)`,
    [
      id,
      owner.accountId,
      owner.keyId,
      t.status ?? 'pending',
      t.progress ?? 0,
      model,
      JSON.stringify(t.request ?? { model, prompt: 'a test scene', duration: 4, resolution: '480p' }),
      t.provider ?? 'local',
      t.createdAt ?? 1_000,
      t.finishedAt ?? null,
    ],
  );
  return id;
}

/** A queued delivery as the task queue's outbox writes it. */
async function seedDelivery(
  owner: { accountId: string },
  taskId: string,
  d: { event?: string; nextAttemptAt?: number; state?: string; url?: string } = {},
): Promise<{ id: string; seq: number }> {
  const id = uid('msg');
  const row = await connection.row<{ seq: number }>(
    `INSERT INTO webhook_deliveries (id, account_id, task_id, event, progress, cost_micros, url, state, next_attempt_at, created_at)
     VALUES ($1, $2, $3, $4, 0, 264000, $5, $6, $7, 1) RETURNING seq`,
    [id, owner.accountId, taskId, d.event ?? 'processing', d.url ?? 'https://hooks.example.com/h', d.state ?? 'pending', d.nextAttemptAt ?? 0],
  );
  return { id, seq: row!.seq };
}

const keysVersion = async () => Number((await connection.row<{ value: string }>(`SELECT value FROM settings WHERE name = 'keys_version'`))!.value);

describe('PgAssets', () => {
  const asset = (owner: { accountId: string }, groupId: string, reviewId: string, id: string, name: string): AssetRecord => ({
    id,
    accountId: owner.accountId,
    groupId,
    reviewId,
    projectName: 'spring campaign',
    kind: 'image',
    name,
    sourceUrl: `https://media.example.com/${name}.jpg`,
    // What the caller passes is ignored: a review's assets start pending.
    status: 'approved',
    reason: null,
    fileKey: null,
    bytes: null,
    contentType: null,
    createdAt: 2_000,
    deletedAt: null,
  });

  it('keeps groups, reviews and their assets, in the order they were sent', async () => {
    const assets = new PgAssets(connection);
    const owner = await seedAccount();
    const group = { id: 'grp_1', accountId: owner.accountId, name: 'cast', description: 'recurring characters', createdAt: 1_500 };
    await assets.createAssetGroup(group);
    expect(await assets.getAssetGroup('grp_1')).toEqual(group);
    expect(await assets.getAssetGroup('grp_missing')).toBeNull();

    // Ids that sort differently from the order sent: the review lists them as sent.
    const sent = [
      asset(owner, 'grp_1', 'rev_1', 'asset_c', 'cat'),
      asset(owner, 'grp_1', 'rev_1', 'asset_a', 'dog'),
      asset(owner, 'grp_1', 'rev_1', 'asset_b', 'eel'),
    ];
    await assets.createAssetReview({ id: 'rev_1', accountId: owner.accountId, groupId: 'grp_1', createdAt: 2_000 }, sent);
    expect(await assets.getAssetReview('rev_1')).toEqual({
      id: 'rev_1',
      accountId: owner.accountId,
      groupId: 'grp_1',
      status: 'pending',
      progress: 0,
      createdAt: 2_000,
      finishedAt: null,
    });
    expect(await assets.getAssetReview('rev_missing')).toBeNull();
    const listed = await assets.listReviewAssets('rev_1');
    expect(listed.map((a) => a.id)).toEqual(['asset_c', 'asset_a', 'asset_b']);
    expect(listed[0]).toEqual({ ...sent[0], status: 'pending' });
    expect((await assets.listUnfinishedReviews()).map((r) => r.id)).toEqual(['rev_1']);

    await assets.updateAssetReview('rev_1', { status: 'processing', progress: 50 });
    await assets.updateAssetReview('rev_1', { progress: 30 });
    expect(await assets.getAssetReview('rev_1')).toMatchObject({ status: 'processing', progress: 50, finishedAt: null });
    await assets.settleAsset('asset_c', { status: 'approved', fileKey: 'acct/asset_c.jpg', bytes: 12_345, contentType: 'image/jpeg' });
    await assets.settleAsset('asset_a', { status: 'failed', reason: 'not an image' });
    expect(await assets.getAsset('asset_c')).toMatchObject({
      status: 'approved',
      fileKey: 'acct/asset_c.jpg',
      bytes: 12_345,
      contentType: 'image/jpeg',
      reason: null,
    });
    expect(await assets.getAsset('asset_a')).toMatchObject({ status: 'failed', reason: 'not an image', fileKey: null, bytes: null });
    expect(await assets.getAsset('asset_missing')).toBeNull();
    await assets.updateAssetReview('rev_1', { status: 'failed', progress: 100, finishedAt: 3_000 });
    expect(await assets.getAssetReview('rev_1')).toMatchObject({ status: 'failed', progress: 100, finishedAt: 3_000 });
    expect(await assets.listUnfinishedReviews()).toEqual([]);
  });

  it('writes a review and its assets together or not at all', async () => {
    const assets = new PgAssets(connection);
    const owner = await seedAccount();
    await assets.createAssetGroup({ id: 'grp_1', accountId: owner.accountId, name: 'g', description: '', createdAt: 1 });
    const twice = asset(owner, 'grp_1', 'rev_1', 'asset_a', 'a');
    await expect(assets.createAssetReview({ id: 'rev_1', accountId: owner.accountId, groupId: 'grp_1', createdAt: 2 }, [twice, twice])).rejects.toThrow();
    expect(await assets.getAssetReview('rev_1')).toBeNull();
    expect(await assets.getAsset('asset_a')).toBeNull();
  });

  it("lists an account's live assets by id with a cursor, and deletes only its own, once", async () => {
    const assets = new PgAssets(connection);
    const owner = await seedAccount();
    const stranger = await seedAccount();
    await assets.createAssetGroup({ id: 'grp_1', accountId: owner.accountId, name: 'g', description: '', createdAt: 1 });
    await assets.createAssetGroup({ id: 'grp_2', accountId: stranger.accountId, name: 'g', description: '', createdAt: 1 });
    const ids = ['asset_d', 'asset_b', 'asset_a', 'asset_c'];
    await assets.createAssetReview(
      { id: 'rev_1', accountId: owner.accountId, groupId: 'grp_1', createdAt: 2 },
      ids.map((id) => asset(owner, 'grp_1', 'rev_1', id, id)),
    );
    await assets.createAssetReview({ id: 'rev_2', accountId: stranger.accountId, groupId: 'grp_2', createdAt: 2 }, [
      asset(stranger, 'grp_2', 'rev_2', 'asset_0', 'x'),
    ]);
    expect((await assets.listAssets(owner.accountId, 2)).map((a) => a.id)).toEqual(['asset_a', 'asset_b']);
    expect((await assets.listAssets(owner.accountId, 10, 'asset_b')).map((a) => a.id)).toEqual(['asset_c', 'asset_d']);

    expect(await assets.deleteAsset('asset_b', stranger.accountId, 5_000)).toBe(false);
    expect(await assets.deleteAsset('asset_b', owner.accountId, 5_000)).toBe(true);
    expect(await assets.deleteAsset('asset_b', owner.accountId, 6_000)).toBe(false);
    expect((await assets.getAsset('asset_b'))!.deletedAt).toBe(5_000);
    expect((await assets.listAssets(owner.accountId, 10)).map((a) => a.id)).toEqual(['asset_a', 'asset_c', 'asset_d']);
    expect((await assets.listAssets(stranger.accountId, 10)).map((a) => a.id)).toEqual(['asset_0']);
  });
});

describe('PgWebhooks', () => {
  it('claimers on two connections never take the same delivery', async () => {
    const owner = await seedAccount();
    const queued = new Set<string>();
    for (let i = 0; i < 20; i++) queued.add((await seedDelivery(owner, await seedTask(owner), { nextAttemptAt: i })).id);
    const here = new PgWebhooks(connection);
    const there = new PgWebhooks(other());
    const now = Date.now();
    const claims = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? there : here).claimWebhookDeliveries({ owner: `w${i}`, now, leaseMs: 60_000, limit: 3 })),
    );
    const ids = claims.flat().map((d) => d.id);
    expect(ids).toHaveLength(20);
    expect(new Set(ids)).toEqual(queued);
    // Each claimer's deliveries carry its own lease, and the rows agree.
    for (const [i, claim] of claims.entries()) {
      for (const d of claim) {
        expect(d).toMatchObject({ leaseOwner: `w${i}`, leaseExpiresAt: now + 60_000 });
        expect((await here.getWebhookDelivery(d.id))!.leaseOwner).toBe(`w${i}`);
      }
    }
    expect(await here.claimWebhookDeliveries({ owner: 'late', now, leaseMs: 60_000, limit: 3 })).toEqual([]);
  });

  it('claims the oldest due first, up to the limit, and only what is due', async () => {
    const webhooks = new PgWebhooks(connection);
    const owner = await seedAccount();
    const task = await seedTask(owner);
    const later = await seedDelivery(owner, task, { event: 'processing', nextAttemptAt: 300 });
    const first = await seedDelivery(owner, task, { event: 'completed', nextAttemptAt: 100 });
    const tied = await seedDelivery(owner, task, { event: 'failed', nextAttemptAt: 300 });
    await seedDelivery(owner, task, { event: 'cancelled', nextAttemptAt: 5_000 });
    await seedDelivery(owner, task, { event: 'pending', nextAttemptAt: 0, state: 'delivered' });
    expect(await webhooks.claimWebhookDeliveries({ owner: 'A', now: 1_000, leaseMs: 10, limit: 0 })).toEqual([]);
    const claimed = await webhooks.claimWebhookDeliveries({ owner: 'A', now: 1_000, leaseMs: 10, limit: 2 });
    expect(claimed.map((d) => d.id)).toEqual([first.id, later.id]);
    expect((await webhooks.claimWebhookDeliveries({ owner: 'B', now: 1_000, leaseMs: 10, limit: 10 })).map((d) => d.id)).toEqual([tied.id]);
    // Every lease ran out at 1 010: all three are due again, oldest first.
    expect((await webhooks.claimWebhookDeliveries({ owner: 'C', now: 1_010, leaseMs: 10, limit: 10 })).map((d) => d.id)).toEqual([first.id, later.id, tied.id]);
  });

  it('leases deliveries, fences late writers out, records attempts and moves them on by outcome', async () => {
    const webhooks = new PgWebhooks(connection);
    const owner = await seedAccount();
    const task = await seedTask(owner);
    const queued = await seedDelivery(owner, task, { nextAttemptAt: 0 });
    const now = Date.now();
    expect(await webhooks.nextWebhookDue()).toBe(0);
    const [mine] = await webhooks.claimWebhookDeliveries({ owner: 'A', now, leaseMs: 1000, limit: 10 });
    expect(mine).toMatchObject({
      id: queued.id,
      seq: queued.seq,
      event: 'processing',
      leaseOwner: 'A',
      leaseExpiresAt: now + 1000,
      accountId: owner.accountId,
      taskId: task,
    });
    expect(await webhooks.claimWebhookDeliveries({ owner: 'B', now: now + 999, leaseMs: 1000, limit: 10 })).toEqual([]);
    expect(await webhooks.nextWebhookDue()).toBe(now + 1000);

    const guardA = { id: mine!.id, owner: 'A' };
    expect(await webhooks.saveWebhookBody({ id: mine!.id, owner: 'B' }, '{"x":1}')).toBe(false);
    expect(await webhooks.saveWebhookBody(guardA, '{"code":200}')).toBe(true);
    const attempt = { startedAt: now, durationMs: 5, statusCode: 500, error: 'HTTP 500' };
    expect(await webhooks.recordWebhookAttempt(guardA, attempt, { delivered: false, statusCode: 500, error: 'HTTP 500', retryAt: now + 50 })).toBe(true);
    let d = (await webhooks.getWebhookDelivery(mine!.id))!;
    expect(d).toMatchObject({
      state: 'pending',
      attempts: 1,
      nextAttemptAt: now + 50,
      leaseOwner: null,
      leaseExpiresAt: null,
      lastStatus: 500,
      lastError: 'HTTP 500',
      body: '{"code":200}',
      finishedAt: null,
    });
    expect(await webhooks.nextWebhookDue()).toBe(now + 50);

    // A's lease ran out and B took the delivery: A's late writes land nowhere, and count no attempt.
    const [taken] = await webhooks.claimWebhookDeliveries({ owner: 'B', now: now + 50, leaseMs: 1000, limit: 10 });
    expect(taken!.id).toBe(mine!.id);
    expect(await webhooks.recordWebhookAttempt(guardA, attempt, { delivered: true, statusCode: 200 })).toBe(false);
    expect(await webhooks.saveWebhookBody(guardA, '{"late":true}')).toBe(false);
    expect(await webhooks.releaseWebhookDelivery(guardA, now)).toBe(false);
    expect(await webhooks.listWebhookAttempts([d.seq])).toHaveLength(1);
    // Given back without counting an attempt.
    expect(await webhooks.releaseWebhookDelivery({ id: mine!.id, owner: 'B' }, now + 60)).toBe(true);
    expect((await webhooks.getWebhookDelivery(mine!.id))!).toMatchObject({ attempts: 1, nextAttemptAt: now + 60, leaseOwner: null, body: '{"code":200}' });

    const [again] = await webhooks.claimWebhookDeliveries({ owner: 'C_1', now: now + 60, leaseMs: 1000, limit: 10 });
    expect(await webhooks.listWebhookLeaseOwners('C_')).toEqual(['C_1']);
    // `_` and `%` in the prefix are literal, not patterns.
    expect(await webhooks.listWebhookLeaseOwners('C%')).toEqual([]);
    expect(await webhooks.listWebhookLeaseOwners('CX')).toEqual([]);
    expect(await webhooks.expireWebhookLeases('C_1')).toBe(1);
    expect(await webhooks.expireWebhookLeases('C_1')).toBe(0);
    const [finalClaim] = await webhooks.claimWebhookDeliveries({ owner: 'D', now: now + 60, leaseMs: 1000, limit: 10 });
    expect(finalClaim!.id).toBe(again!.id);
    expect(
      await webhooks.recordWebhookAttempt(
        { id: again!.id, owner: 'D' },
        { ...attempt, startedAt: now + 70, statusCode: 204, error: null },
        { delivered: true, statusCode: 204 },
      ),
    ).toBe(true);
    d = (await webhooks.getWebhookDelivery(mine!.id))!;
    expect(d).toMatchObject({ state: 'delivered', attempts: 2, nextAttemptAt: null, lastStatus: 204, lastError: null, leaseOwner: null, finishedAt: now + 75 });
    expect(await webhooks.nextWebhookDue()).toBeNull();
    expect(await webhooks.listWebhookAttempts([d.seq, 999_999])).toEqual([
      { deliverySeq: d.seq, attempt: 1, startedAt: now, durationMs: 5, statusCode: 500, error: 'HTTP 500', owner: 'A' },
      { deliverySeq: d.seq, attempt: 2, startedAt: now + 70, durationMs: 5, statusCode: 204, error: null, owner: 'D' },
    ]);
    expect(await webhooks.listWebhookAttempts([])).toEqual([]);
    // A finished delivery is not held: no write lands on it.
    expect(await webhooks.saveWebhookBody({ id: d.id, owner: 'D' }, '{}')).toBe(false);

    expect(await webhooks.retryWebhookDelivery(d.id, now + 100)).toBe(true);
    expect(await webhooks.retryWebhookDelivery(d.id, now + 100)).toBe(false);
    expect(await webhooks.retryWebhookDelivery('msg_missing', now + 100)).toBe(false);
    expect((await webhooks.getWebhookDelivery(d.id))!).toMatchObject({ state: 'pending', attempts: 2, nextAttemptAt: now + 100, finishedAt: null });
    expect(await webhooks.nextWebhookDue()).toBe(now + 100);
    expect(await webhooks.getWebhookDelivery('msg_missing')).toBeNull();
  });

  it('gives a delivery up when no retry is due, and lists attempts of several deliveries in order', async () => {
    const webhooks = new PgWebhooks(connection);
    const owner = await seedAccount();
    const task = await seedTask(owner);
    const one = await seedDelivery(owner, task, { event: 'processing' });
    const two = await seedDelivery(owner, task, { event: 'completed' });
    await webhooks.claimWebhookDeliveries({ owner: 'A', now: 10, leaseMs: 1000, limit: 10 });
    const refused = { startedAt: 20, durationMs: 3, statusCode: null, error: 'connection refused' };
    expect(
      await webhooks.recordWebhookAttempt({ id: two.id, owner: 'A' }, refused, { delivered: false, statusCode: null, error: 'refused', retryAt: null }),
    ).toBe(true);
    expect(
      await webhooks.recordWebhookAttempt({ id: one.id, owner: 'A' }, { ...refused, statusCode: 200, error: null }, { delivered: true, statusCode: 200 }),
    ).toBe(true);
    expect(await webhooks.getWebhookDelivery(two.id)).toMatchObject({
      state: 'failed',
      attempts: 1,
      nextAttemptAt: null,
      lastStatus: null,
      lastError: 'refused',
      finishedAt: 23,
    });
    expect((await webhooks.listWebhookAttempts([two.seq, one.seq])).map((a) => [a.deliverySeq, a.attempt, a.statusCode])).toEqual([
      [one.seq, 1, 200],
      [two.seq, 1, null],
    ]);
    expect(await webhooks.nextWebhookDue()).toBeNull();
  });

  it('keeps one secret per account and the previous one through a rotation', async () => {
    const webhooks = new PgWebhooks(connection);
    const owner = await seedAccount();
    expect(await webhooks.getWebhookSecret(owner.accountId)).toBeNull();
    const first = await webhooks.ensureWebhookSecret(owner.accountId, 'whsec_first', 1);
    expect(first).toEqual({ accountId: owner.accountId, secret: 'whsec_first', previous: null, previousUntil: null, createdAt: 1 });
    expect(await webhooks.ensureWebhookSecret(owner.accountId, 'whsec_other', 2)).toEqual(first);
    const rotated = await webhooks.rotateWebhookSecret(owner.accountId, 'whsec_second', 3, 1000);
    expect(rotated).toEqual({ accountId: owner.accountId, secret: 'whsec_second', previous: 'whsec_first', previousUntil: 1000, createdAt: 3 });
    expect(await webhooks.getWebhookSecret(owner.accountId)).toEqual(rotated);
    const dropped = await webhooks.rotateWebhookSecret(owner.accountId, 'whsec_third', 4, null);
    expect(dropped).toMatchObject({ secret: 'whsec_third', previous: null, previousUntil: null, createdAt: 4 });
    // Rotating an account that never had a secret simply sets one.
    const fresh = await seedAccount();
    expect(await webhooks.rotateWebhookSecret(fresh.accountId, 'whsec_new', 5, 9_000)).toEqual({
      accountId: fresh.accountId,
      secret: 'whsec_new',
      previous: null,
      previousUntil: null,
      createdAt: 5,
    });
    // Two processes ensuring at once agree on one secret.
    const racing = await seedAccount();
    const [a, b] = await Promise.all([
      webhooks.ensureWebhookSecret(racing.accountId, 'whsec_a', 6),
      new PgWebhooks(other()).ensureWebhookSecret(racing.accountId, 'whsec_b', 6),
    ]);
    expect(a).toEqual(b);
  });

  it('lists deliveries newest first, by account, task and state, before a cursor', async () => {
    const webhooks = new PgWebhooks(connection);
    const owner = await seedAccount();
    const stranger = await seedAccount();
    const t1 = await seedTask(owner);
    const t2 = await seedTask(owner);
    const t3 = await seedTask(stranger);
    const d1 = await seedDelivery(owner, t1, { event: 'processing' });
    const d2 = await seedDelivery(owner, t1, { event: 'completed', state: 'delivered' });
    const d3 = await seedDelivery(owner, t2, { event: 'processing', state: 'failed' });
    const d4 = await seedDelivery(stranger, t3, { event: 'processing' });
    const ids = async (q: Parameters<PgWebhooks['listWebhookDeliveries']>[0]) => (await webhooks.listWebhookDeliveries(q)).map((d) => d.id);
    expect(await ids({ limit: 10 })).toEqual([d4.id, d3.id, d2.id, d1.id]);
    expect(await ids({ limit: 2 })).toEqual([d4.id, d3.id]);
    expect(await ids({ limit: 2, before: d3.seq })).toEqual([d2.id, d1.id]);
    expect(await ids({ accountId: owner.accountId, limit: 10 })).toEqual([d3.id, d2.id, d1.id]);
    expect(await ids({ taskId: t1, limit: 10 })).toEqual([d2.id, d1.id]);
    expect(await ids({ state: 'pending', limit: 10 })).toEqual([d4.id, d1.id]);
    expect(await ids({ accountId: owner.accountId, state: 'pending', limit: 10 })).toEqual([d1.id]);
    expect(await ids({ accountId: owner.accountId, taskId: t2, state: 'failed', before: d3.seq + 1, limit: 10 })).toEqual([d3.id]);
    expect(await ids({ accountId: stranger.accountId, taskId: t1, limit: 10 })).toEqual([]);
    const [full] = await webhooks.listWebhookDeliveries({ taskId: t2, limit: 1 });
    expect(full).toEqual({
      seq: d3.seq,
      id: d3.id,
      accountId: owner.accountId,
      taskId: t2,
      event: 'processing',
      progress: 0,
      costMicros: 264_000,
      url: 'https://hooks.example.com/h',
      state: 'failed',
      attempts: 0,
      nextAttemptAt: 0,
      leaseOwner: null,
      leaseExpiresAt: null,
      body: null,
      lastStatus: null,
      lastError: null,
      createdAt: 1,
      finishedAt: null,
    });
  });

  it("sets a key's default callback URL, counting the change and announcing it to other processes", async () => {
    const webhooks = new PgWebhooks(connection);
    const owner = await seedAccount();
    const listener = new pg.Client({ connectionString: database.url });
    await listener.connect();
    try {
      const heard: string[] = [];
      listener.on('notification', (n) => heard.push(n.channel));
      await listener.query('LISTEN vidgate_keys');
      const v0 = await keysVersion();
      expect(await webhooks.setApiKeyCallbackUrl(owner.keyId, 'https://default.example.com/h')).toBe(true);
      expect(await keysVersion()).toBe(v0 + 1);
      expect((await connection.row<{ callback_url: string }>('SELECT callback_url FROM api_keys WHERE id = $1', [owner.keyId]))!.callback_url).toBe(
        'https://default.example.com/h',
      );
      await expect.poll(() => heard).toEqual(['vidgate_keys']);
      expect(await webhooks.setApiKeyCallbackUrl(owner.keyId, null)).toBe(true);
      expect(await keysVersion()).toBe(v0 + 2);
      expect(
        (await connection.row<{ callback_url: string | null }>('SELECT callback_url FROM api_keys WHERE id = $1', [owner.keyId]))!.callback_url,
      ).toBeNull();
      // A missing key changes nothing, so nothing is counted or announced.
      expect(await webhooks.setApiKeyCallbackUrl('key_missing', 'https://x.example.com')).toBe(false);
      expect(await keysVersion()).toBe(v0 + 2);
      await expect.poll(() => heard.length).toBe(2);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(heard).toHaveLength(2);
    } finally {
      await listener.end();
    }
  });
});

describe('PgTaskEvents', () => {
  it('reads the states of many tasks in one query', async () => {
    const events = new PgTaskEvents(connection);
    const owner = await seedAccount();
    const a = await seedTask(owner);
    const b = await seedTask(owner, { status: 'processing', progress: 40 });
    const c = await seedTask(owner, { status: 'completed', progress: 100, finishedAt: 2_000 });
    const states = await events.getTaskStates([a, b, c, 'task_missing']);
    expect([...states].sort((x, y) => x.id.localeCompare(y.id))).toEqual([
      { id: a, status: 'pending', progress: 0 },
      { id: b, status: 'processing', progress: 40 },
      { id: c, status: 'completed', progress: 100 },
    ]);
    expect(await events.getTaskStates([])).toEqual([]);
    expect(await events.getTaskStates(['task_missing'])).toEqual([]);
  });

  it('gives the run times of completed tasks of one shape on one channel, newest first', async () => {
    const events = new PgTaskEvents(connection);
    const owner = await seedAccount();
    const shape = (resolution: string, duration: number) => ({ model: 'doubao-seedance-2.0', prompt: 'p', resolution, duration });
    await seedTask(owner, { status: 'completed', createdAt: 1_000, finishedAt: 4_000, request: shape('480p', 4) });
    await seedTask(owner, { status: 'completed', createdAt: 2_000, finishedAt: 9_000, request: shape('480p', 4) });
    await seedTask(owner, { status: 'completed', createdAt: 5_000, finishedAt: 6_000, request: shape('480p', 4) });
    // Other shapes, channels, models and states are left out.
    await seedTask(owner, { status: 'completed', createdAt: 1, finishedAt: 99_000, request: shape('720p', 4) });
    await seedTask(owner, { status: 'completed', createdAt: 1, finishedAt: 99_000, request: shape('480p', 5) });
    await seedTask(owner, { status: 'completed', createdAt: 1, finishedAt: 99_000, request: shape('480p', 4), provider: 'ark' });
    await seedTask(owner, { status: 'completed', createdAt: 1, finishedAt: 99_000, request: shape('480p', 4), model: 'other-model' });
    await seedTask(owner, { status: 'failed', createdAt: 1, finishedAt: 99_000, request: shape('480p', 4) });
    await seedTask(owner, { status: 'completed', createdAt: 1, finishedAt: 99_000, request: { model: 'doubao-seedance-2.0', prompt: 'p' } });
    const q = { provider: 'local', model: 'doubao-seedance-2.0', resolution: '480p', duration: 4 };
    expect(await events.recentRunTimes({ ...q, limit: 10 })).toEqual([7_000, 1_000, 3_000]);
    expect(await events.recentRunTimes({ ...q, limit: 2 })).toEqual([7_000, 1_000]);
    expect(await events.recentRunTimes({ ...q, duration: 5, limit: 10 })).toEqual([98_999]);
    expect(await events.recentRunTimes({ ...q, resolution: '1080p', limit: 10 })).toEqual([]);
  });

  it('reads run times through the index tasks_run_history, in its order', async () => {
    const plan = await connection.transaction(async (tx) => {
      // The table is empty: without this the planner rightly prefers reading it whole.
      await tx.run('SET LOCAL enable_seqscan = off');
      return tx.rows<{ 'QUERY PLAN': string }>(`EXPLAIN ${RECENT_RUN_TIMES_SQL}`, ['local', 'doubao-seedance-2.0', '480p', '4', 20]);
    });
    const text = plan.map((r) => r['QUERY PLAN']).join('\n');
    expect(text).toMatch(/Index Scan Backward using tasks_run_history/);
    expect(text).not.toMatch(/Sort/);
  });
});

describe('PgSettings', () => {
  it('keeps settings: the first value wins, across processes', async () => {
    const settings = new PgSettings(connection);
    expect(await settings.getSetting('s')).toBeNull();
    expect(await settings.initSetting('s', 'one')).toBe('one');
    expect(await settings.initSetting('s', 'two')).toBe('one');
    expect(await settings.getSetting('s')).toBe('one');
    expect(await settings.getSetting('keys_version')).toBe('0');
    const [a, b] = await Promise.all([settings.initSetting('race', 'a'), new PgSettings(other()).initSetting('race', 'b')]);
    expect(a).toBe(b);
  });
});
