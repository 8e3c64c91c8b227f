import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { createAccountWithKey } from '../../src/auth/keys.js';

let t: TestApp;
let doneId: string;
let failedId: string;
let video: { url: string; bytes: number };
let lastFrameUrl: string;

const HOUR = 3_600_000;

beforeAll(async () => {
  t = await startTestApp({ VIDGATE_PUBLIC_URL: 'https://videos.example.test/' });
  doneId = await t.submit({ model: 'doubao-seedance-2.0-fast', prompt: 'Paper boats on a pond', resolution: '480p', duration: 4, return_last_frame: true });
  // A reference on a private address is refused when the task runs: a real failure path.
  failedId = await t.submit({ model: 'doubao-seedance-2.0', prompt: 'x', image_urls: ['http://10.0.0.1/cat.jpg'] });
  const [done] = await Promise.all([t.settled(doneId), t.settled(failedId)]);
  const view = (await get(`/v1/tasks/${doneId}`)).json().data;
  video = { url: view.result.videos[0].url[0], bytes: done.result!.video.bytes };
  lastFrameUrl = view.result.last_frame_url;
});
afterAll(() => t.close());

const get = (url: string, headers: Record<string, string> = t.auth) => t.app.server.inject({ method: 'GET', url, headers });
const localPath = (url: string) => url.replace('https://videos.example.test', '');

describe('signed result URLs', () => {
  it('are built on VIDGATE_PUBLIC_URL and expire after 72 h by default', async () => {
    const data = (await get(`/v1/tasks/${doneId}`)).json().data;
    // Expiry and signature in the path, the task's own file name last: clients name downloads after it.
    expect(video.url).toMatch(new RegExp(`^https://videos\\.example\\.test/files/\\d+/[\\w-]{43}/${doneId}/[0-9a-f]{12}/${doneId}\\.mp4$`));
    expect(lastFrameUrl).toMatch(new RegExp(`/${doneId}/[0-9a-f]{12}/${doneId}_last_frame\\.png$`));
    expect(video.url.split('/').pop()).toBe(`${doneId}.mp4`);
    expect(Number(video.url.split('/')[4])).toBe(data.result.videos[0].expires_at);
    expect(data.result.videos[0].expires_at).toBe(data.completed + 72 * 3600);
  });

  it('of the earlier form (?expires=&signature=) still work until they expire', async () => {
    const [, , , , expires, signature, ...key] = video.url.split('/');
    const old = `/files/${key.join('/')}?expires=${expires}&signature=${signature}`;
    const res = await get(old, {});
    expect(res.statusCode).toBe(200);
    expect(res.rawPayload.length).toBe(video.bytes);
    t.advanceClock(73 * 3600 * 1000);
    try {
      expect((await get(old, {})).json().error).toMatchObject({ code: 403, message: /expired/ });
      expect((await get(localPath(video.url), {})).json().error).toMatchObject({ code: 403, message: /expired/ });
    } finally {
      t.advanceClock(-73 * 3600 * 1000);
    }
  });

  it('serve the file without an API key', async () => {
    const res = await get(localPath(video.url), {});
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('video/mp4');
    expect(res.rawPayload.length).toBe(video.bytes);
    const png = await get(localPath(lastFrameUrl), {});
    expect(png.rawPayload.subarray(1, 4).toString()).toBe('PNG');
  });

  it('refuse a tampered signature or a changed expiry with 403', async () => {
    const [, , , , expires, signature, ...key] = video.url.split('/');
    const tampered = `/files/${expires}/A${signature!.slice(1)}/${key.join('/')}`;
    expect((await get(tampered, {})).statusCode).toBe(403);
    const later = `/files/${Number(expires) + 3600}/${signature}/${key.join('/')}`;
    expect((await get(later, {})).json().error).toMatchObject({ code: 403, message: /invalid or missing URL signature/ });
    expect((await get(`/files/${key.join('/')}`, {})).statusCode).toBe(403);
  });

  it('cannot be bent to another file', async () => {
    const other = localPath(video.url).replace(`${doneId}.mp4`, `${doneId}_last_frame.png`);
    expect((await get(other, {})).statusCode).toBe(403);
    const traversal = localPath(video.url).replace(`/${doneId}/`, '/..%2F..%2F/');
    expect([403, 404]).toContain((await get(traversal, {})).statusCode);
  });
});

describe('GET /v1/tasks/{id}/content', () => {
  it('streams the video to its owner', async () => {
    const res = await get(`/v1/tasks/${doneId}/content`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('video/mp4');
    expect(res.headers['accept-ranges']).toBe('bytes');
    expect(res.rawPayload.length).toBe(video.bytes);
  });

  it('answers a Range request with 206 and exactly those bytes', async () => {
    const whole = (await get(`/v1/tasks/${doneId}/content`)).rawPayload;
    const res = await get(`/v1/tasks/${doneId}/content`, { ...t.auth, range: 'bytes=100-299' });
    expect(res.statusCode).toBe(206);
    expect(res.headers['content-range']).toBe(`bytes 100-299/${video.bytes}`);
    expect(res.rawPayload.equals(whole.subarray(100, 300))).toBe(true);
  });

  it('serves the last frame as variant=last_frame', async () => {
    const res = await get(`/v1/tasks/${doneId}/content?variant=last_frame`);
    expect(res.headers['content-type']).toBe('image/png');
  });

  it('409 while a task has no result', async () => {
    const res = await get(`/v1/tasks/${failedId}/content`);
    expect(res.statusCode).toBe(409);
    expect(res.json().error).toMatchObject({ type: 'conflict_error', message: expect.stringMatching(/is failed: content is available once it is completed/) });
  });

  it('another account cannot tell the task exists', async () => {
    const stranger = await createAccountWithKey(t.app.store, { name: 'stranger' });
    const headers = { authorization: `Bearer ${stranger.secret}` };
    const theirs = await get(`/v1/tasks/${doneId}`, headers);
    const missing = await get('/v1/tasks/task_01KMCGF6BQGN3X28H3KSR50X5T', headers);
    expect(theirs.statusCode).toBe(404);
    expect(missing.statusCode).toBe(404);
    expect(theirs.json().error.message.replace(doneId, 'ID')).toBe(missing.json().error.message.replace('task_01KMCGF6BQGN3X28H3KSR50X5T', 'ID'));
    expect((await get(`/v1/tasks/${doneId}/content`, headers)).statusCode).toBe(404);
    expect((await get('/v1/tasks', headers)).json().data).toEqual([]);
  });
});

describe('failed tasks', () => {
  it('carry an error object whose message follows `language`', async () => {
    const messages: Record<string, string> = {};
    for (const language of ['en', 'zh', 'ko', 'ja']) {
      const data = (await get(`/v1/tasks/${failedId}?language=${language}`)).json().data;
      expect(data).toMatchObject({ status: 'failed', error: { code: 'media_fetch_failed', type: 'invalid_request_error' } });
      expect(data).not.toHaveProperty('result');
      messages[language] = data.error.message;
    }
    expect(messages.en).toMatch(/^image_urls\[0\] could not be fetched: .*private or reserved address \(10\.0\.0\.1\)/);
    expect(messages.zh).toMatch(/^无法获取 image_urls\[0\]：/);
    expect(messages.ko).toMatch(/^image_urls\[0\]을\(를\) 가져올 수 없습니다/);
    expect(messages.ja).toMatch(/^image_urls\[0\] を取得できませんでした/);
    expect((await get(`/v1/tasks/${failedId}`)).json().data.error.message).toBe(messages.en);
  });

  it('an unknown language is a 400 naming the allowed ones', async () => {
    const res = await get(`/v1/tasks/${failedId}?language=fr`);
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ param: 'language', message: expect.stringMatching(/language must be one of en, zh, ko, ja/) });
  });
});

describe('GET /v1/tasks', () => {
  it('lists newest first with a cursor and filters', async () => {
    const all = (await get('/v1/tasks')).json();
    expect(all.data.map((d: { id: string }) => d.id).sort()).toEqual([doneId, failedId].sort());
    const first = (await get('/v1/tasks?limit=1')).json();
    expect(first).toMatchObject({ code: 200, has_more: true, next_after: first.data[0].id });
    const second = (await get(`/v1/tasks?limit=1&after=${first.next_after}`)).json();
    expect(second).toMatchObject({ has_more: false, next_after: null });
    expect([first.data[0].id, second.data[0].id].sort()).toEqual([doneId, failedId].sort());
    expect((await get('/v1/tasks?status=failed')).json().data.map((d: { id: string }) => d.id)).toEqual([failedId]);
    expect((await get('/v1/tasks?model=doubao-seedance-2.0-fast')).json().data.map((d: { id: string }) => d.id)).toEqual([doneId]);
  });

  it.each(['limit=0', 'limit=101', 'limit=abc', 'status=done'])('rejects %s', async (query) => {
    const res = await get(`/v1/tasks?${query}`);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.param).toBe(query.split('=')[0]);
  });
});

describe('expiry', () => {
  it('after expires_at the URL answers 403 and the sweeper deletes the files', async () => {
    const task = (await t.app.store.getTask(doneId))!;
    const file = join(t.dataDir, 'results', task.result!.video.key);
    await access(file);
    t.advanceClock(72 * HOUR + 1000);
    const res = await get(localPath(video.url), {});
    expect(res.statusCode).toBe(403);
    expect(res.json().error.message).toMatch(/expired/);
    expect(await t.app.sweeper.sweepOnce()).toBe(1);
    await expect(access(file)).rejects.toThrow();
    const content = await get(`/v1/tasks/${doneId}/content`);
    expect(content.statusCode).toBe(404);
    expect(content.json().error.message).toMatch(/expired and was deleted/);
    expect(await t.app.sweeper.sweepOnce()).toBe(0);
  });
});
