import { copyFile, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createAccountWithKey, hashApiKey } from '../../src/auth/keys.js';
import { BIGINT_AS_NUMBER } from '../../src/store/postgres/connection.js';
import { MIGRATIONS } from '../../src/store/sqlite/migrations.js';
import { createTestDatabase } from '../helpers/postgres-server.js';
import { startTestApp, TEST_KEY, type TestApp } from '../helpers/test-app.js';
import { startReceiver, type Receiver } from '../webhooks/receiver.js';
import { runCli } from './run-cli.js';

/**
 * A real SQLite installation (made by running the app: renders, a cancel, money, a webhook, assets)
 * moved with the real CLI into a real PostgreSQL database, then served from it by a new app.
 */

// The source app is on SQLite whichever project runs this file.
const ON_SQLITE = { VIDGATE_DATABASE_URL: '', VIDGATE_MEDIA_ALLOW_HOSTS: '127.0.0.1', VIDGATE_WEBHOOK_RETRY_SCHEDULE: '20ms,40ms' };
const TASK = { model: 'doubao-seedance-2.0', prompt: 'x', duration: 4, resolution: '480p' };

const databases: Array<{ url: string; drop: () => Promise<void> }> = [];
async function newDatabase(): Promise<string> {
  const db = await createTestDatabase(inject('postgresAdminUrl'));
  databases.push(db);
  return db.url;
}

async function query<R>(url: string, sql: string, params: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: url, types: BIGINT_AS_NUMBER });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as R[];
  } finally {
    await client.end();
  }
}

const count = async (url: string, table: string) => (await query<{ n: number }>(url, `SELECT COUNT(*)::int AS n FROM ${table}`))[0]?.n;

const migrate = (dataDir: string, ...args: string[]) => runCli(['db', 'migrate-to', ...args], { VIDGATE_DATA_DIR: dataDir, VIDGATE_DATABASE_URL: '' });

let dataDir: string;
let hook: Receiver;
let doneId: string;
let paidId: string;
let cancelledId: string;
let payingKey: string;
let payingAccount: string;
let doneView: { status: string; cost: number; url: string };
let fileBytes: number;
let before: { bootstrap: unknown; paying: unknown; reviewOrder: string[]; ledgerMaxId: number; tables: Record<string, number> };

const SQLITE_TABLES = [
  'settings',
  'accounts',
  'api_keys',
  'tasks',
  'ledger',
  'idempotency_keys',
  'asset_groups',
  'asset_reviews',
  'assets',
  'webhook_secrets',
  'webhook_deliveries',
  'webhook_attempts',
];

beforeAll(async () => {
  hook = await startReceiver();
  // The one local channel declares an upstream cost, so completed tasks carry an upstream cost and a margin to copy.
  const source = await mkdtemp(join(tmpdir(), 'vidgate-migrate-'));
  const config = join(source, 'vidgate.yaml');
  await writeFile(config, 'channels:\n  - name: local\n    provider: local\n    cost:\n      per_second:\n        doubao-seedance-2.0: { 480p: 0.04 }\n');
  const t = await startTestApp({ ...ON_SQLITE, VIDGATE_CONFIG: config }, { dataDir: source });
  dataDir = t.dataDir;
  try {
    const get = (url: string, key = TEST_KEY) => t.app.server.inject({ method: 'GET', url, headers: { authorization: `Bearer ${key}` } });
    doneId = await t.submit({ ...TASK, callback_url: hook.url });
    cancelledId = await t.submit({ ...TASK, prompt: 'to be cancelled' });
    const cancel = await t.app.server.inject({ method: 'POST', url: `/v1/tasks/${cancelledId}/cancel`, headers: t.auth });
    expect(cancel.statusCode).toBe(200);

    const paying = await createAccountWithKey(t.app.store, { name: 'paying', balanceUsd: 10 });
    payingKey = paying.secret;
    payingAccount = paying.key.accountId;
    await t.app.store.topUp(payingAccount, 2_500_000, 'second top-up', Date.now());
    const paid = await t.app.server.inject({
      method: 'POST',
      url: '/v1/videos/generations',
      headers: { authorization: `Bearer ${payingKey}`, 'idempotency-key': 'paid-once' },
      payload: TASK,
    });
    expect(paid.statusCode).toBe(200);
    paidId = paid.json().data[0].task_id;

    await Promise.all([t.settled(doneId), t.settled(paidId), t.settled(cancelledId)]);
    await hook.waitFor((r) => r.json.data.id === doneId && r.json.data.status === 'completed');

    // Inserted out of id order: PostgreSQL must keep the order they were sent in (rowid → seq).
    const now = Date.now();
    await t.app.store.createAssetGroup({ id: 'group_m', accountId: payingAccount, name: 'g', description: 'd', createdAt: now });
    const asset = (id: string) => ({
      id,
      accountId: payingAccount,
      groupId: 'group_m',
      reviewId: 'review_m',
      projectName: 'p',
      kind: 'image' as const,
      name: id,
      sourceUrl: `https://example.com/${id}.png`,
      status: 'pending' as const,
      reason: null,
      fileKey: null,
      bytes: null,
      contentType: null,
      createdAt: now,
      deletedAt: null,
    });
    await t.app.store.createAssetReview({ id: 'review_m', accountId: payingAccount, groupId: 'group_m', createdAt: now }, [
      asset('asset_zz'),
      asset('asset_aa'),
      asset('asset_mm'),
    ]);

    const view = (await get(`/v1/tasks/${doneId}`)).json().data;
    expect(view.status).toBe('completed');
    doneView = { status: view.status, cost: view.cost, url: view.result.videos[0].url[0] };
    const file = await t.app.server.inject({ method: 'GET', url: new URL(view.result.videos[0].url[0]).pathname });
    expect(file.statusCode).toBe(200);
    fileBytes = file.rawPayload.length;

    // While the app runs, the file is in use: refused.
    const busy = await migrate(dataDir, await newDatabase());
    expect(busy.code).toBe(2);
    expect(busy.stderr).toMatch(/in use by another process.*stop vidgate first/);
    // --force copies a snapshot beside the running app, and says so.
    const forced = await migrate(dataDir, await newDatabase(), '--force', '--json');
    expect(forced.code).toBe(0);
    expect(JSON.parse(forced.stdout).warnings).toEqual([expect.stringMatching(/in use by another process: a snapshot was copied/)]);

    before = {
      bootstrap: (await get('/v1/user/balance')).json(),
      paying: (await get('/v1/balance', payingKey)).json(),
      reviewOrder: (await t.app.store.listReviewAssets('review_m')).map((a) => a.id),
      ledgerMaxId: Math.max(...(await t.app.store.listLedger(payingAccount, 100)).map((l) => l.id)),
      tables: {},
    };
  } finally {
    await t.close();
  }
  const db = new Database(join(dataDir, 'vidgate.db'), { readonly: true });
  try {
    for (const table of SQLITE_TABLES) before.tables[table] = (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
  } finally {
    db.close();
  }
}, 120_000);

afterAll(async () => {
  await hook?.close();
  await Promise.all(databases.map((d) => d.drop()));
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('vidgate db migrate-to', () => {
  let url: string;
  let report: { ok: boolean; tables: Array<{ name: string; rows: number }>; accounts: Record<string, number>; durationMs: number };

  it('copies every table into an empty database and verifies it', async () => {
    // Every table has something to copy, so each one is really exercised.
    for (const table of SQLITE_TABLES) expect(before.tables[table], table).toBeGreaterThan(0);
    url = await newDatabase();
    const result = await migrate(dataDir, url, '--json');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    report = JSON.parse(result.stdout);
    expect(report.ok).toBe(true);
    expect(Object.fromEntries(report.tables.map((t) => [t.name, t.rows]))).toEqual(before.tables);
    expect(report.accounts).toEqual({
      total: 2,
      limited: 1,
      unlimited: 1,
      balanceMicros: Math.round((before.paying as { remain_balance: number }).remain_balance * 1e6),
    });
    console.log(`migrate-to: ${report.tables.reduce((n, t) => n + t.rows, 0)} rows in ${report.durationMs} ms`, JSON.stringify(report.tables));

    for (const table of SQLITE_TABLES) {
      expect(await count(url, table), table).toBe(before.tables[table]);
    }
    const secret = await query<{ value: string }>(url, `SELECT value FROM settings WHERE name = 'url_signing_secret'`);
    expect(secret[0]?.value).toMatch(/^[\w-]{43}$/);
  });

  it('leaves an installation that a new app serves from PostgreSQL as it was', async () => {
    const t: TestApp = await startTestApp({ VIDGATE_DATABASE_URL: url, VIDGATE_MEDIA_ALLOW_HOSTS: '127.0.0.1' }, { dataDir });
    try {
      expect(t.app.store.kind).toBe('postgres');
      const get = (path: string, key = TEST_KEY) => t.app.server.inject({ method: 'GET', url: path, headers: { authorization: `Bearer ${key}` } });
      const done = (await get(`/v1/tasks/${doneId}`)).json().data;
      expect(done).toMatchObject({ status: 'completed', cost: doneView.cost });
      // The same signing secret: the same URL, and the one handed out by the SQLite app still downloads.
      expect(done.result.videos[0].url[0]).toBe(doneView.url);
      const file = await t.app.server.inject({ method: 'GET', url: new URL(doneView.url).pathname });
      expect(file.statusCode).toBe(200);
      expect(file.rawPayload.length).toBe(fileBytes);
      expect((await get(`/v1/tasks/${cancelledId}`)).json().data.status).toBe('cancelled');
      expect((await get(`/v1/tasks/${paidId}`, payingKey)).json().data.status).toBe('completed');
      // Upstream cost and margin came along (0.066 − 0.04 per second, 4 s); a cancelled task has neither.
      expect(await t.app.store.getTask(paidId)).toMatchObject({ upstreamCostMicros: 160_000, marginMicros: 264_000 - 160_000 });
      expect(await t.app.store.getTask(cancelledId)).toMatchObject({ upstreamCostMicros: null, marginMicros: null });

      // The old keys authenticate, the bootstrap key was not registered again, balances are as they were.
      expect((await get('/v1/balance', payingKey)).json()).toEqual(before.paying);
      expect((await get('/v1/user/balance')).json()).toEqual(before.bootstrap);
      expect(await query(url, 'SELECT COUNT(*)::int AS n FROM accounts')).toEqual([{ n: 2 }]);
      expect((await t.app.store.findApiKeyByHash(hashApiKey(payingKey)))?.accountId).toBe(payingAccount);
      expect((await t.app.store.listReviewAssets('review_m')).map((a) => a.id)).toEqual(before.reviewOrder);

      // The idempotency key came along: the same submit answers with the old task, charging nothing.
      const again = await t.app.server.inject({
        method: 'POST',
        url: '/v1/videos/generations',
        headers: { authorization: `Bearer ${payingKey}`, 'idempotency-key': 'paid-once' },
        payload: TASK,
      });
      expect(again.json().data[0].task_id).toBe(paidId);

      // New rows continue the copied ids (the identity sequences were moved past them).
      const fresh = await t.app.server.inject({
        method: 'POST',
        url: '/v1/videos/generations',
        headers: { authorization: `Bearer ${payingKey}` },
        payload: TASK,
      });
      expect(fresh.statusCode).toBe(200);
      await t.settled(fresh.json().data[0].task_id);
      const ledger = await t.app.store.listLedger(payingAccount, 100);
      expect(Math.min(...ledger.filter((l) => l.taskId === fresh.json().data[0].task_id).map((l) => l.id))).toBeGreaterThan(before.ledgerMaxId);
      const sum = ledger.reduce((n, l) => n + l.amountMicros, 0);
      expect((await t.app.store.getAccount(payingAccount))?.balanceMicros).toBe(sum);
    } finally {
      await t.close();
    }
  });

  it('refuses a database that is not empty, and changes nothing there', async () => {
    const tasksBefore = await count(url, 'tasks');
    const result = await migrate(dataDir, url);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/the target database is not empty \(\d+ accounts, \d+ api_keys, \d+ tasks.*never merges/);
    expect(await count(url, 'tasks')).toBe(tasksBefore);
  });

  it('prints a report and the next steps', async () => {
    const result = await migrate(dataDir, await newDatabase());
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/verified/);
    expect(result.stdout).toMatch(new RegExp(`\\s+ledger\\s+${before.tables.ledger}\\n`));
    expect(result.stdout).toMatch(/Accounts: 2 \(1 with a balance, 1 unlimited\); total balance \$[\d.]+/);
    expect(result.stdout).toMatch(/VIDGATE_DATABASE_URL=postgres:\/\//);
    expect(result.stdout).toMatch(/results, uploads and assets stay where they are/);
    console.log(result.stdout);
  });

  it('rolls everything back when the copy does not add up', async () => {
    // A copy of the installation whose paying account's balance no longer matches its ledger.
    const broken = await mkdtemp(join(tmpdir(), 'vidgate-migrate-broken-'));
    try {
      await copyFile(join(dataDir, 'vidgate.db'), join(broken, 'vidgate.db'));
      expect(existsSync(join(dataDir, 'vidgate.db-wal')) && (await stat(join(dataDir, 'vidgate.db-wal'))).size > 0).toBe(false);
      const db = new Database(join(broken, 'vidgate.db'));
      db.prepare('UPDATE accounts SET balance_micros = balance_micros + 1 WHERE id = ?').run(payingAccount);
      db.close();
      const target = await newDatabase();
      const result = await migrate(broken, target);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(new RegExp(`account ${payingAccount}: balance \\d+ but its ledger adds up to \\d+ \\(the SQLite database shows the same`));
      for (const table of SQLITE_TABLES.filter((t) => t !== 'settings')) {
        expect(await query(target, `SELECT COUNT(*)::int AS n FROM ${table}`), table).toEqual([{ n: 0 }]);
      }
      expect(await query(target, 'SELECT name, value FROM settings')).toEqual([{ name: 'keys_version', value: '0' }]);
    } finally {
      await rm(broken, { recursive: true, force: true });
    }
  });

  it('moves an old installation left with a lease, with --force, upgrading it in the copy only', async () => {
    // Schema version 1, as the first release left it, with a task leased by a server that died.
    const old = await mkdtemp(join(tmpdir(), 'vidgate-migrate-old-'));
    try {
      const db = new Database(join(old, 'vidgate.db'));
      db.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
      const [first] = MIGRATIONS;
      db.exec(first!.sql);
      db.prepare('INSERT INTO schema_migrations VALUES (1, ?, 0)').run(first!.name);
      db.exec(`
        INSERT INTO accounts VALUES ('acct_old', 'old', 1, 0, 1);
        INSERT INTO api_keys VALUES ('key_old', 'acct_old', 'abc', 'sk-old', 'old', 0, 1);
        INSERT INTO tasks (id, account_id, key_id, status, model, request, seed, provider, estimated_seconds, cost_micros, lease_owner, lease_expires_at, created_at)
        VALUES ('task_old', 'acct_old', 'key_old', 'processing', 'doubao-seedance-2.0', '{}', 7, 'local', 30, 123456, 'dead-worker', ${Date.now() + 600_000}, 1);`);
      db.close();

      const leased = await migrate(old, await newDatabase());
      expect(leased.code).toBe(2);
      expect(leased.stderr).toMatch(/1 task\(s\) and 0 webhook deliveries are leased by a vidgate until .*: stop vidgate first.*--force/);

      const target = await newDatabase();
      const forced = await migrate(old, target, '--force', '--json');
      expect(forced.code).toBe(0);
      const report = JSON.parse(forced.stdout);
      expect(report.sqliteSchema).toEqual({ version: MIGRATIONS.at(-1)!.version, upgradedFrom: 1 });
      expect(report.warnings).toEqual([expect.stringMatching(/runs again on PostgreSQL once its lease ends/)]);
      // The data migrations ran: the reservation and the key's unfinished count are what the upgrade computes.
      expect(await query(target, 'SELECT reserved_micros, lease_owner FROM tasks')).toEqual([{ reserved_micros: 123456, lease_owner: 'dead-worker' }]);
      expect(await query(target, 'SELECT in_flight FROM api_keys')).toEqual([{ in_flight: 1 }]);
      // …in the copy only: the file is still at version 1.
      const after = new Database(join(old, 'vidgate.db'), { readonly: true });
      expect(after.prepare('SELECT MAX(version) AS v FROM schema_migrations').get()).toEqual({ v: 1 });
      after.close();
    } finally {
      await rm(old, { recursive: true, force: true });
    }
  });

  it('explains a URL that is not PostgreSQL, a server it cannot reach and a missing installation', async () => {
    for (const bad of ['not a url', 'mysql://root@localhost/vidgate', 'sqlite:///tmp/x.db']) {
      const result = await migrate(dataDir, bad);
      expect(result.code, bad).toBe(2);
      expect(result.stderr, bad).toMatch(/^vidgate: (not a URL|expected a postgres:\/\/ or postgresql:\/\/ URL)/);
    }
    const unreachable = await migrate(dataDir, 'postgresql://vidgate:hunter2@127.0.0.1:1/vidgate');
    expect(unreachable.code).toBe(2);
    expect(unreachable.stderr).toMatch(/cannot connect to PostgreSQL at postgresql:\/\/vidgate:\*\*\*@127\.0\.0\.1:1\/vidgate: .*ECONNREFUSED/);
    expect(unreachable.stderr).not.toMatch(/hunter2/);
    const empty = await mkdtemp(join(tmpdir(), 'vidgate-migrate-none-'));
    try {
      const none = await migrate(empty, await newDatabase());
      expect(none.code).toBe(2);
      expect(none.stderr).toMatch(/no SQLite database at .*vidgate\.db: set VIDGATE_DATA_DIR/);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});
