import { randomBytes } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetch, FormData } from 'undici';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { failureOf, input, MediaFiles, TestServer } from '../media/helpers.js';

const MB = 1024 * 1024;
const UPLOAD_URL = /^http:\/\/127\.0\.0\.1:\d+\/uploads\/[0-9A-HJKMNP-TV-Z]{26}\.(jpg|png|webp|gif)\?expires=\d+&signature=[\w-]+$/;

function multipart(parts: Array<{ field: string; filename?: string; type?: string; content: Buffer | string }>) {
  const boundary = `----vidgate${randomBytes(8).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const disposition = `form-data; name="${part.field}"${part.filename !== undefined ? `; filename="${part.filename}"` : ''}`;
    const head = `--${boundary}\r\nContent-Disposition: ${disposition}\r\n${part.type ? `Content-Type: ${part.type}\r\n` : ''}\r\n`;
    chunks.push(Buffer.from(head), Buffer.from(part.content), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(chunks), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

describe('POST /v1/uploads/images', () => {
  let t: TestApp;
  let files: MediaFiles;
  // Stands where VIDGATE_PUBLIC_URL points, and is allowed for media: a network fetch of an upload URL would show up here.
  let publicHost: TestServer;
  let jpeg: Buffer;
  let png: Buffer;

  const upload = (body: ReturnType<typeof multipart>, auth = true) =>
    t.app.server.inject({ method: 'POST', url: '/v1/uploads/images', headers: { ...(auth ? t.auth : {}), ...body.headers }, payload: body.payload });
  const uploadImage = async (content: Buffer, filename = 'cat.jpg') => {
    const res = await upload(multipart([{ field: 'file', filename, type: 'image/jpeg', content }]));
    expect(res.statusCode, res.body).toBe(200);
    return res.json() as { url: string; filename: string; content_type: string; bytes: number; created_at: number };
  };

  beforeAll(async () => {
    files = await MediaFiles.create();
    jpeg = await readFile(await files.image('cat.jpg', 1024, 576));
    png = await readFile(await files.image('small.png', 320, 320));
    publicHost = await TestServer.start();
    t = await startTestApp({ VIDGATE_PUBLIC_URL: publicHost.baseUrl, VIDGATE_MEDIA_ALLOW_HOSTS: '127.0.0.1' }, { runDispatcher: false });
  });

  afterAll(async () => {
    await t?.close();
    await publicHost?.close();
    await files?.remove();
  });

  it('stores an image and answers with a signed URL valid 72 h', async () => {
    const before = Math.floor(Date.now() / 1000);
    const body = await uploadImage(jpeg, 'holiday/cat.jpg');
    expect(body).toMatchObject({ filename: 'cat.jpg', content_type: 'image/jpeg', bytes: jpeg.length });
    expect(body.url).toMatch(UPLOAD_URL);
    expect(body.url.startsWith(`${publicHost.baseUrl}/uploads/`)).toBe(true);
    expect(body.created_at).toBeGreaterThanOrEqual(before);
    const expires = Number(new URL(body.url).searchParams.get('expires'));
    expect(expires - body.created_at).toBe(72 * 3600);

    const { pathname, search } = new URL(body.url);
    const download = await t.app.server.inject({ method: 'GET', url: `${pathname}${search}` });
    expect(download.statusCode).toBe(200);
    expect(download.headers['content-type']).toBe('image/jpeg');
    expect(download.rawPayload.equals(jpeg)).toBe(true);
    const stored = await readdir(join(t.dataDir, 'uploads'));
    expect(stored).toContain(pathname.split('/').pop());
  });

  it('sniffs the type from the bytes, not from the name or the declared type', async () => {
    const res = await upload(multipart([{ field: 'file', filename: 'photo.jpg', type: 'image/jpeg', content: png }]));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ content_type: 'image/png', filename: 'photo.jpg' });
    expect(res.json().url).toMatch(/\.png\?/);
  });

  it('hands an uploaded URL to MediaIntake as a local file, without any HTTP request', async () => {
    const { url } = await uploadImage(jpeg);
    const [prepared] = await t.app.media.prepare([input('image', url, 'image_urls[0]', 'first_frame')], { signal: new AbortController().signal });
    expect(prepared!.probe).toMatchObject({ format: 'jpeg', width: 1024, height: 576 });
    expect((await readFile(prepared!.path)).equals(jpeg)).toBe(true);
    expect(publicHost.requests).toEqual([]);
    expect(publicHost.connections).toBe(0);
  });

  it('refuses a tampered or expired upload URL as invalid_media', async () => {
    const { url } = await uploadImage(jpeg);
    const tampered = url.replace(/signature=(.)/, (_m, c: string) => `signature=${c === 'A' ? 'B' : 'A'}`);
    const otherName = url.replace(/\/uploads\/[0-9A-Z]{26}/, '/uploads/01ARZ3NDEKTSV4RRFFQ69G5FAV');
    const signal = new AbortController().signal;
    for (const bad of [tampered, otherName]) {
      const failure = await failureOf(t.app.media.prepare([input('image', bad, 'image_urls[0]')], { signal }));
      expect(failure).toEqual({
        code: 'invalid_media',
        params: { field: 'image_urls[0]', detail: 'the upload URL has an invalid signature (it was changed or not issued by this server)' },
      });
    }
    t.advanceClock(72 * 3600 * 1000 + 1000);
    try {
      const failure = await failureOf(t.app.media.prepare([input('image', url, 'image_urls[1]')], { signal }));
      expect(failure.code).toBe('invalid_media');
      expect(failure.params.field).toBe('image_urls[1]');
      expect(String(failure.params.detail)).toMatch(/^the upload URL expired at \d{4}-\d\d-\d\dT.*; upload the image again$/);
      const { pathname, search } = new URL(url);
      expect((await t.app.server.inject({ method: 'GET', url: `${pathname}${search}` })).statusCode).toBe(403);
    } finally {
      t.advanceClock(-(72 * 3600 * 1000 + 1000));
    }
    expect(publicHost.requests).toEqual([]);
  });

  it('accepts exactly 20 MB and answers 413 beyond it', async () => {
    const exactly = Buffer.concat([png, Buffer.alloc(20 * MB - png.length)]);
    const ok = await upload(multipart([{ field: 'file', filename: 'big.png', content: exactly }]));
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json().bytes).toBe(20 * MB);

    const overflowing = await upload(multipart([{ field: 'file', filename: 'big.png', content: Buffer.concat([exactly, Buffer.alloc(1)]) }]));
    expect(overflowing.statusCode).toBe(413);
    expect(overflowing.json()).toEqual({
      error: { code: 413, type: 'invalid_request_error', param: 'file', message: 'the file is larger than the 20 MB allowed for image uploads' },
    });

    // Declared far beyond the cap: refused before the body is read.
    const huge = await upload(multipart([{ field: 'file', filename: 'huge.png', content: Buffer.alloc(25 * MB) }]));
    expect(huge.statusCode).toBe(413);
    expect(huge.json().error.type).toBe('invalid_request_error');
    expect(await readdir(join(t.dataDir, 'uploads', '.tmp'))).toEqual([]);
  });

  it('answers 413 over a real connection too, and keeps serving', async () => {
    const address = await t.app.server.listen({ port: 0, host: '127.0.0.1' });
    const form = new FormData();
    form.append('file', new Blob([Buffer.concat([png, Buffer.alloc(21 * MB)])], { type: 'image/png' }), 'big.png');
    const res = await fetch(`${address}/v1/uploads/images`, { method: 'POST', headers: t.auth, body: form });
    const text = await res.clone().text();
    expect(res.status, text).toBe(413);
    expect(((await res.json()) as { error: { code: number } }).error.code).toBe(413);
    // Just over the cap, so the declared length passes and the stream is cut while it is read.
    const justOver = new FormData();
    justOver.append('file', new Blob([Buffer.concat([png, Buffer.alloc(20 * MB + 1 - png.length)])], { type: 'image/png' }), 'big.png');
    const streamed = await fetch(`${address}/v1/uploads/images`, { method: 'POST', headers: t.auth, body: justOver });
    expect(streamed.status).toBe(413);
    await streamed.body?.cancel();
    const health = await fetch(`${address}/healthz`);
    expect(health.status).toBe(200);
  });

  it('answers 400 naming the allowed types for a file that is not an image', async () => {
    const res = await upload(multipart([{ field: 'file', filename: 'notes.jpg', type: 'image/jpeg', content: 'just some text, not a picture' }]));
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 400, type: 'invalid_request_error', param: 'file' });
    expect(res.json().error.message).toBe('the file is not a recognised image (text or unknown bytes); upload a JPEG, PNG, WebP or GIF image');
  });

  it('answers 400 for other image types, a wrong field, no file and a non-multipart body', async () => {
    const bmp = await readFile(await files.image('pic.bmp', 320, 320));
    const asBmp = await upload(multipart([{ field: 'file', filename: 'pic.bmp', content: bmp }]));
    expect(asBmp.statusCode).toBe(400);
    expect(asBmp.json().error.message).toBe('the file is bmp (image/bmp); upload a JPEG, PNG, WebP or GIF image');

    const wrongField = await upload(multipart([{ field: 'image', filename: 'cat.jpg', content: jpeg }]));
    expect(wrongField.statusCode).toBe(400);
    expect(wrongField.json().error.message).toBe('the image must be in the multipart field "file", not "image"');

    const noFile = await upload(multipart([{ field: 'note', content: 'hello' }]));
    expect(noFile.statusCode).toBe(400);
    expect(noFile.json().error.message).toBe('no file was sent: put the image in the multipart field "file"');

    const json = await t.app.server.inject({ method: 'POST', url: '/v1/uploads/images', headers: t.auth, payload: { file: 'x' } });
    expect(json.statusCode).toBe(400);
    expect(json.json().error.message).toMatch(/^send the image as multipart\/form-data in the field "file"/);

    const broken = await t.app.server.inject({
      method: 'POST',
      url: '/v1/uploads/images',
      headers: { ...t.auth, 'content-type': 'multipart/form-data; boundary=xyz' },
      payload: '--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n\r\nunterminated',
    });
    expect(broken.statusCode).toBe(400);
  });

  it('answers 401 without an API key, before reading the body', async () => {
    const res = await upload(multipart([{ field: 'file', filename: 'cat.jpg', content: jpeg }]), false);
    expect(res.statusCode).toBe(401);
    expect(res.json().error.type).toBe('authentication_error');
  });

  it('leaves the JSON routes their own body limit', async () => {
    const res = await t.app.server.inject({
      method: 'POST',
      url: '/v1/videos/generations',
      headers: { ...t.auth, 'content-type': 'application/json' },
      payload: JSON.stringify({ model: 'doubao-seedance-2.0', prompt: 'x'.repeat(2 * MB) }),
    });
    expect(res.statusCode).toBe(413);
  });

  it('refuses an upload URL with a bad signature on its own host with 403', async () => {
    const { url } = await uploadImage(jpeg);
    const { pathname } = new URL(url);
    const res = await t.app.server.inject({ method: 'GET', url: `${pathname}?expires=9999999999&signature=abc` });
    expect(res.statusCode).toBe(403);
    expect((await t.app.server.inject({ method: 'GET', url: '/uploads/..%2F..%2Fvidgate.db?expires=1&signature=x' })).statusCode).toBe(403);
  });
});
