import { createHash } from 'node:crypto';
import { access, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetch, FormData } from 'undici';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { startTestS3, TEST_BUCKET, type TestS3 } from '../helpers/s3-server.js';
import { MediaFiles } from '../media/helpers.js';
import { UrlSigner } from '../../src/storage/signed-urls.js';
import type { TaskRecord } from '../../src/store/types.js';

/** One vidgate listening on a real port, with the task it rendered. */
interface Served {
  t: TestApp;
  base: string;
  task: TaskRecord;
  /** What GET /v1/tasks/{id} answers for it. */
  view: { result: { videos: Array<{ url: string[]; expires_at: number }>; last_frame_url: string } };
}

const HOUR = 3_600_000;
const SECRET = 'signing-secret-of-the-s3-tests';
const RENDER = { model: 'doubao-seedance-2.0-fast', prompt: 'Paper boats on a pond', resolution: '480p', duration: 4, seed: 7, return_last_frame: true };

let s3: TestS3;
let onDisk: Served;
let onS3: Served;
let presigned: Served;
let media: MediaFiles;

async function serve(env: Record<string, string>): Promise<Served> {
  const t = await startTestApp({ VIDGATE_SIGNING_SECRET: SECRET, ...env });
  const base = await t.app.server.listen({ host: '127.0.0.1', port: 0 });
  const id = await t.submit(RENDER);
  const task = await t.settled(id);
  expect(task.status, JSON.stringify(task.error)).toBe('completed');
  const res = await fetch(`${base}/v1/tasks/${id}`, { headers: t.auth });
  return { t, base, task, view: ((await res.json()) as { data: Served['view'] }).data };
}

beforeAll(async () => {
  s3 = await startTestS3();
  media = await MediaFiles.create();
  [onDisk, onS3, presigned] = await Promise.all([serve({}), serve(s3.env('vg')), serve({ ...s3.env('vgp'), VIDGATE_RESULT_URLS: 'presigned' })]);
});
afterAll(async () => {
  await Promise.all([onDisk?.t.close(), onS3?.t.close(), presigned?.t.close()]);
  await s3?.close();
  await media?.remove();
});

const body = async (res: Awaited<ReturnType<typeof fetch>>) => Buffer.from(await res.arrayBuffer());
const videoUrl = (s: Served) => s.view.result.videos[0]!.url[0]!;
const objectOf = async (prefix: string, s: Served) => (await s3.object(`${prefix}/results/${s.task.result!.video.key}`))!;
const filesUnder = async (dir: string) =>
  (await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => [])).filter((e) => e.isFile()).map((e) => e.name);

describe('results in S3 behind signed URLs', () => {
  it('are stored in the bucket under <prefix>/results/<task>/<token>/, not on the disk', async () => {
    const { video, lastFrame } = onS3.task.result!;
    expect(video.key).toMatch(new RegExp(`^${onS3.task.id}/[0-9a-f]{12}/${onS3.task.id}\\.mp4$`));
    expect(await s3.keys(`vg/results/${onS3.task.id}/`)).toEqual([`vg/results/${video.key}`, `vg/results/${lastFrame!.key}`].sort());
    expect((await objectOf('vg', onS3)).length).toBe(video.bytes);
    expect(await filesUnder(join(onS3.t.dataDir, 'results'))).toEqual([]);
    expect(videoUrl(onS3).startsWith(`${onS3.base}/files/`)).toBe(true);
  });

  it('download through vidgate byte for byte, whole, by range, and as HEAD', async () => {
    const stored = await objectOf('vg', onS3);
    const size = stored.length;
    const whole = await fetch(videoUrl(onS3));
    expect(whole.status).toBe(200);
    expect(whole.headers.get('content-type')).toBe('video/mp4');
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    expect(whole.headers.get('content-length')).toBe(String(size));
    expect(whole.headers.get('etag')).toMatch(/^"[0-9a-f]{32}"$/);
    expect(whole.headers.get('last-modified')).toBeTruthy();
    expect((await body(whole)).equals(stored)).toBe(true);

    for (const [range, start, end] of [
      ['bytes=100-299', 100, 299],
      ['bytes=-500', size - 500, size - 1],
      [`bytes=${size - 1000}-`, size - 1000, size - 1],
    ] as const) {
      const part = await fetch(videoUrl(onS3), { headers: { range } });
      expect(part.status, range).toBe(206);
      expect(part.headers.get('content-range')).toBe(`bytes ${start}-${end}/${size}`);
      expect((await body(part)).equals(stored.subarray(start, end + 1)), range).toBe(true);
    }

    const head = await fetch(videoUrl(onS3), { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(size));
    expect((await body(head)).length).toBe(0);

    const frame = await fetch(onS3.view.result.last_frame_url);
    expect(frame.headers.get('content-type')).toBe('image/png');
    expect((await body(frame)).equals((await s3.object(`vg/results/${onS3.task.result!.lastFrame!.key}`))!)).toBe(true);
  });

  it('answer 416 with the size for a range outside the file, and 304 to a matching ETag', async () => {
    const size = onS3.task.result!.video.bytes;
    const outside = await fetch(videoUrl(onS3), { headers: { range: `bytes=${size}-` } });
    expect(outside.status).toBe(416);
    expect(outside.headers.get('content-range')).toBe(`bytes */${size}`);
    expect(((await outside.json()) as { error: object }).error).toMatchObject({ code: 416 });
    const etag = (await fetch(videoUrl(onS3), { method: 'HEAD' })).headers.get('etag')!;
    // fetch() adds `cache-control: no-cache` to conditional requests unless told otherwise.
    expect((await fetch(videoUrl(onS3), { headers: { 'if-none-match': etag, 'cache-control': 'max-age=0' } })).status).toBe(304);
    expect((await fetch(videoUrl(onS3), { headers: { 'if-none-match': etag } })).status).toBe(200);
  });

  it('answer exactly as results on the local disk do', async () => {
    const etags = new Map<Served, string>();
    for (const s of [onDisk, onS3]) etags.set(s, (await fetch(videoUrl(s), { method: 'HEAD' })).headers.get('etag')!);
    const cases: Array<{ method?: string; headers: (s: Served) => Record<string, string> }> = [
      { headers: () => ({}) },
      { method: 'HEAD', headers: () => ({}) },
      { headers: () => ({ range: 'bytes=0-99' }) },
      { method: 'HEAD', headers: () => ({ range: 'bytes=0-99' }) },
      { headers: () => ({ range: 'bytes=-100' }) },
      { headers: () => ({ range: 'bytes=50-' }) },
      { headers: () => ({ range: 'bytes=0-1,5-9' }) },
      { headers: () => ({ range: 'bytes=0-10,5-20' }) },
      { headers: () => ({ range: 'bytes=20-10' }) },
      { headers: () => ({ range: 'bytes=abc' }) },
      { headers: () => ({ range: 'items=0-5' }) },
      { headers: () => ({ range: 'bytes=99999999-' }) },
      { headers: (s) => ({ 'if-none-match': etags.get(s)! }) },
      { headers: (s) => ({ 'if-none-match': etags.get(s)!, 'cache-control': 'max-age=0' }) },
      { headers: () => ({ 'if-none-match': '"other"', 'cache-control': 'max-age=0' }) },
      { headers: () => ({ 'if-modified-since': new Date(Date.now() + HOUR).toUTCString(), 'cache-control': 'max-age=0' }) },
      { headers: () => ({ 'if-modified-since': new Date(Date.now() + HOUR).toUTCString() }) },
      { headers: () => ({ 'if-modified-since': 'Mon, 01 Jan 2001 00:00:00 GMT' }) },
      { headers: (s) => ({ range: 'bytes=0-9', 'if-range': etags.get(s)! }) },
      { headers: () => ({ range: 'bytes=0-9', 'if-range': '"stale"' }) },
      { headers: () => ({ 'if-match': '"other"' }) },
    ];
    // Sizes differ between the two renders: numbers near a file's size are written relative to it.
    const relative = (value: string, size: number) =>
      value.replace(/\d+/g, (n) => (Number(n) > size / 2 && Number(n) <= size ? `SIZE-${size - Number(n)}` : n));
    const answer = async (s: Served, c: (typeof cases)[number]) => {
      const res = await fetch(videoUrl(s), { method: c.method ?? 'GET', headers: c.headers(s) });
      const size = s.task.result!.video.bytes;
      const data = await body(res);
      const h = (name: string) => res.headers.get(name);
      return {
        status: res.status,
        'content-type': h('content-type'),
        'content-length': h('content-length') && relative(h('content-length')!, size),
        'content-range': h('content-range') && relative(h('content-range')!, size),
        'accept-ranges': h('accept-ranges'),
        'cache-control': h('cache-control'),
        etag: h('etag') !== null,
        'last-modified': h('last-modified') !== null,
        body: res.status >= 400 ? JSON.parse(data.toString()) : relative(String(data.length), size),
      };
    };
    for (const c of cases) {
      const label = `${c.method ?? 'GET'} ${JSON.stringify(c.headers(onDisk))}`;
      expect(await answer(onS3, c), label).toEqual(await answer(onDisk, c));
    }
  });

  it('stream to the owner at /v1/tasks/{id}/content, with Range', async () => {
    const stored = await objectOf('vg', onS3);
    const res = await fetch(`${onS3.base}/v1/tasks/${onS3.task.id}/content`, { headers: { ...onS3.t.auth, range: 'bytes=10-19' } });
    expect(res.status).toBe(206);
    expect(res.headers.get('content-disposition')).toBe(`inline; filename="${onS3.task.id}.mp4"`);
    expect((await body(res)).equals(stored.subarray(10, 20))).toBe(true);
  });
});

describe('presigned result URLs (VIDGATE_RESULT_URLS=presigned)', () => {
  it('point at the bucket, expire with the task, and download from it directly', async () => {
    const stored = await objectOf('vgp', presigned);
    const url = new URL(videoUrl(presigned));
    expect(`${url.origin}${url.pathname}`).toBe(`${s3.endpoint}/${TEST_BUCKET}/vgp/results/${presigned.task.result!.video.key}`);
    const date = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(url.searchParams.get('X-Amz-Date')!)!.slice(1).map(Number);
    const signedAt = Date.UTC(date[0]!, date[1]! - 1, date[2]!, date[3]!, date[4]!, date[5]!);
    expect(signedAt / 1000 + Number(url.searchParams.get('X-Amz-Expires'))).toBe(presigned.view.result.videos[0]!.expires_at);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect((await body(res)).equals(stored)).toBe(true);
    const frame = await fetch(presigned.view.result.last_frame_url);
    expect(frame.status).toBe(200);
    expect((await body(frame)).subarray(1, 4).toString()).toBe('PNG');
  });

  it('leave the signed route and the content route working', async () => {
    const stored = await objectOf('vgp', presigned);
    const { key } = presigned.task.result!.video;
    const signed = await fetch(`${presigned.base}${new UrlSigner(SECRET).resultPath(key, presigned.task.result!.expiresAt)}`, {
      headers: { range: 'bytes=0-99' },
    });
    expect(signed.status).toBe(206);
    expect((await body(signed)).equals(stored.subarray(0, 100))).toBe(true);
    const content = await fetch(`${presigned.base}/v1/tasks/${presigned.task.id}/content`, { headers: presigned.t.auth });
    expect((await body(content)).equals(stored)).toBe(true);
  });
});

describe('uploads and assets in S3', () => {
  let upload: { url: string; bytes: number };
  let png: Buffer;
  let name: string;

  beforeAll(async () => {
    png = await readFile(await media.image('still.png', 640, 360));
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(png)], { type: 'image/png' }), 'still.png');
    const res = await fetch(`${onS3.base}/v1/uploads/images`, { method: 'POST', headers: onS3.t.auth, body: form });
    expect(res.status).toBe(200);
    upload = (await res.json()) as typeof upload;
    name = new URL(upload.url).pathname.split('/').pop()!;
  });

  it('an upload is stored in the bucket and served from it', async () => {
    expect((await s3.object(`vg/uploads/${name}`))?.equals(png)).toBe(true);
    expect((await filesUnder(join(onS3.t.dataDir, 'uploads'))).filter((f) => f === name)).toEqual([]);
    const res = await fetch(upload.url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect((await body(res)).equals(png)).toBe(true);
  });

  it('a first-frame render reads the upload from the bucket, through the media cache', async () => {
    const id = await onS3.t.submit({
      model: 'doubao-seedance-2.0-fast',
      prompt: 'The boats drift',
      image_with_roles: [{ url: upload.url, role: 'first_frame' }],
      resolution: '480p',
      duration: 4,
    });
    const task = await onS3.t.settled(id);
    expect(task.status, JSON.stringify(task.error)).toBe('completed');
    const hash = createHash('sha256').update(png).digest('hex');
    await access(join(onS3.t.dataDir, 'media', `${hash}.png`));
  });

  it("an asset's reviewed copy is kept in the bucket, used by renders and deleted with the asset", async () => {
    const review = await fetch(`${onS3.base}/v1/seedance2/private-avatar`, {
      method: 'POST',
      headers: { ...onS3.t.auth, 'content-type': 'application/json' },
      body: JSON.stringify({ group: { name: 'cast' }, asset_type: 'Image', url: upload.url, name: 'boat' }),
    });
    expect(review.status).toBe(200);
    await onS3.t.app.assets.whenIdle();
    const reviewed = (await (
      await fetch(`${onS3.base}/v1/tasks/${((await review.json()) as { data: { id: string } }).data.id}`, { headers: onS3.t.auth })
    ).json()) as {
      data: { result: { usable_assets: Array<{ asset_id: string }> } };
    };
    const assetId = reviewed.data.result.usable_assets[0]!.asset_id;
    expect((await s3.object(`vg/assets/${assetId}.png`))?.equals(png)).toBe(true);
    expect(await filesUnder(join(onS3.t.dataDir, 'assets'))).toEqual([]);

    const id = await onS3.t.submit({
      model: 'doubao-seedance-2.0',
      prompt: 'The boat sails',
      image_urls: [`asset://${assetId}`],
      resolution: '480p',
      duration: 4,
    });
    const task = await onS3.t.settled(id);
    expect(task.status, JSON.stringify(task.error)).toBe('completed');

    expect((await fetch(`${onS3.base}/v1/assets/${assetId}`, { method: 'DELETE', headers: onS3.t.auth })).status).toBe(200);
    expect(await s3.object(`vg/assets/${assetId}.png`)).toBeNull();
  });
});

describe('expiry sweeps on S3', () => {
  it('delete expired results and uploads from the bucket', async () => {
    const { id } = onS3.task;
    expect(await s3.keys(`vg/results/${id}/`)).toHaveLength(2);
    onS3.t.advanceClock(72 * HOUR + 1000);
    expect((await fetch(videoUrl(onS3))).status).toBe(403);
    expect(await onS3.t.app.sweeper.sweepOnce()).toBeGreaterThanOrEqual(1);
    expect(await s3.keys(`vg/results/${id}/`)).toEqual([]);
    const content = await fetch(`${onS3.base}/v1/tasks/${id}/content`, { headers: onS3.t.auth });
    expect(content.status).toBe(404);

    expect(await s3.keys('vg/uploads/')).toHaveLength(1);
    // Uploads outlive their 72 h URL by an hour, so a task that started just before can still read them.
    expect(await onS3.t.app.uploads.sweep()).toBe(0);
    onS3.t.advanceClock(HOUR);
    expect(await onS3.t.app.uploads.sweep()).toBe(1);
    expect(await s3.keys('vg/uploads/')).toEqual([]);
  });
});
