import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, TEST_KEY, type TestApp } from '../helpers/test-app.js';
import { probe } from '../helpers/ffprobe.js';
import { ffprobeBinary } from '../helpers/media-tools.js';
import { COMPLETED_TASK_FIELDS } from '../helpers/seed-cases.js';

/**
 * The seed's cURL example, run as written with the real `curl` against vidgate listening on
 * 127.0.0.1: only the host (https://api.apimart.ai → http://127.0.0.1:<port>) and the token change.
 * The dispatcher runs, so the task is rendered by the local renderer and the result is downloaded
 * from its signed URL and checked with ffprobe against README: Output.
 */

/** Verbatim from seed/seedance-2.0-generation.md, indentation included (the JSON body keeps it). */
const SEED_CURL = `  curl --request POST \\
    --url https://api.apimart.ai/v1/videos/generations \\
    --header 'Authorization: Bearer <token>' \\
    --header 'Content-Type: application/json' \\
    --data '{
      "model": "doubao-seedance-2.0",
      "prompt": "A kitten yawning at the camera",
      "resolution": "720p",
      "size": "16:9",
      "duration": 5,
      "generate_audio": true
    }'`;

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** The shared folder sits beside the repository, in development and in CI alike. */
const SEED_FILE = resolve(REPO_ROOT, '../shared/seed/seedance-2.0-generation.md');

/**
 * Splits a shell command into argv, for the subset of POSIX shell the seed's command uses:
 * whitespace, backslash-newline continuations and single quotes. Anything else is refused rather
 * than guessed at.
 */
function shellWords(command: string): string[] {
  const words: string[] = [];
  let word: string | null = null;
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    if (c === '\\' && command[i + 1] === '\n') {
      i++;
    } else if (c === ' ' || c === '\t' || c === '\n') {
      if (word !== null) words.push(word);
      word = null;
    } else if (c === "'") {
      const end = command.indexOf("'", i + 1);
      if (end < 0) throw new Error('unterminated single quote');
      word = (word ?? '') + command.slice(i + 1, end);
      i = end;
    } else if (/["\\$`]/.test(c)) {
      throw new Error(`shellWords does not handle ${c}`);
    } else {
      word = (word ?? '') + c;
    }
  }
  if (word !== null) words.push(word);
  return words;
}

let t: TestApp;
let base: string;
let work: string;
/** curl sees no proxy settings and no ~/.curlrc of whoever runs the tests. */
let curlEnv: NodeJS.ProcessEnv;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'vidgate-curl-'));
  curlEnv = { PATH: process.env.PATH, HOME: work, CURL_HOME: work, XDG_CONFIG_HOME: work };
  t = await startTestApp();
  await t.app.server.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(t.app.server.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await t?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

function curl(args: string[]): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    execFile('curl', args, { env: curlEnv, timeout: 30_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`curl ${args.join(' ')} failed: ${stderr || error.message}`));
      else resolvePromise(stdout);
    });
  });
}

/** An ordinary request with curl: body and status. `-q` first so that no .curlrc applies. */
async function curlJson(method: 'GET' | 'POST', url: string, body?: unknown): Promise<{ status: number; json: any }> {
  const args = ['-q', '-sS', '--request', method, '--url', url, '--header', `Authorization: Bearer ${TEST_KEY}`, '-w', '\n%{http_code}'];
  if (body !== undefined) args.push('--header', 'Content-Type: application/json', '--data', JSON.stringify(body));
  const out = await curl(args);
  const cut = out.lastIndexOf('\n');
  return { status: Number(out.slice(cut + 1)), json: JSON.parse(out.slice(0, cut)) };
}

/** Downloads with curl; returns the status line's code, the response headers and the saved file. */
async function curlDownload(url: string, file: string, headers: string[] = []): Promise<{ status: number; headers: Record<string, string> }> {
  const args = ['-q', '-sS', '--url', url, '-o', file, '-D', '-', ...headers.flatMap((h) => ['--header', h])];
  const head = await curl(args);
  const [statusLine, ...lines] = head.trim().split(/\r?\n/);
  const status = Number(/^HTTP\/[\d.]+ (\d{3})/.exec(statusLine ?? '')?.[1]);
  const parsed: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) parsed[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status, headers: parsed };
}

/** The codec type of every stream, in order: the shared probe() reports only the first of each kind. */
async function streamKinds(file: string): Promise<string[]> {
  const ffprobe = (await ffprobeBinary()).path;
  return new Promise((resolvePromise, reject) => {
    execFile(ffprobe, ['-v', 'error', '-show_entries', 'stream=codec_type', '-of', 'json', file], (error, stdout, stderr) =>
      error
        ? reject(new Error(`ffprobe failed: ${stderr || error.message}`))
        : resolvePromise((JSON.parse(stdout).streams as Array<{ codec_type: string }>).map((st) => st.codec_type)),
    );
  });
}

const nowUnix = () => Math.floor(Date.now() / 1000);

describe('the seed cURL example', () => {
  // Guards the copy above against drift wherever the shared folder is present (development and CI).
  it.skipIf(!existsSync(SEED_FILE))('is the command the seed shows', () => {
    expect(readFileSync(SEED_FILE, 'utf8')).toContain(SEED_CURL);
  });

  it('submits with curl as written, renders, and the result matches README: API and §5', async () => {
    const argv = shellWords(SEED_CURL).map((w) => w.replace('https://api.apimart.ai', base).replace('<token>', TEST_KEY));
    // The seed's arguments, apart from the two substitutions; the body keeps the seed's layout.
    expect(argv).toEqual([
      'curl',
      '--request',
      'POST',
      '--url',
      `${base}/v1/videos/generations`,
      '--header',
      `Authorization: Bearer ${TEST_KEY}`,
      '--header',
      'Content-Type: application/json',
      '--data',
      expect.stringMatching(/^\{\n {6}"model"/),
    ]);
    expect(JSON.parse(argv[10]!)).toEqual({
      model: 'doubao-seedance-2.0',
      prompt: 'A kitten yawning at the camera',
      resolution: '720p',
      size: '16:9',
      duration: 5,
      generate_audio: true,
    });
    const submittedAt = nowUnix();
    const submitted = JSON.parse(await curl(argv.slice(1)));
    expect(submitted).toEqual({ code: 200, data: [{ status: 'submitted', task_id: expect.stringMatching(/^task_[0-9A-HJKMNP-TV-Z]{26}$/) }] });
    const id: string = submitted.data[0].task_id;

    const settled = await t.settled(id);
    expect(settled.status, JSON.stringify(settled.error)).toBe('completed');

    const { status, json } = await curlJson('GET', `${base}/v1/tasks/${id}`);
    expect(status).toBe(200);
    expect(json.code).toBe(200);
    const task = json.data;
    // Completed without last frame: no error, no last_frame_url (README: API).
    expect(Object.keys(task).sort()).toEqual(COMPLETED_TASK_FIELDS);
    expect(task.credits_cost).toBe(task.cost);
    expect(task.id).toBe(id);
    expect(task.status).toBe('completed');
    expect(task.progress).toBe(100);
    expect(task.created).toBeGreaterThanOrEqual(submittedAt);
    expect(Number.isInteger(task.completed)).toBe(true);
    expect(task.completed).toBeGreaterThanOrEqual(task.created);
    expect(task.completed).toBeLessThanOrEqual(nowUnix());
    expect(Number.isInteger(task.actual_time)).toBe(true);
    expect(Math.abs(task.actual_time - (task.completed - task.created))).toBeLessThanOrEqual(1);
    expect(task.cost).toBe(0.71); // 0.142 USD/s × 5 s, 720p standard (README: Money)
    expect(Object.keys(task.result)).toEqual(['videos']);
    expect(task.result.videos).toHaveLength(1);
    const video = task.result.videos[0];
    expect(video.url).toEqual([expect.any(String)]);
    expect(video.url[0].startsWith(`${base}/`)).toBe(true); // served by vidgate itself
    expect(video.expires_at).toBe(task.completed + 72 * 3600); // default result TTL (README: Output)
    expect(Math.abs(video.expires_at - (nowUnix() + 72 * 3600))).toBeLessThanOrEqual(120);

    const file = join(work, 'seed.mp4');
    const download = await curlDownload(video.url[0], file);
    expect(download.status).toBe(200);
    expect(download.headers['content-type']).toMatch(/^video\/mp4/);
    const full = await readFile(file);
    expect(full.length).toBe(Number(download.headers['content-length']));

    expect((await streamKinds(file)).sort()).toEqual(['audio', 'video']);
    const info = await probe(file);
    expect(info).toMatchObject({ videoCodec: 'h264', pixFmt: 'yuv420p', width: 1248, height: 704, fps: 24, frames: 120 });
    expect(info).toMatchObject({ audioCodec: 'aac', audioChannels: 2 });
    expect(info.durationSec).toBeCloseTo(5, 1);

    const part = join(work, 'seed.part');
    const ranged = await curlDownload(video.url[0], part, ['Range: bytes=0-99']);
    expect(ranged.status).toBe(206);
    expect(ranged.headers['content-range']).toBe(`bytes 0-99/${full.length}`);
    const bytes = await readFile(part);
    expect(bytes.length).toBe(100);
    expect(bytes.equals(full.subarray(0, 100))).toBe(true);
  });

  it('returns a last frame PNG of the output size when return_last_frame is true', async () => {
    const submitted = await curlJson('POST', `${base}/v1/videos/generations`, {
      model: 'doubao-seedance-2.0',
      prompt: 'The kitten continues walking toward the camera',
      duration: 4,
      resolution: '480p',
      size: '9:16',
      return_last_frame: true,
    });
    expect(submitted.status).toBe(200);
    const id: string = submitted.json.data[0].task_id;
    expect((await t.settled(id)).status).toBe('completed');

    const { status, json } = await curlJson('GET', `${base}/v1/tasks/${id}`);
    expect(status).toBe(200);
    expect(json.data.cost).toBe(0.264); // 0.066 USD/s × 4 s, 480p standard
    const lastFrameUrl: unknown = json.data.result.last_frame_url;
    expect(typeof lastFrameUrl).toBe('string');
    expect((lastFrameUrl as string).startsWith(`${base}/`)).toBe(true);

    const png = join(work, 'last.png');
    const got = await curlDownload(lastFrameUrl as string, png);
    expect(got.status).toBe(200);
    expect(got.headers['content-type']).toMatch(/^image\/png/);
    const bytes = await readFile(png);
    expect([...bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(bytes.subarray(12, 16).toString('latin1')).toBe('IHDR');
    expect({ width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) }).toEqual({ width: 480, height: 864 });

    // The video beside it: same size, 24 × 4 frames, and no audio track (generate_audio is false).
    const mp4 = join(work, 'last.mp4');
    expect((await curlDownload(json.data.result.videos[0].url[0], mp4)).status).toBe(200);
    expect(await streamKinds(mp4)).toEqual(['video']);
    expect(await probe(mp4)).toMatchObject({ width: 480, height: 864, fps: 24, frames: 96 });
  });
});
