import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccountWithKey } from '../../src/auth/keys.js';
import { newUlid } from '../../src/contract/ids.js';
import { groupSummarySql } from '../../src/store/sql/asset-rows.js';
import { MIGRATIONS } from '../../src/store/sqlite/migrations.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { startFixtureServer, type FixtureServer } from '../helpers/fixture-server.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { TEST_STORE, testDatabase } from '../helpers/test-store.js';

/**
 * README: Assets, the listings: GET /v1/asset-reviews, GET /v1/asset-groups, and review_id /
 * preview_url on GET /v1/assets, from real reviews through the asset pipeline.
 */
let t: TestApp;
let media: FixtureServer;
let accountId: string;
/** Oldest first: cast (3 images, one fails), cast again (a video), bare (one image), then an unfinished one. */
const reviews: string[] = [];
let castGroup: string;
let bareGroup: string;
let waitingGroup: string;

const get = (url: string, headers: Record<string, string> = t.auth) => t.app.server.inject({ method: 'GET', url, headers });
const post = (url: string, payload: object) => t.app.server.inject({ method: 'POST', url, headers: t.auth, payload });
const review = async (body: object) => {
  const res = await post('/v1/seedance2/private-avatar', body);
  expect(res.statusCode, res.body).toBe(200);
  // The submit's answer is the APIMart one, unchanged.
  expect(Object.keys(res.json().data).sort()).toEqual(['id', 'model', 'object', 'progress', 'status']);
  await t.app.assets.whenIdle();
  reviews.push(res.json().data.id);
  return res.json().data.id as string;
};
const task = async (id: string) => (await get(`/v1/tasks/${id}`)).json().data;

beforeAll(async () => {
  media = await startFixtureServer();
  t = await startTestApp({ VIDGATE_MEDIA_ALLOW_HOSTS: '127.0.0.1' }, { runDispatcher: false });
  const first = await review({
    group: { name: 'cast', description: 'recurring characters' },
    project_name: 'spring campaign',
    asset_type: 'Image',
    assets: [
      { url: media.url('cat.jpg'), name: 'cat' },
      { url: media.url('speech.wav'), name: 'not an image' },
      { url: media.url('dance_reference.jpg'), name: 'dancer' },
    ],
  });
  const firstTask = await task(first);
  castGroup = firstTask.group_id;
  accountId = (await t.app.store.getAssetReview(first))!.accountId;
  await review({ group_id: castGroup, asset_type: 'Video', url: media.url('dance_reference.mp4'), name: 'moves' });
  bareGroup = (await task(await review({ group: { name: 'bare' }, asset_type: 'Image', url: media.url('day.jpg') }))).group_id;

  // A review still waiting for its turn (as one a stopped instance left): written to the store, never run.
  const now = Date.now();
  waitingGroup = `group_${newUlid()}`;
  const waiting = `task_${newUlid()}`;
  await t.app.store.createAssetGroup({ id: waitingGroup, accountId, name: 'waiting', description: 'not yet', projectName: 'later', createdAt: now });
  await t.app.store.createAssetReview({ id: waiting, accountId, groupId: waitingGroup, createdAt: now }, [
    {
      id: `asset_${newUlid().toLowerCase()}`,
      accountId,
      groupId: waitingGroup,
      reviewId: waiting,
      projectName: 'later',
      kind: 'image',
      name: 'queued',
      sourceUrl: media.url('cat.jpg'),
      status: 'pending',
      reason: null,
      fileKey: null,
      bytes: null,
      contentType: null,
      createdAt: now,
      deletedAt: null,
    },
  ]);
  reviews.push(waiting);
});
afterAll(async () => {
  await t?.close();
  await media?.close();
});

describe('GET /v1/asset-reviews', () => {
  it('lists the caller’s reviews newest first, each exactly as GET /v1/tasks/{id} answers it', async () => {
    const res = await get('/v1/asset-reviews');
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(Object.keys(body).sort()).toEqual(['code', 'data', 'has_more', 'next_after']);
    expect(body).toMatchObject({ code: 200, has_more: false, next_after: null });
    expect(body.data.map((r: { id: string }) => r.id)).toEqual([...reviews].reverse());
    for (const listed of body.data) expect(listed).toEqual(await task(listed.id));
    const [waiting, bare, video, cast] = body.data;
    expect(waiting).toMatchObject({ status: 'pending', progress: 0, group_id: waitingGroup });
    expect(Object.keys(waiting).sort()).toEqual(['created', 'group_id', 'id', 'model', 'object', 'progress', 'status']);
    expect(bare).toMatchObject({ status: 'completed', group_id: bareGroup, result: { failed_assets: [] } });
    expect(video).toMatchObject({ status: 'completed', group_id: castGroup });
    expect(Object.keys(cast).sort()).toEqual(['completed', 'created', 'error', 'group_id', 'id', 'model', 'object', 'progress', 'result', 'status']);
    expect(cast.result.usable_assets.map((a: { name: string }) => a.name)).toEqual(['cat', 'dancer']);
    expect(cast.result.failed_assets.map((a: { name: string }) => a.name)).toEqual(['not an image']);
  });

  it('pages with limit and after, as GET /v1/tasks does', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    const pages: Array<{ size: number; has_more: boolean }> = [];
    do {
      const res = await get(`/v1/asset-reviews?limit=3${after ? `&after=${after}` : ''}`);
      expect(res.statusCode).toBe(200);
      const page = res.json();
      seen.push(...page.data.map((r: { id: string }) => r.id));
      pages.push({ size: page.data.length, has_more: page.has_more });
      expect(page.next_after).toBe(page.has_more ? page.data.at(-1).id : null);
      after = page.next_after;
    } while (after);
    expect(pages).toEqual([
      { size: 3, has_more: true },
      { size: 1, has_more: false },
    ]);
    expect(seen).toEqual([...reviews].reverse());
    // A cursor past the oldest: an empty last page.
    expect((await get(`/v1/asset-reviews?after=${reviews[0]}`)).json()).toEqual({ code: 200, data: [], has_more: false, next_after: null });
  });

  it("shows no other account's reviews, and another account's review stays a 404", async () => {
    const stranger = await createAccountWithKey(t.app.store, { name: 'stranger' });
    const headers = { authorization: `Bearer ${stranger.secret}` };
    expect((await get('/v1/asset-reviews', headers)).json()).toEqual({ code: 200, data: [], has_more: false, next_after: null });
    expect((await get('/v1/asset-groups', headers)).json()).toEqual({ code: 200, data: [], has_more: false, next_after: null });
    expect((await get('/v1/assets', headers)).json().data).toEqual([]);
    const theirs = await get(`/v1/tasks/${reviews[0]}`, headers);
    expect(theirs.statusCode).toBe(404);
    const unknown = await get('/v1/tasks/task_01KMCGF6BQGN3X28H3KSR50X5T', headers);
    expect(unknown.statusCode).toBe(404);
    expect(theirs.json().error.message.replace(reviews[0]!, 'ID')).toBe(unknown.json().error.message.replace('task_01KMCGF6BQGN3X28H3KSR50X5T', 'ID'));
  });

  it('needs a key', async () => {
    for (const path of ['/v1/asset-reviews', '/v1/asset-groups']) {
      const res = await get(path, {});
      expect(res.statusCode, path).toBe(401);
      expect(res.json().error.type).toBe('authentication_error');
    }
  });
});

describe.each(['/v1/asset-reviews', '/v1/asset-groups'])('%s refuses', (path) => {
  it.each([
    ['limit=0', 'limit', /limit must be an integer from 1 to 100/],
    ['limit=101', 'limit', /limit must be an integer from 1 to 100/],
    ['limit=ten', 'limit', /limit must be an integer from 1 to 100/],
    ['limit=1.5', 'limit', /limit must be an integer from 1 to 100/],
    [`after=${'x'.repeat(65)}`, 'after', /at most 64 characters/],
    ['after=a&after=b', 'after', /after must be an id/],
  ])('%s', async (query, param, message) => {
    const res = await get(`${path}?${query}`);
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 400, type: 'invalid_request_error', param, message: expect.stringMatching(message) });
  });
});

describe('GET /v1/asset-groups', () => {
  it('lists the groups newest first with what their submit stored and their assets counted', async () => {
    const res = await get('/v1/asset-groups');
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(Object.keys(body).sort()).toEqual(['code', 'data', 'has_more', 'next_after']);
    expect(body).toMatchObject({ code: 200, has_more: false, next_after: null });
    const created = Math.floor((await t.app.store.getAssetGroup(castGroup))!.createdAt / 1000);
    expect(body.data).toEqual([
      {
        id: waitingGroup,
        name: 'waiting',
        description: 'not yet',
        project_name: 'later',
        created_at: expect.any(Number),
        counts: { approved: 0, failed: 0, pending: 1 },
      },
      { id: bareGroup, name: 'bare', description: '', project_name: null, created_at: expect.any(Number), counts: { approved: 1, failed: 0, pending: 0 } },
      {
        id: castGroup,
        name: 'cast',
        description: 'recurring characters',
        project_name: 'spring campaign',
        created_at: created,
        counts: { approved: 3, failed: 1, pending: 0 },
      },
    ]);
  });

  it('pages, and counts only assets that are not deleted', async () => {
    const first = (await get('/v1/asset-groups?limit=2')).json();
    expect(first.data.map((g: { id: string }) => g.id)).toEqual([waitingGroup, bareGroup]);
    expect(first).toMatchObject({ has_more: true, next_after: bareGroup });
    const second = (await get(`/v1/asset-groups?limit=2&after=${first.next_after}`)).json();
    expect(second).toMatchObject({ has_more: false, next_after: null });
    expect(second.data.map((g: { id: string }) => g.id)).toEqual([castGroup]);

    const video = (await task(reviews[1]!)).result.usable_assets[0].asset_id;
    expect((await t.app.server.inject({ method: 'DELETE', url: `/v1/assets/${video}`, headers: t.auth })).statusCode).toBe(200);
    const after = (await get('/v1/asset-groups')).json().data.find((g: { id: string }) => g.id === castGroup);
    expect(after.counts).toEqual({ approved: 2, failed: 1, pending: 0 });
    // The review still shows what it approved, minus the deleted one, as GET /v1/tasks does.
    const listed = (await get('/v1/asset-reviews')).json().data.find((r: { id: string }) => r.id === reviews[1]);
    expect(listed).toEqual(await task(reviews[1]!));
    expect(listed.result.usable_assets).toEqual([]);
  });
});

describe('GET /v1/assets: review_id and preview_url', () => {
  it('adds review_id and a signed preview_url of the reviewed copy, served by the file route without a key', async () => {
    const res = await get('/v1/assets');
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(Object.keys(body).sort()).toEqual(['code', 'data', 'has_more', 'next_after']);
    const byName = new Map(body.data.map((a: { name: string }) => [a.name, a]));
    const cat = byName.get('cat') as Record<string, unknown>;
    expect(Object.keys(cat).sort()).toEqual(['created', 'group_id', 'id', 'name', 'preview_url', 'project_name', 'review_id', 'status', 'type', 'url']);
    expect(cat).toMatchObject({ status: 'active', review_id: reviews[0], group_id: castGroup, project_name: 'spring campaign' });
    const failed = byName.get('not an image') as Record<string, unknown>;
    expect(Object.keys(failed).sort()).toEqual(
      ['created', 'group_id', 'id', 'name', 'preview_url', 'project_name', 'reason', 'review_id', 'status', 'type', 'url'].sort(),
    );
    expect(failed).toMatchObject({ status: 'failed', preview_url: null, review_id: reviews[0] });
    expect(byName.get('queued')).toMatchObject({ status: 'pending', preview_url: null, review_id: reviews[3] });

    const url = new URL(cat.preview_url as string);
    expect(url.pathname).toBe(`/files/assets/${(await t.app.store.getAsset(cat.id as string))!.fileKey}`);
    const expires = Number(url.searchParams.get('expires'));
    // Valid like an upload URL: at least 72 h, and the same URL for an hour.
    expect(expires * 1000).toBeGreaterThanOrEqual(Date.now() + 72 * 3600_000 - 1000);
    expect(expires * 1000).toBeLessThanOrEqual(Date.now() + 73 * 3600_000);
    expect(expires % 3600).toBe(0);
    const again = (await get('/v1/assets')).json().data.find((a: { id: string }) => a.id === cat.id);
    expect(again.preview_url).toBe(cat.preview_url);

    const file = await t.app.server.inject({ method: 'GET', url: url.pathname + url.search });
    expect(file.statusCode).toBe(200);
    expect(file.headers['content-type']).toMatch(/^image\/jpeg/);
    expect(file.rawPayload.equals(await readFile(join(media.dir, 'cat.jpg')))).toBe(true);
    const forged = await t.app.server.inject({ method: 'GET', url: `${url.pathname}?expires=${expires}&signature=${'A'.repeat(43)}` });
    expect(forged.statusCode).toBe(403);
  });

  it('preview_url is null once the stored copy is gone', async () => {
    const dancer = (await get('/v1/assets')).json().data.find((a: { name: string }) => a.name === 'dancer');
    expect(dancer.preview_url).toEqual(expect.any(String));
    const { fileKey } = (await t.app.store.getAsset(dancer.id))!;
    await rm(join(t.dataDir, 'assets', fileKey!));
    const after = (await get('/v1/assets')).json().data.find((a: { id: string }) => a.id === dancer.id);
    expect(after).toEqual({ ...dancer, preview_url: null });
  });
});

describe('OpenAPI', () => {
  it('documents the listings and the asset fields', async () => {
    const doc = (await t.app.server.inject({ method: 'GET', url: '/openapi.json' })).json();
    for (const path of ['/v1/asset-reviews', '/v1/asset-groups']) {
      expect(doc.paths[path]?.get?.summary, path).toMatch(/vidgate extension/);
      expect(doc.paths[path].get.parameters.map((p: { name: string }) => p.name)).toEqual(['limit', 'after']);
    }
    expect(Object.keys(doc.components.schemas.AssetGroup.properties)).toEqual(['id', 'name', 'description', 'project_name', 'created_at', 'counts']);
    expect(doc.components.schemas.Asset.properties.preview_url.description).toMatch(/signed URL of the reviewed copy/);
    expect(doc.components.schemas.Asset.properties.review_id).toBeDefined();
  });
});

describe('the listings read indexes', () => {
  it('reviews, groups with their counts, and the assets of a page of reviews', async () => {
    const db = await testDatabase(t.dataDir);
    try {
      const plan = async (sql: string, ...params: unknown[]) => {
        if (TEST_STORE === 'sqlite') {
          return (await db.all<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, ...params)).map((r) => r.detail).join('\n');
        }
        // The tables are tiny: without this the planner rightly prefers reading them whole.
        await db.all('SET enable_seqscan = off');
        return (await db.all<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`, ...params)).map((r) => r['QUERY PLAN']).join('\n');
      };
      const reviewsPlan = await plan('SELECT * FROM asset_reviews WHERE account_id = ? AND id < ? ORDER BY id DESC LIMIT ?', accountId, 'task_Z', 10);
      expect(reviewsPlan).toMatch(/asset_reviews_by_account/);
      expect(reviewsPlan).not.toMatch(/TEMP B-TREE|Sort/);
      const groupsPlan = await plan(
        groupSummarySql(() => '?', true),
        accountId,
        'group_Z',
        10,
      );
      expect(groupsPlan).toMatch(/asset_groups_by_account/);
      expect(groupsPlan).toMatch(/assets_by_group/);
      expect(groupsPlan).not.toMatch(/TEMP B-TREE|Sort/);
      // Each group's counts are searched by its id, not filtered from every asset.
      expect(groupsPlan).not.toMatch(/Filter: \(group_id/);
      if (TEST_STORE === 'sqlite') {
        // Counted from the index alone.
        expect(groupsPlan).toMatch(/COVERING INDEX assets_by_group/);
        const assetsPlan = await plan('SELECT * FROM assets WHERE review_id IN (SELECT value FROM json_each(?)) ORDER BY review_id, rowid', '["x"]');
        expect(assetsPlan).toMatch(/assets_by_review/);
      } else {
        const assetsPlan = await plan('SELECT * FROM assets WHERE review_id = ANY(?::text[]) ORDER BY review_id, seq', ['x']);
        expect(assetsPlan).toMatch(/assets_by_review/);
      }
    } finally {
      await db.close();
    }
  });
});

describe.runIf(TEST_STORE === 'sqlite')('the SQLite migration to version 11', () => {
  it("gives groups made before it their first submit's project name", async () => {
    const dir = join(t.dataDir, 'older');
    const file = join(dir, 'vidgate.db');
    await mkdir(dir, { recursive: true });
    const db = new Database(file);
    db.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
    for (const m of MIGRATIONS.filter((m) => m.version <= 10)) {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations VALUES (?, ?, 0)').run(m.version, m.name);
    }
    db.exec(`
      INSERT INTO accounts (id, name, unlimited, balance_micros, created_at) VALUES ('acct_old', 'old', 1, 0, 1);
      INSERT INTO asset_groups (id, account_id, name, description, created_at) VALUES ('group_a', 'acct_old', 'a', '', 1), ('group_b', 'acct_old', 'b', 'd', 2);
      INSERT INTO asset_reviews (id, account_id, group_id, status, created_at) VALUES ('task_1', 'acct_old', 'group_a', 'completed', 1),
        ('task_2', 'acct_old', 'group_a', 'completed', 3), ('task_3', 'acct_old', 'group_b', 'completed', 2);
      INSERT INTO assets (id, account_id, group_id, review_id, project_name, kind, name, source_url, status, created_at) VALUES
        ('asset_z', 'acct_old', 'group_a', 'task_1', 'first', 'image', 'z', 'https://x.example/z', 'approved', 1),
        ('asset_a', 'acct_old', 'group_a', 'task_2', 'second', 'image', 'a', 'https://x.example/a', 'failed', 3),
        ('asset_b', 'acct_old', 'group_b', 'task_3', '', 'image', 'b', 'https://x.example/b', 'pending', 2);
    `);
    db.close();
    const store = new SqliteStore(file);
    try {
      expect(await store.listAssetGroups('acct_old', 10)).toEqual([
        { id: 'group_b', accountId: 'acct_old', name: 'b', description: 'd', projectName: null, createdAt: 2, counts: { approved: 0, failed: 0, pending: 1 } },
        {
          id: 'group_a',
          accountId: 'acct_old',
          name: 'a',
          description: '',
          projectName: 'first',
          createdAt: 1,
          counts: { approved: 1, failed: 1, pending: 0 },
        },
      ]);
      expect((await store.listAssetReviews('acct_old', 2)).map((r) => r.id)).toEqual(['task_3', 'task_2']);
      expect((await store.listAssetReviews('acct_old', 10, 'task_2')).map((r) => r.id)).toEqual(['task_1']);
      expect((await store.listAssetsOfReviews(['task_2', 'task_1'])).map((a) => a.id)).toEqual(['asset_z', 'asset_a']);
    } finally {
      await store.close();
    }
  });
});
