import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES } from '../helpers/fixture-server.js';
import { PYTHON_PROTOCOLS, startPythonFileServer, type PythonFileServer, type PythonProtocol } from '../helpers/foreign/python-http.js';
import { COMPLETED_TASK_FIELDS, SEED_CASES, seedCase } from '../helpers/seed-cases.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import type { TaskRecord } from '../../src/store/types.js';

/**
 * The 13 seed use cases end to end on the local provider, every media file (and every asset under
 * review) fetched from Python's http.server, a peer we did not write: in its default HTTP/1.0, which
 * ends each body by closing the connection, and in HTTP/1.1 with keep-alive. The fixture files are
 * made once and served by both; all 26 tasks are submitted at once so the renders keep both cores
 * busy and the fetches overlap. Behaviour switches (redirects, errors, trickles) stay with the Node
 * fixture servers of the other suites.
 */

let t: TestApp;
let dir: string;
const servers = {} as Record<PythonProtocol, PythonFileServer>;
/** sha256 of each fixture file, by name. */
const digests = new Map<string, string>();
const outcomes = new Map<string, Promise<TaskRecord>>();
const key = (protocol: PythonProtocol, n: number) => `${protocol} case ${n}`;

/** The media URLs a body names (asset:// references excluded). */
function mediaUrls(body: Record<string, unknown>): string[] {
  const urls = [
    ...((body.image_urls as string[] | undefined) ?? []),
    ...((body.image_with_roles as Array<{ url: string }> | undefined) ?? []).map((i) => i.url),
    ...((body.video_urls as string[] | undefined) ?? []),
    ...((body.audio_urls as string[] | undefined) ?? []),
  ];
  return urls.filter((u) => !u.startsWith('asset://'));
}

/** Approves one asset of each kind through the review flow, its file fetched from `server`. */
async function reviewAssets(server: PythonFileServer): Promise<{ image: string; video: string }> {
  const review = async (assetType: 'Image' | 'Video', file: string) => {
    const res = await t.app.server.inject({
      method: 'POST',
      url: '/v1/seedance2/private-avatar',
      headers: t.auth,
      payload: { group: { name: `cast ${server.protocol}` }, asset_type: assetType, url: server.url(file), name: file },
    });
    expect(res.statusCode, res.body).toBe(200);
    return res.json().data.id as string;
  };
  const ids = [await review('Image', 'cat.jpg'), await review('Video', 'dance_reference.mp4')];
  await t.app.assets.whenIdle();
  const [image, video] = await Promise.all(
    ids.map(async (id) => {
      const view = (await t.app.server.inject({ method: 'GET', url: `/v1/tasks/${id}`, headers: t.auth })).json().data;
      expect(view.status, JSON.stringify(view)).toBe('completed');
      return view.result.usable_assets[0].asset_id as string;
    }),
  );
  return { image: image!, video: video! };
}

/** The seed's body with its media on `server` and asset_a the approved asset of the slot's kind. */
function body(n: number, server: PythonFileServer, assets: { image: string; video: string }): Record<string, unknown> {
  const b = seedCase(n, server.baseUrl);
  const swap = (urls: string[], id: string) => urls.map((u) => (u === 'asset://asset_a' ? `asset://${id}` : u));
  if (b.image_urls) b.image_urls = swap(b.image_urls as string[], assets.image);
  if (b.video_urls) b.video_urls = swap(b.video_urls as string[], assets.video);
  if (b.image_with_roles) {
    b.image_with_roles = (b.image_with_roles as Array<{ url: string; role: string }>).map((i) => ({ ...i, url: swap([i.url], assets.image)[0] }));
  }
  return b;
}

const bodies = new Map<string, Record<string, unknown>>();
/** Each media host's cases are also submitted in one of the two answer versions (README: Answer versions). */
const VERSION: Record<PythonProtocol, string | null> = { 'HTTP/1.0': null, 'HTTP/1.1': '2026-07-27' };
const TASK_ID = /^task_[0-9A-HJKMNP-TV-Z]{26}$/;

/** Submits as a client of that version would, checks the answer's shape, and returns the task id. */
async function submitAs(version: string | null, b: Record<string, unknown>): Promise<string> {
  const res = await t.app.server.inject({
    method: 'POST',
    url: '/v1/videos/generations',
    headers: { ...t.auth, 'content-type': 'application/json', ...(version ? { 'x-apimart-response-version': version } : {}) },
    payload: JSON.stringify(b),
  });
  expect(res.statusCode, res.body).toBe(200);
  const answer = res.json();
  if (version === null) {
    // The seed's shape, byte for byte.
    expect(res.body).toBe(`{"code":200,"data":[{"status":"submitted","task_id":"${answer.data[0].task_id}"}]}`);
    expect(res.headers['x-apimart-response-version']).toBeUndefined();
    return answer.data[0].task_id;
  }
  expect(answer).toEqual({
    code: 200,
    data: { id: expect.stringMatching(TASK_ID), object: 'generation.task', status: 'pending' },
    request_id: res.headers['x-request-id'],
  });
  expect(res.headers['x-apimart-response-version']).toBe(version);
  return answer.data.id;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vidgate-python-fixtures-'));
  await Promise.all(FIXTURES.map((f) => f.make(join(dir, f.name))));
  for (const f of FIXTURES)
    digests.set(
      f.name,
      createHash('sha256')
        .update(await readFile(join(dir, f.name)))
        .digest('hex'),
    );
  for (const protocol of PYTHON_PROTOCOLS) servers[protocol] = await startPythonFileServer({ dir, protocol });
  // All 26 tasks are in flight at once, above the default per-key limit of 20.
  t = await startTestApp({ VIDGATE_MEDIA_ALLOW_HOSTS: '127.0.0.1', VIDGATE_DEFAULT_IN_FLIGHT: '100' });
  for (const protocol of PYTHON_PROTOCOLS) {
    const assets = await reviewAssets(servers[protocol]);
    for (const n of Object.keys(SEED_CASES).map(Number)) bodies.set(key(protocol, n), body(n, servers[protocol], assets));
  }
  // Everything at once; each test then waits for its own task.
  for (const [name, b] of bodies) {
    const outcome = submitAs(VERSION[name.startsWith('HTTP/1.0') ? 'HTTP/1.0' : 'HTTP/1.1'], b).then((id) => t.settled(id));
    outcome.catch(() => undefined);
    outcomes.set(name, outcome);
  }
}, 120_000);

afterAll(async () => {
  await t?.close();
  for (const server of Object.values(servers)) await server.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.each(PYTHON_PROTOCOLS)("the seed use cases with media from Python's http.server in %s, submitted and polled in one answer version", (protocol) => {
  it.each(Object.keys(SEED_CASES).map(Number))('case %i completes, with its media fetched whole from Python', { timeout: 120_000 }, async (n) => {
    const task = await outcomes.get(key(protocol, n))!;
    expect(task.status, JSON.stringify(task.error)).toBe('completed');
    expect((await stat(join(t.dataDir, 'results', task.result!.video.key))).size).toBe(task.result!.video.bytes);
    if (SEED_CASES[n]!.return_last_frame) expect(task.result!.lastFrame).toMatchObject({ contentType: 'image/png' });

    // The task as a client of this version polls it: the same shape in both versions (README: API).
    const version = VERSION[protocol];
    const got = await t.app.server.inject({
      method: 'GET',
      url: `/v1/tasks/${task.id}`,
      headers: { ...t.auth, ...(version ? { 'x-apimart-response-version': version } : {}) },
    });
    expect(got.headers['x-apimart-response-version']).toBe(version ?? undefined);
    const { code, data } = got.json();
    expect(code).toBe(200);
    const wantsFrame = SEED_CASES[n]!.return_last_frame === true;
    expect(Object.keys(data).sort()).toEqual(COMPLETED_TASK_FIELDS);
    expect(data).toMatchObject({ id: task.id, status: 'completed', progress: 100, cost: task.costMicros / 1e6, credits_cost: task.costMicros / 1e6 });
    expect(data.created).toBe(Math.floor(task.createdAt / 1000));
    expect(data.completed).toBe(Math.floor(task.finishedAt! / 1000));
    expect(data.actual_time).toBe(Math.max(0, Math.round((task.finishedAt! - task.createdAt) / 1000)));
    expect(Object.keys(data.result).sort()).toEqual(wantsFrame ? ['last_frame_url', 'videos'] : ['videos']);
    expect(data.result.videos).toEqual([
      { url: [expect.stringMatching(new RegExp(`/${task.id}\\.mp4$`))], expires_at: Math.floor(task.result!.expiresAt / 1000) },
    ]);
    if (wantsFrame) expect(data.result.last_frame_url).toMatch(new RegExp(`/${task.id}_last_frame\\.png$`));
    // Downloaded the way APIMart clients do: by the URL, saved under its last segment.
    const url = new URL(data.result.videos[0].url[0]);
    expect(url.pathname.split('/').pop()).toBe(`${task.id}.mp4`);
    const file = await t.app.server.inject({ method: 'GET', url: url.pathname });
    expect(file.statusCode).toBe(200);
    expect(file.rawPayload.length).toBe(task.result!.video.bytes);

    const server = servers[protocol];
    // The intake keeps each download under the sha256 of its bytes: the very bytes Python served.
    const cached = new Set((await readdir(join(t.dataDir, 'media'))).map((name) => name.split('.')[0]));
    for (const url of mediaUrls(bodies.get(key(protocol, n))!)) {
      const path = new URL(url).pathname;
      expect(server.requests, path).toContainEqual({ method: 'GET', path, version: 'HTTP/1.1', status: 200 });
      expect(cached.has(digests.get(path.slice(1))!), `${path} cached whole`).toBe(true);
    }
  });

  it('Python logged no failed request and no broken connection, and still runs', () => {
    const server = servers[protocol];
    expect(server.requests.filter((r) => r.status !== 200)).toEqual([]);
    expect(server.errors).toEqual([]);
    expect(server.alive()).toBe(true);
  });
});
