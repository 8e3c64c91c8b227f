import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { blackRows, craftedPng, writeLargestDeepPng } from '../media/crafted-png.js';
import { MediaFiles } from '../media/helpers.js';

/**
 * POST /v1/uploads/images refuses, with a 400 in the error envelope, images a task would refuse:
 * sizes outside the media rules (read from the header, before anything decodes the file) and files
 * that do not decode completely. Every file here is real: made by ffmpeg, cut short, or a PNG
 * written byte by byte.
 */

const SIDES_RULE = 'each side of an image must be 300–6000 px';
const UNDECODABLE = 'the file is damaged or truncated: its picture could not be decoded; upload a complete JPEG, PNG, WebP or GIF image';
const NO_HEADER_SIZE =
  'the width and height could not be read from the image header (the file is damaged, truncated or not a complete image); upload a complete JPEG, PNG, WebP or GIF image';

function multipart(filename: string, content: Buffer) {
  const boundary = `----vidgate${randomBytes(8).toString('hex')}`;
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`;
  return {
    payload: Buffer.concat([Buffer.from(head), content, Buffer.from(`\r\n--${boundary}--\r\n`)]),
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
  };
}

describe('upload image checks', () => {
  let t: TestApp;
  let files: MediaFiles;
  const made = new Map<string, Buffer>();

  const upload = (filename: string, content: Buffer) => {
    const body = multipart(filename, content);
    return t.app.server.inject({ method: 'POST', url: '/v1/uploads/images', headers: { ...t.auth, ...body.headers }, payload: body.payload });
  };
  const refusal = (message: string) => ({ error: { code: 400, message, type: 'invalid_request_error', param: 'file' } });

  beforeAll(async () => {
    files = await MediaFiles.create();
    for (const name of ['photo.jpg', 'photo.png', 'photo.webp', 'photo.gif']) made.set(name, await readFile(await files.image(name, 640, 480)));
    t = await startTestApp({}, { runDispatcher: false });
  }, 60_000);

  afterAll(async () => {
    await t?.close();
    await files?.remove();
  });

  it.each(['photo.jpg', 'photo.png', 'photo.webp', 'photo.gif'])('accepts a whole %s', async (name) => {
    const res = await upload(name, made.get(name)!);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().bytes).toBe(made.get(name)!.length);
  });

  it.each([
    ['png', 'photo.png'],
    ['jpeg', 'photo.jpg'],
  ])('refuses a truncated %s as damaged', async (_kind, name) => {
    const whole = made.get(name)!;
    const res = await upload(name, whole.subarray(0, Math.floor(whole.length / 2)));
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual(refusal(UNDECODABLE));
  });

  it('refuses a PNG whose header claims 60000×60000 by its header', async () => {
    const res = await upload('huge.png', craftedPng({ width: 60000, height: 60000, idat: blackRows(60000, 2) }));
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual(refusal(`the image is 60000×60000 px; ${SIDES_RULE}`));
  });

  it('refuses a 1.5 MB PNG that would decode to 1.5 GB (16000×16000 at 16 bits) by its header', async () => {
    const res = await upload('bomb.png', craftedPng({ width: 16000, height: 16000, bitDepth: 16, idat: blackRows(16000, 2, 16) }));
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual(refusal(`the image is 16000×16000 px; ${SIDES_RULE}`));
  });

  it('refuses a header without image data as damaged', async () => {
    const res = await upload('empty.png', craftedPng({ width: 800, height: 800 }));
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual(refusal(UNDECODABLE));
  });

  it('refuses a 0×0 image', async () => {
    const res = await upload('zero.png', craftedPng({ width: 0, height: 0, idat: blackRows(0, 0) }));
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual(refusal(`the image is 0×0 px; ${SIDES_RULE}`));
  });

  it('refuses a file cut inside its header', async () => {
    const res = await upload('cut.png', made.get('photo.png')!.subarray(0, 20));
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual(refusal(NO_HEADER_SIZE));
  });

  it('refuses sizes and shapes the media rules do not allow', async () => {
    const small = await upload('small.png', await readFile(await files.image('small.png', 200, 200)));
    expect(small.json()).toEqual(refusal(`the image is 200×200 px; ${SIDES_RULE}`));
    const wide = await upload('wide.jpg', await readFile(await files.image('wide.jpg', 1500, 500)));
    expect(wide.json()).toEqual(refusal('the image has an aspect ratio of 3.00 (1500×500); images must have a width ÷ height of 0.4–2.5'));
  });

  it('accepts the largest legal image, 6000×6000 at 16 bits, and leaves no temporary file of the refused ones', async () => {
    const deep = join(files.dir, 'deep.png');
    await writeLargestDeepPng(deep);
    const res = await upload('deep.png', await readFile(deep));
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().content_type).toBe('image/png');
    expect(await readdir(join(t.dataDir, 'uploads', '.tmp'))).toEqual([]);
  }, 30_000);
});
