import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { probe } from '../helpers/ffprobe.js';
import { startFakeApimart, type FakeApimart } from '../helpers/upstreams/fake-apimart.js';
import { createClient, VidgateError } from '../../src/sdk/index.js';

/**
 * The SDK against the recorded variants of the hosted service's shapes (the fake APIMart): submit
 * `data` as an array or an object, result `url` as an array or a string.
 */
const VARIANTS = [
  // A host of the seed's era: it ignores X-APIMart-Response-Version.
  { variant: 'array', urlVariant: 'array', speaksVersions: false },
  { variant: 'object', urlVariant: 'string', speaksVersions: false },
  // The current APIMart: it answers the version the SDK asks for.
  { variant: 'array', urlVariant: 'string', speaksVersions: true },
] as const;

describe.each(VARIANTS)(
  'SDK against an APIMart-compatible host (data $variant, url $urlVariant, versions $speaksVersions)',
  ({ variant, urlVariant, speaksVersions }) => {
    let fake: FakeApimart;
    let dir: string;
    const client = (options: { apiKey?: string; maxRetries?: number } = {}) => createClient({ baseURL: fake.baseUrl, apiKey: 'apimart-key', ...options });

    beforeAll(async () => {
      fake = await startFakeApimart({ variant, urlVariant, speaksVersions });
      dir = await mkdtemp(join(tmpdir(), 'vidgate-sdk-apimart-'));
    });
    afterEach(() => {
      fake.behaviour.submit = 'ok';
    });
    afterAll(async () => {
      await fake?.close();
      await rm(dir, { recursive: true, force: true });
    });

    it('generate → wait → download', async () => {
      const c = client();
      const submitted = await c.videos.generate({ model: 'doubao-seedance-2.0', prompt: 'A kitten yawning at the camera', generate_audio: true, size: '16:9' });
      expect(submitted).toEqual({ task_id: expect.stringMatching(/^task_/), status: 'submitted', replayed: false });
      // The SDK asks for the current answer shape; the fake answers in it, and the SDK reads it.
      expect(fake.submissions().at(-1)!.headers['x-apimart-response-version']).toBe('2026-07-27');
      expect(fake.submissions().at(-1)!.body).toMatchObject({ model: 'doubao-seedance-2.0', prompt: 'A kitten yawning at the camera', generate_audio: true });

      const statuses: string[] = [];
      const task = await c.tasks.wait(submitted.task_id, { pollInterval: 50, onProgress: (t) => statuses.push(t.status) });
      expect(statuses).toEqual(['pending', 'processing', 'completed']);
      expect(task).toMatchObject({ status: 'completed', progress: 100, result: { videos: [{ url: [`${fake.baseUrl}/files/${task.id}.mp4`] }] } });

      const file = await c.tasks.download(task.id, join(dir, `${variant}.mp4`));
      expect(file.source).toBe('result_url');
      expect(await probe(file.path)).toMatchObject({ width: 320, height: 180, hasAudio: true });
      // The API key never goes to the result host, even when it is the same server.
      const fileRequest = fake.requests.find((r) => r.route === 'file')!;
      expect(fileRequest.headers.authorization).toBeUndefined();
    });

    it('a failed task is returned with its error', async () => {
      const c = client();
      const { task_id } = await c.videos.generate({ model: 'seedance-2.0', prompt: 'flagged' });
      fake.fail(task_id);
      const task = await c.tasks.wait(task_id, { pollInterval: 50 });
      expect(task).toMatchObject({ status: 'failed', error: { code: 'content_policy_violation', type: 'invalid_request_error' } });
    });

    it('cancel', async () => {
      const c = client();
      const { task_id } = await c.videos.generate({ model: 'doubao-seedance-2.0-fast', prompt: 'cancel me', resolution: '480p' });
      expect(await c.tasks.cancel(task_id)).toMatchObject({ id: task_id, status: 'cancelled' });
      await expect(c.tasks.cancel(task_id)).rejects.toMatchObject({ status: 409, type: 'conflict_error' });
    });

    it('429 with Retry-After, and a lost answer: retried with the same Idempotency-Key', async () => {
      const c = client();
      const before = fake.submissions().length;
      fake.queue('submit', 'status:429', 'drop');
      const started = Date.now();
      const { task_id } = await c.videos.generate({ model: 'doubao-seedance-2.0', prompt: 'retried' });
      expect(Date.now() - started).toBeGreaterThanOrEqual(950); // Retry-After: 1
      const tries = fake.submissions().slice(before);
      expect(tries).toHaveLength(3);
      expect(new Set(tries.map((r) => r.headers['idempotency-key'])).size).toBe(1);
      expect(fake.task(task_id)).toBeDefined();
    });

    it('errors in the envelope become VidgateError', async () => {
      const err = await client({ apiKey: 'wrong' })
        .tasks.get('task_x')
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(VidgateError);
      expect(err).toMatchObject({ status: 401, type: 'authentication_error', message: 'Authentication failed, please check your API key' });
      await expect(client().tasks.get('task_missing')).rejects.toMatchObject({ status: 404, type: 'not_found_error' });
    });

    it('expired result files: the fallback to /content answers 404 and nothing is left on disk', async () => {
      const c = client();
      const { task_id } = await c.videos.generate({ model: 'doubao-seedance-2.0', prompt: 'expires' });
      fake.advance(task_id, 'completed');
      fake.expireFiles(task_id);
      const out = join(dir, 'expired', 'x.mp4');
      await expect(c.tasks.download(task_id, out)).rejects.toMatchObject({ status: 404 });
      expect(await readdir(join(dir, 'expired'))).toEqual([]);
    });
  },
);
