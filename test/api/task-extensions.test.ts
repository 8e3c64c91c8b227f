import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { createAccountWithKey } from '../../src/auth/keys.js';
import { MAX_SEED } from '../../src/contract/submit.js';

/**
 * The vidgate extensions of the task API, all opt-in: `include=request` (the stored submit body and
 * the task's timings) on GET /v1/tasks/{id} and GET /v1/tasks, and the created_after /
 * created_before filters of the list. Without them every answer is exactly the APIMart one.
 */

let t: TestApp;
const DAY = 86_400_000;

beforeAll(async () => {
  // Tasks stay pending until a test starts the dispatcher; references on 10.0.0.x fail at once when they run.
  t = await startTestApp({}, { runDispatcher: false });
});
afterAll(() => t?.close());

const get = (url: string, headers: Record<string, string> = t.auth) => t.app.server.inject({ method: 'GET', url, headers });
const taskOf = async (id: string, query = '') => {
  const res = await get(`/v1/tasks/${id}${query}`);
  expect(res.statusCode, res.body).toBe(200);
  return res.json().data as Record<string, unknown>;
};
const post = (body: unknown, headers: Record<string, string> = t.auth) =>
  t.app.server.inject({ method: 'POST', url: '/v1/videos/generations', headers, payload: body as object });

/** The keys of the APIMart task object, as answered before the extensions existed. */
const BASE_KEYS = ['cost', 'created', 'credits_cost', 'estimated_time', 'id', 'progress', 'status'];

describe('GET /v1/tasks?created_after=&created_before=', () => {
  let headers: Record<string, string>;
  /** Three tasks: a now, b two days later, c two seconds after b; created seconds and UTC days. */
  const at: Record<'a' | 'b' | 'c', { id: string; created: number; day: string }> = {} as never;
  const ids = async (query: string) => {
    const res = await get(`/v1/tasks?${query}`, headers);
    expect(res.statusCode, res.body).toBe(200);
    return (res.json().data as Array<{ id: string }>).map((d) => d.id);
  };
  const submitAs = async (body: object) => {
    const res = await post(body, headers);
    expect(res.statusCode, res.body).toBe(200);
    const id = res.json().data[0].task_id as string;
    const created = (await get(`/v1/tasks/${id}`, headers)).json().data.created as number;
    return { id, created, day: new Date(created * 1000).toISOString().slice(0, 10) };
  };

  beforeAll(async () => {
    // An account of its own, so that the list holds only these three.
    const key = await createAccountWithKey(t.app.store, { name: 'dates' });
    headers = { authorization: `Bearer ${key.secret}` };
    const body = { model: 'doubao-seedance-2.0', prompt: 'x', image_urls: ['http://10.0.0.7/cat.jpg'] };
    // b at noon UTC of the day after tomorrow (so c, two seconds later, is on b's day), a day and a half after a at least.
    const now = Date.now();
    const toB = Math.floor((now + 2 * DAY) / DAY) * DAY + DAY / 2 - now;
    let moved = 0;
    const advance = (ms: number) => {
      t.advanceClock(ms);
      moved += ms;
    };
    try {
      at.a = await submitAs(body);
      advance(toB);
      at.b = await submitAs({ ...body, model: 'doubao-seedance-2.0-fast' });
      advance(2_000);
      at.c = await submitAs(body);
    } finally {
      t.advanceClock(-moved);
    }
    expect(at.c.created - at.b.created).toBeGreaterThanOrEqual(2);
    expect(at.b.day).not.toBe(at.a.day);
  });

  it('filters by unix seconds, both bounds inclusive to the second', async () => {
    const { a, b, c } = at;
    expect(await ids('')).toEqual([c.id, b.id, a.id]);
    expect(await ids(`created_after=${b.created}`)).toEqual([c.id, b.id]);
    expect(await ids(`created_after=${b.created + 1}`)).toEqual([c.id]);
    expect(await ids(`created_before=${b.created}`)).toEqual([b.id, a.id]);
    expect(await ids(`created_before=${b.created - 1}`)).toEqual([a.id]);
    expect(await ids(`created_after=${b.created}&created_before=${b.created}`)).toEqual([b.id]);
    expect(await ids(`created_after=${c.created + 1}`)).toEqual([]);
    expect(await ids(`created_after=${c.created}&created_before=${a.created}`)).toEqual([]);
    expect(await ids('created_after=0')).toEqual([c.id, b.id, a.id]);
    expect(await ids('created_before=253402300799')).toEqual([c.id, b.id, a.id]);
  });

  it('filters by UTC day: created_after from its start, created_before to its end', async () => {
    const { a, b, c } = at;
    expect(await ids(`created_after=${a.day}`)).toEqual([c.id, b.id, a.id]);
    expect(await ids(`created_after=${b.day}`)).toEqual([c.id, b.id]);
    expect(await ids(`created_before=${a.day}`)).toEqual([a.id]);
    expect(await ids(`created_before=${b.day}`)).toEqual([c.id, b.id, a.id]);
    expect(await ids(`created_after=${b.day}&created_before=${b.day}`)).toEqual([c.id, b.id]);
    expect(await ids(`created_after=${a.day}&created_before=${a.day}`)).toEqual([a.id]);
    const dayBefore = new Date(Date.parse(a.day) - DAY).toISOString().slice(0, 10);
    expect(await ids(`created_before=${dayBefore}`)).toEqual([]);
  });

  it('combine with status, model, limit and the after cursor', async () => {
    const { a, b, c } = at;
    expect(await ids(`created_after=${a.day}&model=doubao-seedance-2.0-fast`)).toEqual([b.id]);
    expect(await ids(`created_before=${b.created}&model=doubao-seedance-2.0`)).toEqual([a.id]);
    await t.app.server.inject({ method: 'POST', url: `/v1/tasks/${c.id}/cancel`, headers });
    expect(await ids(`created_after=${b.day}&status=cancelled`)).toEqual([c.id]);
    expect(await ids(`created_before=${b.created}&status=cancelled`)).toEqual([]);

    const first = (await get(`/v1/tasks?created_after=${a.created}&created_before=${c.created}&limit=1`, headers)).json();
    expect(first).toMatchObject({ has_more: true, next_after: c.id });
    expect(first.data.map((d: { id: string }) => d.id)).toEqual([c.id]);
    const second = (await get(`/v1/tasks?created_after=${a.created}&created_before=${c.created}&limit=1&after=${first.next_after}`, headers)).json();
    expect(second).toMatchObject({ has_more: true, next_after: b.id });
    const last = (await get(`/v1/tasks?created_after=${a.created}&created_before=${c.created}&limit=1&after=${second.next_after}`, headers)).json();
    expect(last).toMatchObject({ has_more: false, next_after: null });
    expect(last.data.map((d: { id: string }) => d.id)).toEqual([a.id]);
    expect(await ids(`created_after=${b.created}&after=${b.id}`)).toEqual([]);
    expect(await ids(`created_after=${b.created}&include=request`)).toEqual([c.id, b.id]);
  });

  it.each([
    ['created_after', 'yesterday'],
    ['created_after', '2026-02-30'],
    ['created_after', '2026-1-05'],
    ['created_after', '-5'],
    ['created_after', '1767225600.5'],
    ['created_after', '2026-01-01T00:00:00Z'],
    ['created_after', ''],
    ['created_before', '99999999999999'],
    ['created_before', '253402300800'],
    ['created_before', '2026/01/01'],
  ])('refuses %s=%s with 400 naming the field', async (param, value) => {
    const res = await get(`/v1/tasks?${param}=${encodeURIComponent(value)}`, headers);
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toEqual({
      code: 400,
      type: 'invalid_request_error',
      param,
      message: `querystring ${param} must be unix seconds (an integer) or a UTC date YYYY-MM-DD`,
    });
  });

  it('refuses a repeated bound', async () => {
    const res = await get('/v1/tasks?created_before=1767225600&created_before=1767225601', headers);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.param).toBe('created_before');
  });

  it('are documented in the OpenAPI document', async () => {
    const doc = (await t.app.server.inject({ method: 'GET', url: '/openapi.json' })).json();
    const params = doc.paths['/v1/tasks'].get.parameters as Array<{ name: string; description?: string }>;
    for (const name of ['created_after', 'created_before', 'include']) {
      expect(params.find((p) => p.name === name)?.description, name).toMatch(/vidgate extension/);
    }
    expect(doc.paths['/v1/tasks/{task_id}'].get.parameters.map((p: { name: string }) => p.name)).toContain('include');
    expect(Object.keys(doc.components.schemas.TaskWithExtensions.properties)).toEqual(expect.arrayContaining(['request', 'timings']));
    expect(Object.keys(doc.components.schemas.Task.properties)).not.toContain('request');
  });
});

describe('include=request', () => {
  const bodies = {
    textToVideo: {
      model: 'seedance-2.0-fast',
      prompt: 'Paper boats on a pond',
      resolution: '480P',
      duration: 4,
      size: '1:1',
      generate_audio: true,
      return_last_frame: true,
      tools: [{ type: 'web_search' }],
      callback_url: 'https://hooks.example.test/vidgate?token=s3cret',
      unknown_field: 'dropped',
    },
    references: {
      model: 'doubao-seedance-2.0',
      prompt: 'The cat from the pictures plays in the video',
      seed: 42,
      image_urls: ['http://10.0.0.1/a.png', 'http://10.0.0.1/b.png'],
      video_urls: ['http://10.0.0.2/clip.mp4'],
      audio_urls: ['http://10.0.0.3/tune.mp3', 'http://10.0.0.3/voice.wav'],
    },
    frames: {
      model: 'doubao-seedance-2.0-face',
      prompt: null,
      image_with_roles: [
        { url: 'http://10.0.0.4/day.jpg', role: 'first_frame' },
        { url: 'http://10.0.0.4/night.jpg', role: 'last_frame' },
      ],
    },
    oneImage: { model: 'doubao-seedance-2.0', image_urls: ['http://10.0.0.5/cat.jpg'], seed: -1 },
  };

  it('shows the submit body as stored: canonical, defaults applied, the seed used, no callback_url', async () => {
    const id = await t.submit(bodies.textToVideo);
    const stored = (await t.app.store.getTask(id))!;
    const data = await taskOf(id, '?include=request');
    expect(Object.keys(data).slice(-2)).toEqual(['request', 'timings']);
    expect(data.request).toStrictEqual({
      model: 'doubao-seedance-2.0-fast',
      prompt: 'Paper boats on a pond',
      duration: 4,
      size: '1:1',
      resolution: '480p',
      seed: stored.seed,
      generate_audio: true,
      return_last_frame: true,
      tools: [{ type: 'web_search' }],
    });
    expect(stored.seed).toBeGreaterThanOrEqual(0);
    expect(stored.seed).toBeLessThanOrEqual(MAX_SEED);
    expect(JSON.stringify(data)).not.toContain('s3cret');

    expect((await taskOf(await t.submit(bodies.references), '?include=request')).request).toStrictEqual({
      model: 'doubao-seedance-2.0',
      prompt: 'The cat from the pictures plays in the video',
      duration: 5,
      size: '16:9',
      resolution: '720p',
      seed: 42,
      generate_audio: false,
      return_last_frame: false,
      image_urls: ['http://10.0.0.1/a.png', 'http://10.0.0.1/b.png'],
      video_urls: ['http://10.0.0.2/clip.mp4'],
      audio_urls: ['http://10.0.0.3/tune.mp3', 'http://10.0.0.3/voice.wav'],
    });
    expect((await taskOf(await t.submit(bodies.frames), '?include=request')).request).toMatchObject({
      prompt: '',
      image_with_roles: bodies.frames.image_with_roles,
    });
    // One plain image is the first frame, and stays in image_urls, as it was sent.
    const oneImage = (await taskOf(await t.submit(bodies.oneImage), '?include=request')).request as Record<string, unknown>;
    expect(oneImage).toMatchObject({ image_urls: ['http://10.0.0.5/cat.jpg'] });
    expect(oneImage).not.toHaveProperty('image_with_roles');
    expect(oneImage.seed).not.toBe(-1);
  });

  it('round-trips: POSTing `request` back is accepted and makes a task with the same request', async () => {
    for (const body of Object.values(bodies)) {
      const first = await t.submit(body);
      const { request } = await taskOf(first, '?include=request');
      const again = await post(request);
      expect(again.statusCode, again.body).toBe(200);
      const second = again.json().data[0].task_id as string;
      expect(second).not.toBe(first);
      expect((await taskOf(second, '?include=request')).request).toStrictEqual(request);
      // The stored requests are the same too, the seed included: the same render.
      const [a, b] = [(await t.app.store.getTask(first))!, (await t.app.store.getTask(second))!];
      expect(b.request).toStrictEqual({ ...a.request, requestedSeed: a.seed });
      expect(b.seed).toBe(a.seed);
      expect(b.costMicros).toBe(a.costMicros);
    }
  });

  it('lists carry the extensions on every task, and only when asked', async () => {
    const plain = (await get('/v1/tasks?limit=5')).json();
    const extended = (await get('/v1/tasks?limit=5&include=request')).json();
    expect(extended.data.map((d: { id: string }) => d.id)).toEqual(plain.data.map((d: { id: string }) => d.id));
    for (const [i, task] of (plain.data as Array<Record<string, unknown>>).entries()) {
      expect(Object.keys(task).sort()).toEqual(BASE_KEYS);
      expect(extended.data[i]).toStrictEqual({ ...task, request: expect.any(Object), timings: expect.any(Object) });
    }
  });

  it('timings of a queued task: created, the rest null', async () => {
    const id = await t.submit({ model: 'doubao-seedance-2.0', prompt: 'still waiting' });
    const data = await taskOf(id, '?include=request');
    expect(data.timings).toStrictEqual({ created: data.created, started: null, finished: null, queued_seconds: null, run_seconds: null });
  });

  it('refuses an unknown include with 400 naming it', async () => {
    const id = await t.submit({ model: 'doubao-seedance-2.0', prompt: 'x' });
    for (const url of [`/v1/tasks/${id}?include=everything`, '/v1/tasks?include=requests']) {
      const res = await get(url);
      expect(res.statusCode).toBe(400);
      expect(res.json().error).toMatchObject({
        code: 400,
        type: 'invalid_request_error',
        param: 'include',
        message: expect.stringContaining('include must be "request"'),
      });
    }
  });

  it('without include, tasks in every state have exactly the APIMart keys; with it, the two extensions follow', async () => {
    const pending = await t.submit({ model: 'doubao-seedance-2.0-fast', prompt: 'A lighthouse at dusk', resolution: '480p', duration: 4 });
    expect(Object.keys(await taskOf(pending)).sort()).toEqual(BASE_KEYS);

    // Clear the queue but for a render and a reference that fails at once, then run them.
    const queued = (await get('/v1/tasks?status=pending&limit=100')).json().data as Array<{ id: string }>;
    const failing = await t.submit({ model: 'doubao-seedance-2.0', prompt: 'x', image_urls: ['http://10.0.0.9/cat.jpg'] });
    const cancelled = queued[queued.length - 1]!.id;
    for (const { id } of queued) if (id !== pending) await t.app.server.inject({ method: 'POST', url: `/v1/tasks/${id}/cancel`, headers: t.auth });
    await t.app.dispatcher.start();
    const [done, failed] = await Promise.all([t.settled(pending), t.settled(failing)]);
    expect(done.status, JSON.stringify(done.error)).toBe('completed');
    expect(failed.status).toBe('failed');

    const completedView = await taskOf(pending);
    expect(Object.keys(completedView).sort()).toEqual([...BASE_KEYS, 'actual_time', 'completed', 'result'].sort());
    expect(Object.keys(await taskOf(failing)).sort()).toEqual([...BASE_KEYS, 'error'].sort());
    expect(Object.keys(await taskOf(cancelled)).sort()).toEqual(BASE_KEYS);

    const extended = await taskOf(pending, '?include=request');
    const { request, timings, ...rest } = extended;
    expect(rest).toStrictEqual(completedView);
    expect(request).toMatchObject({ prompt: 'A lighthouse at dusk', resolution: '480p', duration: 4 });
    const { createdAt, startedAt, finishedAt } = done;
    expect(timings).toStrictEqual({
      created: Math.floor(createdAt / 1000),
      started: Math.floor(startedAt! / 1000),
      finished: Math.floor(finishedAt! / 1000),
      queued_seconds: (startedAt! - createdAt) / 1000,
      run_seconds: (finishedAt! - startedAt!) / 1000,
    });
    expect(extended.completed).toBe((timings as { finished: number }).finished);
    expect((timings as { run_seconds: number }).run_seconds).toBeGreaterThan(0);

    // Ended without starting: all of its life was queue time.
    const never = (await t.app.store.getTask(cancelled))!;
    expect((await taskOf(cancelled, '?include=request')).timings).toStrictEqual({
      created: Math.floor(never.createdAt / 1000),
      started: null,
      finished: Math.floor(never.finishedAt! / 1000),
      queued_seconds: (never.finishedAt! - never.createdAt) / 1000,
      run_seconds: null,
    });
  });
});
