import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PYTHON_PROTOCOLS, startPythonFileServer } from '../helpers/foreign/python-http.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { startFixtureServer, type FixtureServer } from '../helpers/fixture-server.js';
import { createAccountWithKey } from '../../src/auth/keys.js';

let t: TestApp;
let media: FixtureServer;
let assetA: string;
let videoAsset: string;
let reviewId: string;
let groupId: string;

const post = (url: string, payload: object, headers: Record<string, string> = t.auth) => t.app.server.inject({ method: 'POST', url, headers, payload });
const get = (url: string, headers: Record<string, string> = t.auth) => t.app.server.inject({ method: 'GET', url, headers });

beforeAll(async () => {
  media = await startFixtureServer();
  t = await startTestApp({ VIDGATE_MEDIA_ALLOW_HOSTS: '127.0.0.1' }, { runDispatcher: false });
  const res = await post('/v1/seedance2/private-avatar', {
    group: { name: 'cast', description: 'recurring characters' },
    project_name: 'spring campaign',
    asset_type: 'Image',
    assets: [
      { url: media.url('cat.jpg'), name: 'cat' },
      { url: media.url('speech.wav'), name: 'not an image' },
      { url: media.url('dance_reference.jpg'), name: 'dancer' },
    ],
  });
  expect(res.statusCode, res.body).toBe(200);
  reviewId = res.json().data.id;
  expect(res.json().data).toEqual({ id: reviewId, object: 'seedance.avatar.asset.task', status: 'processing', progress: 10, model: 'doubao-seedance-2.0' });
  await t.app.assets.whenIdle();
  const review = (await get(`/v1/tasks/${reviewId}`)).json().data;
  groupId = review.group_id;
  assetA = review.result.usable_assets[0].asset_id;
  const video = await post('/v1/seedance2/private-avatar', { group_id: groupId, asset_type: 'Video', url: media.url('dance_reference.mp4'), name: 'moves' });
  await t.app.assets.whenIdle();
  videoAsset = (await get(`/v1/tasks/${video.json().data.id}`)).json().data.result.usable_assets[0].asset_id;
});
afterAll(async () => {
  await t.close();
  await media.close();
});

describe('asset review', () => {
  it('ends failed when one asset of three fails, with the approved ones usable and the reason given', async () => {
    const review = (await get(`/v1/tasks/${reviewId}`)).json().data;
    expect(review).toMatchObject({
      id: reviewId,
      object: 'seedance.avatar.asset.task',
      status: 'failed',
      progress: 100,
      error: { code: 'asset_review_failed' },
    });
    expect(review.result.usable_assets.map((a: { name: string }) => a.name)).toEqual(['cat', 'dancer']);
    expect(review.result.usable_assets[0]).toEqual({ asset_id: assetA, asset_url: `asset://${assetA}`, name: 'cat', status: 'active' });
    expect(review.result.failed_assets).toEqual([
      expect.objectContaining({ name: 'not an image', status: 'failed', reason: expect.stringMatching(/not an image does not meet the media rules/) }),
    ]);
  });

  it('a later request with group_id adds to the same group', async () => {
    const listed = (await get('/v1/assets')).json().data;
    expect(listed.filter((a: { group_id: string }) => a.group_id === groupId)).toHaveLength(4);
    expect(listed.find((a: { id: string }) => a.id === videoAsset)).toMatchObject({ type: 'Video', status: 'active', project_name: '' });
  });

  it.each([
    [{ asset_type: 'Image', url: 'https://x.example/a.jpg' }, 'group', /either group/],
    [{ group_id: 'group_nope', asset_type: 'Image', url: 'https://x.example/a.jpg' }, 'group_id', /group_nope was not found/],
    [{ group: { name: 'g' }, asset_type: 'Picture', url: 'https://x.example/a.jpg' }, 'asset_type', /Image, Video or Audio/],
    [{ group: { name: 'g' }, asset_type: 'Image' }, 'assets', /either assets/],
    [{ group: { name: 'g' }, asset_type: 'Image', assets: Array.from({ length: 21 }, () => ({ url: 'https://x.example/a.jpg' })) }, 'assets', /at most 20/],
    [{ group: { name: 'g' }, asset_type: 'Image', url: 'file:///etc/passwd' }, 'url', /http\(s\)/],
  ])('refuses %j', async (body, param, message) => {
    const res = await post('/v1/seedance2/private-avatar', body);
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ param, message: expect.stringMatching(message) });
  });

  it('another account cannot see the review or the group', async () => {
    const stranger = await createAccountWithKey(t.app.store, { name: 'stranger' });
    const headers = { authorization: `Bearer ${stranger.secret}` };
    expect((await get(`/v1/tasks/${reviewId}`, headers)).statusCode).toBe(404);
    const res = await post('/v1/seedance2/private-avatar', { group_id: groupId, asset_type: 'Image', url: media.url('cat.jpg') }, headers);
    expect(res.json().error.message).toBe(`group_id ${groupId} was not found`);
    expect((await get('/v1/assets', headers)).json().data).toEqual([]);
  });
});

describe("asset review with the files on Python's http.server, a peer we did not write", () => {
  it.each(PYTHON_PROTOCOLS)('%s: both assets are approved, and the stored copies are the bytes Python served', async (protocol) => {
    const python = await startPythonFileServer({ dir: media.dir, protocol });
    try {
      const res = await post('/v1/seedance2/private-avatar', {
        group: { name: `python ${protocol}` },
        asset_type: 'Image',
        assets: [
          { url: python.url('cat.jpg'), name: 'cat' },
          { url: python.url('tea_pic2.jpg'), name: 'tea' },
        ],
      });
      expect(res.statusCode, res.body).toBe(200);
      await t.app.assets.whenIdle();
      const review = (await get(`/v1/tasks/${res.json().data.id}`)).json().data;
      expect(review.status, JSON.stringify(review)).toBe('completed');
      expect(review.result.failed_assets).toEqual([]);
      const stored = await readdir(join(t.dataDir, 'assets'));
      for (const [asset, file] of [
        [review.result.usable_assets[0], 'cat.jpg'],
        [review.result.usable_assets[1], 'tea_pic2.jpg'],
      ]) {
        const copy = stored.find((name) => name.startsWith(`${asset.asset_id}.`))!;
        expect((await readFile(join(t.dataDir, 'assets', copy))).equals(await readFile(join(media.dir, file)))).toBe(true);
      }
      expect(python.requests.map((r) => `${r.path} ${r.status}`).sort()).toEqual(['/cat.jpg 200', '/tea_pic2.jpg 200']);
    } finally {
      await python.close();
    }
  });
});

describe('asset:// in submits', () => {
  it.each([
    ['case 10', { model: 'doubao-seedance-2.0', prompt: 'The character walks', image_urls: ['asset://A'], duration: 5, resolution: '720p' }],
    ['case 11', { model: 'doubao-seedance-2.0', prompt: 'Walks elegantly', image_with_roles: [{ url: 'asset://A', role: 'reference_image' }] }],
    ['case 12', { model: 'doubao-seedance-2.0-fast', prompt: 'Strolls in a park', image_urls: ['asset://A'], duration: 5 }],
    [
      'case 13',
      { model: 'doubao-seedance-2.0', prompt: 'Dances', image_urls: ['DANCE_JPG', 'asset://A'], video_urls: ['DANCE_MP4', 'asset://V'], duration: 8 },
    ],
  ])('%s is accepted with an approved asset, and the intake resolves it to the reviewed copy', async (_name, template) => {
    const body = JSON.parse(
      JSON.stringify(template)
        .replaceAll('asset://A', `asset://${assetA}`)
        .replaceAll('asset://V', `asset://${videoAsset}`)
        .replace('DANCE_JPG', media.url('dance_reference.jpg'))
        .replace('DANCE_MP4', media.url('dance_reference.mp4')),
    );
    const res = await post('/v1/videos/generations', body);
    expect(res.statusCode, res.body).toBe(200);
    const task = (await t.app.store.getTask(res.json().data[0].task_id))!;
    const prepared = await t.app.media.prepare(task.request.media, { signal: AbortSignal.timeout(30_000), accountId: task.accountId });
    for (const p of prepared.filter((m) => m.input.assetId)) {
      expect(p.probe.hasVideo || p.input.kind === 'image').toBe(true);
      // The asset is vidgate's reviewed copy, whatever happens to its original URL.
      const source = await t.app.assets.resolve({ ...p.input, assetId: p.input.assetId! }, { accountId: task.accountId });
      expect(source).toEqual({ path: expect.stringContaining(`${t.dataDir}/assets/${p.input.assetId}.`) });
    }
    expect(prepared.find((m) => m.input.assetId === assetA)!.probe).toMatchObject({ width: 1024, height: 576 });
  });

  it("another account using A's asset id gets exactly the answer for an unknown id", async () => {
    const stranger = await createAccountWithKey(t.app.store, { name: 'stranger 2' });
    const headers = { authorization: `Bearer ${stranger.secret}` };
    const theirs = await post('/v1/videos/generations', { model: 'doubao-seedance-2.0', prompt: 'x', image_urls: [`asset://${assetA}`] }, headers);
    const unknown = await post('/v1/videos/generations', { model: 'doubao-seedance-2.0', prompt: 'x', image_urls: ['asset://asset_zzzz'] }, headers);
    expect(theirs.statusCode).toBe(400);
    expect(theirs.json().error.message.replace(assetA, 'ID')).toBe(unknown.json().error.message.replace('asset_zzzz', 'ID'));
  });

  it('a -face model with an asset is a 400 naming the model', async () => {
    const res = await post('/v1/videos/generations', { model: 'doubao-seedance-2.0-face', prompt: 'x', image_urls: [`asset://${assetA}`] });
    expect(res.json().error).toMatchObject({ code: 400, param: 'image_urls[0]', message: expect.stringMatching(/not doubao-seedance-2.0-face/) });
  });

  it('an asset of the wrong type for its field is a 400', async () => {
    const res = await post('/v1/videos/generations', { model: 'doubao-seedance-2.0', prompt: 'x', video_urls: [`asset://${assetA}`] });
    expect(res.json().error).toMatchObject({ code: 400, param: 'video_urls[0]', message: expect.stringMatching(/is an image, not a video/) });
  });

  it('a deleted asset: 400 at submit, and a clear failure for a task queued before', async () => {
    const review = await post('/v1/seedance2/private-avatar', { group_id: groupId, asset_type: 'Image', url: media.url('day.jpg'), name: 'day' });
    await t.app.assets.whenIdle();
    const doomed = (await get(`/v1/tasks/${review.json().data.id}`)).json().data.result.usable_assets[0].asset_id;
    const queued = await post('/v1/videos/generations', { model: 'doubao-seedance-2.0', prompt: 'x', image_urls: [`asset://${doomed}`] });
    expect(queued.statusCode).toBe(200);

    expect((await t.app.server.inject({ method: 'DELETE', url: `/v1/assets/${doomed}`, headers: t.auth })).json()).toEqual({
      code: 200,
      data: { id: doomed, deleted: true },
    });
    expect((await t.app.server.inject({ method: 'DELETE', url: `/v1/assets/${doomed}`, headers: t.auth })).statusCode).toBe(404);
    const after = await post('/v1/videos/generations', { model: 'doubao-seedance-2.0', prompt: 'x', image_urls: [`asset://${doomed}`] });
    expect(after.json().error).toMatchObject({ code: 400, message: expect.stringMatching(/not found among this account's approved assets/) });

    await t.app.dispatcher.start();
    const task = await t.settled(queued.json().data[0].task_id);
    expect(task).toMatchObject({
      status: 'failed',
      error: { code: 'invalid_media', params: { field: 'image_urls[0]', detail: expect.stringMatching(/was deleted/) } },
    });
  });
});
