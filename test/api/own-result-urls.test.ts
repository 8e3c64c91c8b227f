import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetch } from 'undici';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { startTestS3, TEST_BUCKET, type TestS3 } from '../helpers/s3-server.js';
import { failureOf, input } from '../media/helpers.js';
import { ssimOfFrame } from '../render/modes-helpers.js';
import { probe } from '../helpers/ffprobe.js';
import { AddressPolicy } from '../../src/net/address-policy.js';
import { SafeFetcher } from '../../src/media/safe-fetch.js';
import type { TaskRecord } from '../../src/store/types.js';

/**
 * Seed case 7 against a self-hosted vidgate: a completed task's `result.last_frame_url` (or its
 * video) given back as the input of the next task. The server listens on 127.0.0.1 and
 * VIDGATE_MEDIA_ALLOW_HOSTS does not allow it, so a network fetch of its own URLs would be refused:
 * the tasks complete only because media intake recognises its signed result URLs and reads the
 * files from the result storage (the disk here, the bucket below).
 */

const FIRST = { model: 'doubao-seedance-2.0-fast', prompt: 'Paper boats on a pond', resolution: '480p', duration: 4, return_last_frame: true };
const HOUR = 3_600_000;

interface Served {
  t: TestApp;
  base: string;
  task: TaskRecord;
  videoUrl: string;
  lastFrameUrl: string;
}

/** A vidgate on a real port of 127.0.0.1 with a first task rendered; the URLs are the ones its task object gives. */
async function serve(env: Record<string, string> = {}): Promise<Served> {
  const t = await startTestApp(env);
  const base = await t.app.server.listen({ host: '127.0.0.1', port: 0 });
  const task = await t.settled(await t.submit(FIRST));
  expect(task.status, JSON.stringify(task.error)).toBe('completed');
  const view = await taskView(t, base, task.id);
  return { t, base, task, videoUrl: view.result.videos[0].url[0], lastFrameUrl: view.result.last_frame_url };
}

async function taskView(t: TestApp, base: string, id: string) {
  const res = await fetch(`${base}/v1/tasks/${id}`, { headers: t.auth });
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: any }).data;
}

/** Runs a task to its end; the body's media fields name the URLs. */
async function run(s: Served, body: object): Promise<TaskRecord> {
  return s.t.settled(await s.t.submit({ model: 'doubao-seedance-2.0-fast', resolution: '480p', duration: 4, ...body }));
}

const signal = new AbortController().signal;
let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'vidgate-own-urls-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** Saves a URL's body (a result through its signed URL) to a scratch file. */
async function download(url: string, name: string): Promise<string> {
  const res = await fetch(url);
  expect(res.status, url).toBe(200);
  const path = join(scratch, name);
  await writeFile(path, Buffer.from(await res.arrayBuffer()));
  return path;
}

describe('own signed result URLs as inputs, results on disk', () => {
  let s: Served;
  beforeAll(async () => {
    s = await serve();
  });
  afterAll(() => s?.t.close());

  const resultPath = (task: TaskRecord, which: 'video' | 'lastFrame' = 'video') => join(s.t.dataDir, 'results', task.result![which]!.key);

  it('the URLs name this server on 127.0.0.1, which media rules refuse to fetch', async () => {
    expect(s.lastFrameUrl.startsWith(`${s.base}/files/`)).toBe(true);
    expect(s.t.app.config.mediaAllowHosts).toEqual([]);
    // Any other URL of the same host goes to the network, and is refused there.
    const failure = await failureOf(s.t.app.media.prepare([input('image', `${s.base}/files/cat.png`, 'image_urls[0]')], { signal }));
    expect(failure).toMatchObject({ code: 'media_fetch_failed', params: { field: 'image_urls[0]' } });
    expect(String(failure.params.detail)).toMatch(/127\.0\.0\.1/);
  });

  it('continues from the last frame: last_frame_url as the first frame of the next task', async () => {
    const next = await run(s, { prompt: 'The boats sail on', image_with_roles: [{ url: s.lastFrameUrl, role: 'first_frame' }] });
    expect(next.status, JSON.stringify(next.error)).toBe('completed');
    // The new video starts on the picture the previous one ended on.
    expect(await ssimOfFrame(resultPath(next), 0, resultPath(s.task, 'lastFrame'), 'null')).toBeGreaterThan(0.9);
  });

  it('reads a result video given as a reference video', async () => {
    const next = await run(s, { prompt: 'The same pond, at night', video_urls: [s.videoUrl] });
    expect(next.status, JSON.stringify(next.error)).toBe('completed');
    expect((await probe(resultPath(next))).frames).toBe(96);
  });

  it('reads links of the earlier form and on any host, as long as the signature holds', async () => {
    const [, , , , expires, signature, ...key] = s.lastFrameUrl.split('/');
    const earlier = `${s.base}/files/${key.join('/')}?expires=${expires}&signature=${signature}`;
    const elsewhere = s.videoUrl.replace(s.base, 'https://videos.example.invalid');
    const prepared = await s.t.app.media.prepare(
      [input('image', earlier, 'image_with_roles[0].url', 'first_frame'), input('video', elsewhere, 'video_urls[0]')],
      { signal },
    );
    expect(prepared.map((p) => p.probe)).toMatchObject([
      { format: 'png', width: 864, height: 480 },
      { width: 864, height: 480, fps: 24 },
    ]);
    expect((await readFile(prepared[0]!.path)).equals(await readFile(resultPath(s.task, 'lastFrame')))).toBe(true);
  });

  it('refuses a tampered signature, naming the field: the task fails, refunded', async () => {
    const tampered = s.lastFrameUrl.replace(/\/files\/(\d+)\/(.)/, (_m, expires: string, c: string) => `/files/${expires}/${c === 'A' ? 'B' : 'A'}`);
    const failed = await run(s, { prompt: 'x', image_with_roles: [{ url: tampered, role: 'first_frame' }] });
    expect(failed.status).toBe('failed');
    expect(failed.costMicros).toBe(0);
    const view = await taskView(s.t, s.base, failed.id);
    expect(view.error).toEqual({
      code: 'invalid_media',
      type: 'invalid_request_error',
      message: expect.stringContaining('image_with_roles[0].url'),
    });
    expect(view.error.message).toContain('the result URL has an invalid signature (it was changed or not issued by this server)');

    // The earlier form, another file's signature, a changed expiry: all ours, all refused.
    const [, , , , expires, signature, ...key] = s.videoUrl.split('/');
    const bent = [
      `${s.base}/files/${key.join('/')}?expires=${expires}&signature=A${signature!.slice(1)}`,
      s.videoUrl.replace(`${s.task.id}.mp4`, `${s.task.id}_last_frame.png`),
      `${s.base}/files/${Number(expires) + 3600}/${signature}/${key.join('/')}`,
    ];
    for (const url of bent) {
      expect(await failureOf(s.t.app.media.prepare([input('video', url, 'video_urls[1]')], { signal }))).toEqual({
        code: 'invalid_media',
        params: { field: 'video_urls[1]', detail: 'the result URL has an invalid signature (it was changed or not issued by this server)' },
      });
    }
  });

  it('leaves result-shaped URLs of files it does not hold to the network (another vidgate’s results)', async () => {
    const theirs = s.videoUrl.replace(/\/[0-9a-f]{12}\//, '/0123456789ab/');
    const failure = await failureOf(s.t.app.media.prepare([input('video', theirs, 'video_urls[0]')], { signal }));
    expect(failure).toMatchObject({ code: 'media_fetch_failed', params: { field: 'video_urls[0]' } });
  });

  it('refuses an expired URL, and one whose file is gone, naming the field', async () => {
    s.t.advanceClock(73 * HOUR);
    try {
      const failure = await failureOf(s.t.app.media.prepare([input('image', s.lastFrameUrl, 'image_urls[0]')], { signal }));
      expect(failure.code).toBe('invalid_media');
      expect(failure.params.field).toBe('image_urls[0]');
      expect(String(failure.params.detail)).toMatch(
        /^the result URL expired at \d{4}-\d\d-\d\dT[\d:.]+Z \(expired results are deleted\); use the URL of a result that has not expired$/,
      );
    } finally {
      s.t.advanceClock(-73 * HOUR);
    }
    await rm(resultPath(s.task, 'lastFrame'));
    expect(await failureOf(s.t.app.media.prepare([input('image', s.lastFrameUrl, 'image_urls[0]')], { signal }))).toEqual({
      code: 'invalid_media',
      params: { field: 'image_urls[0]', detail: 'the result file of this URL no longer exists (its results were deleted)' },
    });
  });
});

describe('own signed result URLs as inputs, results in S3', () => {
  let s3: TestS3;
  let signed: Served;
  let presigned: Served;

  beforeAll(async () => {
    s3 = await startTestS3();
    [signed, presigned] = await Promise.all([serve(s3.env('own')), serve({ ...s3.env('ownp'), VIDGATE_RESULT_URLS: 'presigned' })]);
  });
  afterAll(async () => {
    await Promise.all([signed?.t.close(), presigned?.t.close()]);
    await s3?.close();
  });

  it('signed URLs: the last frame is copied down from the bucket, not fetched', async () => {
    expect(signed.lastFrameUrl.startsWith(`${signed.base}/files/`)).toBe(true);
    const next = await run(signed, { prompt: 'The boats sail on', image_with_roles: [{ url: signed.lastFrameUrl, role: 'first_frame' }] });
    expect(next.status, JSON.stringify(next.error)).toBe('completed');
    const [video, lastFrame] = await Promise.all([
      download((await taskView(signed.t, signed.base, next.id)).result.videos[0].url[0], 'next.mp4'),
      download(signed.lastFrameUrl, 'previous_last_frame.png'),
    ]);
    expect(await ssimOfFrame(video, 0, lastFrame, 'null')).toBeGreaterThan(0.9);
    const [prepared] = await signed.t.app.media.prepare([input('video', signed.videoUrl, 'video_urls[0]')], { signal });
    expect((await readFile(prepared!.path)).equals((await s3.object(`own/results/${signed.task.result!.video.key}`))!)).toBe(true);
  });

  it('presigned URLs are the bucket’s own: fetched over the network like any URL, under the media address rules', async () => {
    const url = new URL(presigned.lastFrameUrl);
    expect(`${url.origin}${url.pathname}`).toBe(`${s3.endpoint}/${TEST_BUCKET}/ownp/results/${presigned.task.result!.lastFrame!.key}`);
    // This bucket is on 127.0.0.1, which vidgate does not fetch from unless VIDGATE_MEDIA_ALLOW_HOSTS allows it…
    const failure = await failureOf(presigned.t.app.media.prepare([input('image', presigned.lastFrameUrl, 'image_urls[0]')], { signal }));
    expect(failure).toMatchObject({ code: 'media_fetch_failed', params: { field: 'image_urls[0]' } });
    expect(String(failure.params.detail)).toMatch(/127\.0\.0\.1/);
    // …while the same fetcher allowed to reach it (as a public bucket is) downloads the file: a plain GET, nothing vidgate-specific.
    const fetcher = new SafeFetcher({ policy: new AddressPolicy(['127.0.0.1']), connectTimeoutMs: 5_000, timeoutMs: 30_000 });
    try {
      const target = join(scratch, 'presigned.png');
      await fetcher.download(presigned.lastFrameUrl, target, { maxBytes: 30 * 1024 * 1024, sizeRule: 'small', signal });
      expect((await readFile(target)).equals((await s3.object(`ownp/results/${presigned.task.result!.lastFrame!.key}`))!)).toBe(true);
    } finally {
      await fetcher.close();
    }
  });
});
