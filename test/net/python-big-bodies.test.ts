import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPythonFileServer, type PythonFileServer } from '../helpers/foreign/python-http.js';
import { ffmpegBinary } from '../helpers/media-tools.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';

/**
 * The original crash report of nodejs/undici#5360: several tasks at once fetching a ~10 MB image
 * from Python's http.server in its default HTTP/1.0, which sends the whole file and closes at once
 * while vidgate is still writing earlier chunks to disk (backpressure). Unpatched undici killed the
 * process with an uncatchable assertion, so this runs a real `vidgate serve` process: a crash is an
 * exit seen here, not a dead test worker.
 */

const KEY = 'sk-python-big-bodies';
/** Tasks submitted at once, each with a first and a last frame: 16 downloads of 10 MB in parallel. */
const TASKS = 8;
const run = promisify(execFile);

let media: string;
let dataDir: string;
let python: PythonFileServer;
let server: ServerProcess;

beforeAll(async () => {
  [media, dataDir] = await Promise.all([mkdtemp(join(tmpdir(), 'vidgate-big-media-')), mkdtemp(join(tmpdir(), 'vidgate-big-data-'))]);
  // Random pixels do not compress: a 2048×1640 PNG of ~10 MB, within every image rule of README: Media.
  await run((await ffmpegBinary()).path, [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-f',
    'rawvideo',
    '-pix_fmt',
    'rgb24',
    '-s',
    '2048x1640',
    '-i',
    '/dev/urandom',
    '-frames:v',
    '1',
    join(media, 'big.png'),
  ]);
  python = await startPythonFileServer({ dir: media, protocol: 'HTTP/1.0' });
  server = await startServerProcess({
    VIDGATE_DATA_DIR: dataDir,
    VIDGATE_BOOTSTRAP_KEY: KEY,
    VIDGATE_MEDIA_ALLOW_HOSTS: '127.0.0.1',
    // Every task runs, and so downloads, at the same time.
    VIDGATE_LOCAL_CONCURRENCY: String(TASKS),
  });
});

afterAll(async () => {
  if (server && server.child.exitCode === null) {
    server.child.kill('SIGKILL');
    await server.exited;
  }
  await python?.close();
  await Promise.all([media, dataDir].map((d) => d && rm(d, { recursive: true, force: true })));
});

describe("several tasks at once fetch a 10 MB image from Python's http.server in HTTP/1.0", () => {
  // Against undici without patches/undici+7.30.2.patch, this killed the server in 5 runs of 6.
  it(`all ${TASKS} (two images each) complete, each image its own download, and both processes live on`, { timeout: 120_000 }, async () => {
    const headers = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };
    // A query per image: one URL named twice would be downloaded once and shared.
    const url = (n: number, frame: string) => python.url(`big.png?task=${n}&frame=${frame}`);
    const submit = async (n: number) => {
      const body = {
        model: 'doubao-seedance-2.0',
        prompt: `noise ${n}`,
        image_with_roles: [
          { url: url(n, 'first'), role: 'first_frame' },
          { url: url(n, 'last'), role: 'last_frame' },
        ],
        resolution: '480p',
        duration: 4,
      };
      const res = await fetch(`${server.baseUrl}/v1/videos/generations`, { method: 'POST', headers, body: JSON.stringify(body) });
      expect(res.status).toBe(200);
      return ((await res.json()) as { data: Array<{ task_id: string }> }).data[0]!.task_id;
    };
    const ids = await Promise.all(Array.from({ length: TASKS }, (_, n) => submit(n)));
    await Promise.all(ids.map((id) => server.waitForLog((l) => l.task === id && (l.msg === 'task completed' || l.msg === 'task failed'))));

    for (const id of ids) {
      const res = await fetch(`${server.baseUrl}/v1/tasks/${id}`, { headers });
      const { data } = (await res.json()) as { data: { status: string; error?: unknown } };
      expect(data.status, JSON.stringify(data.error)).toBe('completed');
    }
    const expected = ids.flatMap((_, n) => ['first', 'last'].map((frame) => `${new URL(url(n, frame)).pathname}${new URL(url(n, frame)).search} 200`));
    expect(python.requests.map((r) => `${r.path} ${r.status}`).sort()).toEqual(expected.sort());
    expect(python.errors).toEqual([]);
    expect(python.alive()).toBe(true);
    expect(server.child.exitCode).toBeNull();
    expect((await fetch(`${server.baseUrl}/healthz`)).status).toBe(200);
  });
});
