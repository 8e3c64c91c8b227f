import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, TEST_KEY, type TestApp } from '../helpers/test-app.js';
import { startFixtureServer, type FixtureServer } from '../helpers/fixture-server.js';
import { hashApiKey } from '../../src/auth/keys.js';
import { seedCase as seedCaseAt } from '../helpers/seed-cases.js';

/**
 * The 13 "Use Cases" of the seed (seed/seedance-2.0-generation.md), each body exactly as written
 * there; only `https://example.com/<file>` becomes the fixture server's URL for the same file.
 * Submit only: the dispatcher is off, so every accepted task stays pending.
 */

/**
 * README: Money, USD per second, written out here rather than read from src so that a wrong price table
 * fails the test. Only the rows the seed's cases use.
 */
const PRICE_USD_PER_SECOND = {
  'doubao-seedance-2.0': { '720p': 0.142 },
  'doubao-seedance-2.0 with reference video': { '720p': 0.08584 },
};
const FAST_FACTOR = 0.8;
/** Reference-video tasks reserve the upper bound at submit: input video seconds < 15.2 (seed). */
const MAX_INPUT_VIDEO_SECONDS = 15.2;
const usd = (rate: number, seconds: number, factor = 1) => Math.round(rate * factor * 1e6 * seconds) / 1e6;
const base720 = PRICE_USD_PER_SECOND['doubao-seedance-2.0']['720p'];
const withVideo720 = PRICE_USD_PER_SECOND['doubao-seedance-2.0 with reference video']['720p'];

const TASK_ID = /^task_[0-9A-HJKMNP-TV-Z]{26}$/;

let t: TestApp;
let fx: FixtureServer;
let accountId: string;

beforeAll(async () => {
  fx = await startFixtureServer();
  t = await startTestApp({ VIDGATE_MEDIA_ALLOW_HOSTS: new URL(fx.baseUrl).hostname }, { runDispatcher: false });
  accountId = (await t.app.store.findApiKeyByHash(hashApiKey(TEST_KEY)))!.accountId;
});
afterAll(async () => {
  await t?.close();
  await fx?.close();
});

/** The seed's body with its example.com media pointed at the fixture server. */
const seedCase = (n: number) => seedCaseAt(n, fx.baseUrl);

const post = (body: unknown) =>
  t.app.server.inject({
    method: 'POST',
    url: '/v1/videos/generations',
    headers: { ...t.auth, 'content-type': 'application/json' },
    payload: JSON.stringify(body),
  });
const taskCount = async () => (await t.app.store.listTasks({ accountId, limit: 1000 })).length;

interface Accepted {
  n: number;
  cost: number;
  media: Array<{ kind: string; role: string; file: string }>;
  request?: Record<string, unknown>;
}

const ACCEPTED: Accepted[] = [
  { n: 1, cost: usd(base720, 5), media: [], request: { resolution: '720p', size: '16:9', duration: 5, requestedSeed: 42, generateAudio: true } },
  { n: 2, cost: usd(base720, 5), media: [{ kind: 'image', role: 'first_frame', file: 'cat.jpg' }] },
  {
    n: 3,
    cost: usd(base720, 5),
    media: [
      { kind: 'image', role: 'first_frame', file: 'day.jpg' },
      { kind: 'image', role: 'last_frame', file: 'night.jpg' },
    ],
  },
  // No duration: the default 5 s, priced at the reference-video rate on (15.2 + 5) s.
  {
    n: 4,
    cost: usd(withVideo720, MAX_INPUT_VIDEO_SECONDS + 5),
    media: [{ kind: 'video', role: 'reference_video', file: 'reference.mp4' }],
    request: { duration: 5, size: '16:9', resolution: '720p' },
  },
  {
    n: 5,
    cost: usd(withVideo720, MAX_INPUT_VIDEO_SECONDS + 11),
    media: [
      { kind: 'video', role: 'reference_video', file: 'reference.mp4' },
      { kind: 'audio', role: 'reference_audio', file: 'speech.wav' },
    ],
    request: { duration: 11 },
  },
  { n: 6, cost: usd(base720, 5), media: [], request: { generateAudio: true, duration: 5 } },
  { n: 7, cost: usd(base720, 5), media: [{ kind: 'image', role: 'first_frame', file: 'last_frame_from_prev.png' }], request: { returnLastFrame: true } },
  { n: 8, cost: usd(base720, 8, FAST_FACTOR), media: [], request: { model: 'doubao-seedance-2.0-fast', size: '21:9', duration: 8, resolution: '720p' } },
  {
    n: 9,
    cost: usd(withVideo720, MAX_INPUT_VIDEO_SECONDS + 11),
    media: [
      { kind: 'image', role: 'reference_image', file: 'tea_pic1.jpg' },
      { kind: 'image', role: 'reference_image', file: 'tea_pic2.jpg' },
      { kind: 'video', role: 'reference_video', file: 'tea_video1.mp4' },
      { kind: 'audio', role: 'reference_audio', file: 'tea_audio1.mp3' },
    ],
    request: { generateAudio: true, duration: 11 },
  },
];

describe('seed use cases 1–9 are accepted', () => {
  it('prices are the README: Money figures the seed cases imply', () => {
    // Guards the arithmetic of this file against itself: the figures worked out by hand.
    expect(ACCEPTED.map((c) => c.cost)).toEqual([0.71, 0.71, 0.71, 1.733968, 2.249008, 0.71, 0.71, 0.9088, 2.249008]);
  });

  it.each(ACCEPTED)('case $n', async ({ n, cost, media, request }) => {
    const body = seedCase(n);
    const before = Math.floor(Date.now() / 1000);
    const res = await post(body);
    const after = Math.ceil(Date.now() / 1000);
    expect(res.statusCode, res.body).toBe(200);
    const submitted = res.json();
    expect(submitted).toEqual({ code: 200, data: [{ status: 'submitted', task_id: expect.stringMatching(TASK_ID) }] });
    const id: string = submitted.data[0].task_id;

    const got = await t.app.server.inject({ method: 'GET', url: `/v1/tasks/${id}`, headers: t.auth });
    expect(got.statusCode, got.body).toBe(200);
    const { code, data } = got.json();
    expect(code).toBe(200);
    // A pending task has exactly these fields (README: API): no completed/actual_time/result/error yet.
    expect(Object.keys(data).sort()).toEqual(['cost', 'created', 'credits_cost', 'estimated_time', 'id', 'progress', 'status']);
    expect(data.credits_cost).toBe(data.cost);
    expect(data.id).toBe(id);
    expect(data.status).toBe('pending');
    expect(data.progress).toBe(0);
    expect(Number.isInteger(data.created)).toBe(true);
    expect(data.created).toBeGreaterThanOrEqual(before);
    expect(data.created).toBeLessThanOrEqual(after);
    expect(Number.isInteger(data.estimated_time)).toBe(true);
    expect(data.estimated_time).toBeGreaterThan(0);
    expect(data.cost).toBeCloseTo(cost, 9);

    const task = await t.app.store.getTask(id);
    expect(task).not.toBeNull();
    expect(task!.status).toBe('pending');
    expect(task!.accountId).toBe(accountId);
    expect(task!.costMicros).toBe(Math.round(cost * 1e6));
    expect(task!.request.model).toBe(body.model);
    expect(task!.request.prompt).toBe(body.prompt);
    expect(task!.request.media.map((m) => ({ kind: m.kind, role: m.role, url: m.url, assetId: m.assetId }))).toEqual(
      media.map((m) => ({ kind: m.kind, role: m.role, url: fx.url(m.file), assetId: null })),
    );
    if (request) expect(task!.request).toMatchObject(request);
  });

  it('case 1 keeps the seed it was given, so a re-render is the same video', async () => {
    const id = await t.submit(seedCase(1));
    expect((await t.app.store.getTask(id))!.seed).toBe(42);
  });
});

describe('seed use cases 10–13 name asset://asset_a, which this account has no approved asset for', () => {
  it.each([
    { n: 10, param: 'image_urls[0]' },
    { n: 11, param: 'image_with_roles[0].url' },
    { n: 12, param: 'image_urls[0]' },
    // The ordinary first image is fine; the asset in second place is the first problem.
    { n: 13, param: 'image_urls[1]' },
  ])('case $n is a 400 naming $param and creates no task', async ({ n, param }) => {
    const before = await taskCount();
    const res = await post(seedCase(n));
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json()).toEqual({
      error: { code: 400, type: 'invalid_request_error', param, message: expect.stringMatching(/asset_a/) },
    });
    expect(await taskCount()).toBe(before);
  });
});
