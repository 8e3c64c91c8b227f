import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestApp, TEST_KEY } from '../helpers/test-app.js';
import { createAccountWithKey, hashApiKey } from '../../src/auth/keys.js';
import { parseFileConfig } from '../../src/config/file.js';
import { startFixtureServer, type FixtureServer } from '../helpers/fixture-server.js';
import { SEED_CASES, seedCase } from '../helpers/seed-cases.js';
import { startFakeFal, type FakeFal, type FakeFalOptions } from '../helpers/upstreams/fake-fal.js';
import { channelGateway, FAST_POLLING, LOCAL_CHANNEL, ledgerKinds, taskView, upstreamIdOf, type Cleanups } from '../helpers/upstreams/channel-gateway.js';

/**
 * A `fal` channel against the fake fal queue (test/helpers/upstreams/fake-fal.ts): the queue submit
 * checked field by field against fal's Seedance 2.0 input schemas (README: Configuration `fal`),
 * status mapping, cancel, result copy, misbehaviour, and routing around what fal cannot do.
 */

const cleanups: Cleanups = [];
afterEach(async () => {
  for (const clean of cleanups.splice(0).reverse()) await clean();
});

async function fakeFal(options: FakeFalOptions = {}): Promise<FakeFal> {
  const fal = await startFakeFal({ keys: ['fal-key-1', 'fal-key-2'], ...options });
  cleanups.push(() => fal.close());
  return fal;
}

async function fixtures(): Promise<FixtureServer> {
  const fx = await startFixtureServer();
  cleanups.push(() => fx.close());
  return fx;
}

const falChannel = (fal: FakeFal, extra = '') => `  - name: fal
    provider: fal
    base_url: ${fal.baseUrl}
    api_keys: [fal-key-1, fal-key-2]
    models:
      doubao-seedance-2.0: bytedance/seedance-2.0
      doubao-seedance-2.0-fast: bytedance/seedance-2.0/fast
    priority: 10
    ${FAST_POLLING}
${extra}`;

const CASE_1 = SEED_CASES[1]!;
/** Quick to render locally, where a task goes when fal does not take it. */
const SMALL = { model: 'doubao-seedance-2.0', prompt: 'A kite over the dunes', resolution: '480p', duration: 4 };

const onlyRequest = (fal: FakeFal) => {
  const [request] = fal.requestsMade();
  if (!request) throw new Error('fal received no request');
  return request;
};

describe('fal channel', () => {
  it('seed case 1: queues the text-to-video request field by field, polls its status, copies and serves the result', async () => {
    const fal = await fakeFal();
    const t = await channelGateway(cleanups, falChannel(fal) + LOCAL_CHANNEL);
    const id = await t.submit(CASE_1);
    const done = await t.settled(id);
    expect(done, JSON.stringify(done.error)).toMatchObject({ status: 'completed', provider: 'fal' });

    const [submission] = fal.submissions();
    expect(submission!.method).toBe('POST');
    expect(submission!.path).toBe('/bytedance/seedance-2.0/text-to-video');
    expect(submission!.headers.authorization).toMatch(/^Key fal-key-[12]$/);
    expect(submission!.body).toEqual({
      prompt: 'A kitten yawning at the camera',
      resolution: '720p',
      duration: '5',
      aspect_ratio: '16:9',
      generate_audio: true,
      seed: 42,
    });
    const request = onlyRequest(fal);
    expect(await upstreamIdOf(t, id)).toBe(`bytedance/seedance-2.0/requests/${request.id}`);
    // Status and result live under the app id, with the key that made the request.
    const reads = fal.requests.filter((r) => r.route === 'status' || r.route === 'result');
    expect(new Set(reads.map((r) => `${r.method} ${r.path}`))).toEqual(
      new Set([`GET /bytedance/seedance-2.0/requests/${request.id}/status`, `GET /bytedance/seedance-2.0/requests/${request.id}`]),
    );
    expect(new Set(reads.map((r) => r.headers.authorization))).toEqual(new Set([`Key ${request.key}`]));

    const ours = await readFile(join(t.dataDir, 'results', done.result!.video.key));
    const theirs = Buffer.from(await (await fetch(`${fal.origin}/files/${request.id}.mp4`)).arrayBuffer());
    expect(ours.equals(theirs)).toBe(true);
    const content = await t.app.server.inject({ method: 'GET', url: `/v1/tasks/${id}/content`, headers: t.auth });
    expect(content.statusCode).toBe(200);
    expect(content.rawPayload.equals(theirs)).toBe(true);
    const view = await taskView(t, id);
    expect(view.result.videos[0].url[0]).toMatch(/^http:\/\/localhost(:\d+)?\/files\//);
  });

  it('maps each mode to its endpoint: first frame, first + last frame, references, and the fast tier', async () => {
    const fal = await fakeFal();
    const fx = await fixtures();
    const t = await channelGateway(cleanups, falChannel(fal));
    const cases: Array<[Record<string, unknown>, string, (seed: number) => Record<string, unknown>]> = [
      [
        seedCase(2, fx.baseUrl),
        '/bytedance/seedance-2.0/image-to-video',
        (seed) => ({
          prompt: 'The kitten stands up and walks toward the camera',
          image_url: fx.url('cat.jpg'),
          resolution: '720p',
          duration: '5',
          aspect_ratio: '16:9',
          generate_audio: false,
          seed,
        }),
      ],
      [
        seedCase(3, fx.baseUrl),
        '/bytedance/seedance-2.0/image-to-video',
        (seed) => ({
          prompt: 'Transition from day to night',
          image_url: fx.url('day.jpg'),
          end_image_url: fx.url('night.jpg'),
          resolution: '720p',
          duration: '5',
          aspect_ratio: '16:9',
          generate_audio: false,
          seed,
        }),
      ],
      [
        { ...seedCase(9, fx.baseUrl), duration: 6 },
        '/bytedance/seedance-2.0/reference-to-video',
        (seed) => ({
          prompt: SEED_CASES[9]!.prompt,
          image_urls: [fx.url('tea_pic1.jpg'), fx.url('tea_pic2.jpg')],
          video_urls: [fx.url('tea_video1.mp4')],
          audio_urls: [fx.url('tea_audio1.mp3')],
          resolution: '720p',
          duration: '6',
          aspect_ratio: '16:9',
          generate_audio: true,
          seed,
        }),
      ],
      [
        { model: 'doubao-seedance-2.0-fast', prompt: 'City nightscape timelapse photography', size: 'adaptive', resolution: '480p', duration: 12, seed: 7 },
        '/bytedance/seedance-2.0/fast/text-to-video',
        () => ({ prompt: 'City nightscape timelapse photography', resolution: '480p', duration: '12', aspect_ratio: 'auto', generate_audio: false, seed: 7 }),
      ],
    ];
    for (const [body, path, expected] of cases) {
      const id = await t.submit(body);
      const done = await t.settled(id);
      expect(done, JSON.stringify(done.error)).toMatchObject({ status: 'completed', provider: 'fal' });
      const submission = fal.submissions().at(-1)!;
      expect(submission.path).toBe(path);
      expect(submission.body).toEqual(expected(done.seed));
    }
    // The fast tier's status lives under the app id too, without the endpoint's subpath.
    const fast = fal.requestsMade().at(-1)!;
    expect(fast.endpoint).toBe('bytedance/seedance-2.0/fast/text-to-video');
    expect(fal.requests.some((r) => r.route === 'status' && r.path === `/bytedance/seedance-2.0/requests/${fast.id}/status`)).toBe(true);
    expect(fal.requests.filter((r) => r.route === null)).toEqual([]);
  });

  it('without URLs in the submit answer, status and result are asked under the app id, leaving the subpath out', async () => {
    const fal = await fakeFal({ answerUrls: false });
    const t = await channelGateway(cleanups, falChannel(fal));
    const id = await t.submit({ ...SMALL, model: 'doubao-seedance-2.0-fast' });
    expect(await t.settled(id)).toMatchObject({ status: 'completed' });
    const request = onlyRequest(fal);
    expect(fal.submissions()[0]!.path).toBe('/bytedance/seedance-2.0/fast/text-to-video');
    expect(await upstreamIdOf(t, id)).toBe(`bytedance/seedance-2.0/requests/${request.id}`);
    expect(fal.requests.filter((r) => r.route === null)).toEqual([]);
  });

  it('maps fal statuses: IN_QUEUE → pending, IN_PROGRESS → processing with progress, COMPLETED → completed', async () => {
    const fal = await fakeFal({ lifecycle: { inQueue: Infinity } });
    const t = await channelGateway(cleanups, falChannel(fal));
    const id = await t.submit(CASE_1);
    await expect.poll(() => fal.requests.filter((r) => r.route === 'status').length).toBeGreaterThan(1);
    expect(await taskView(t, id)).toMatchObject({ status: 'pending', progress: 0 });

    const request = onlyRequest(fal);
    fal.advance(request.id, 'IN_PROGRESS');
    await expect.poll(async () => (await taskView(t, id)).status).toBe('processing');
    await expect.poll(async () => (await taskView(t, id)).progress).toBeGreaterThan(0);

    fal.advance(request.id, 'COMPLETED');
    expect(await t.settled(id)).toMatchObject({ status: 'completed' });
    expect(await taskView(t, id)).toMatchObject({ status: 'completed', progress: 100 });
  });

  it('cancelling a vidgate task cancels the fal request (PUT …/cancel), refunded', async () => {
    const fal = await fakeFal({ lifecycle: { inQueue: Infinity } });
    const t = await channelGateway(cleanups, falChannel(fal));
    const id = await t.submit(CASE_1);
    await upstreamIdOf(t, id);
    const res = await t.app.server.inject({ method: 'POST', url: `/v1/tasks/${id}/cancel`, headers: t.auth });
    expect(res.json().data.status).toBe('cancelled');
    await expect.poll(() => onlyRequest(fal).outcome).toBe('cancelled');
    const request = onlyRequest(fal);
    const [cancel] = fal.requests.filter((r) => r.route === 'cancel');
    expect(cancel).toMatchObject({ method: 'PUT', path: `/bytedance/seedance-2.0/requests/${request.id}/cancel` });
    expect(cancel!.headers.authorization).toBe(`Key ${request.key}`);
    expect(await ledgerKinds(t, (await t.app.store.getTask(id))!)).toEqual(['refund', 'reserve']);
  });

  it("a request that fails at fal fails the task with fal's own reason, refunded", async () => {
    const fal = await fakeFal({ lifecycle: { end: 'failed' } });
    const t = await channelGateway(cleanups, falChannel(fal));
    const customer = await createAccountWithKey(t.app.store, { name: 'c', balanceUsd: 5 });
    const headers = { authorization: `Bearer ${customer.secret}` };
    const res = await t.app.server.inject({ method: 'POST', url: '/v1/videos/generations', headers, payload: CASE_1 });
    const id = res.json().data[0].task_id;
    expect(await t.settled(id)).toMatchObject({ status: 'failed', error: { code: 'provider_error' } });
    expect((await taskView(t, id, headers)).error.message).toMatch(/content_policy_violation: prompt: The content could not be processed/);
    expect((await t.app.store.getAccount(customer.key.accountId))!.balanceMicros).toBe(5_000_000);
  });

  it.each(['status:503', 'status:429', 'status:500', 'reset', 'malformed', 'timeout'] as const)(
    'fails over to the next channel when the queue submit answers %s, charged once',
    async (behaviour) => {
      const fal = await fakeFal({ behaviour: { submit: behaviour } });
      const t = await channelGateway(cleanups, falChannel(fal, '    request_timeout_seconds: 0.5\n') + LOCAL_CHANNEL);
      const id = await t.submit(SMALL);
      const task = await t.settled(id);
      expect(task, JSON.stringify(task.error)).toMatchObject({ status: 'completed', provider: 'sandbox', providerState: { tried: ['fal'] } });
      expect(await ledgerKinds(t, task)).toEqual(['reserve']);
      expect(fal.requestsMade()).toHaveLength(0);
    },
  );

  it("a 4xx at submit fails the task with fal's reason and tries no other channel", async () => {
    const fal = await fakeFal();
    fal.queue('submit', 'status:422');
    const t = await channelGateway(cleanups, falChannel(fal) + LOCAL_CHANNEL);
    const task = await t.settled(await t.submit(SMALL));
    expect(task).toMatchObject({ status: 'failed', provider: 'fal', error: { code: 'provider_error' } });
    expect(String(task.error!.params.detail)).toBe('http_422: Fake fal answered 422 as told.');
    expect(await ledgerKinds(t, task)).toEqual(['refund', 'reserve']);
  });

  it('rides out failed and slow status and result calls, but gives up after max_poll_errors', async () => {
    const fal = await fakeFal();
    fal.queue('status', 'status:500', 'malformed', 'reset', 'slow:200');
    fal.queue('result', 'status:503', 'slow:200');
    const t = await channelGateway(cleanups, falChannel(fal, '    max_poll_errors: 4\n'));
    expect(await t.settled(await t.submit(SMALL))).toMatchObject({ status: 'completed' });

    fal.behaviour.status = 'status:502';
    const broken = await t.settled(await t.submit(SMALL));
    expect(broken).toMatchObject({ status: 'failed', error: { code: 'provider_error' } });
    expect(String(broken.error!.params.detail)).toMatch(/lost contact with the upstream after 4 failed polls: Fake fal answered 502/);
    expect(await ledgerKinds(t, broken)).toEqual(['refund', 'reserve']);
  });

  it('a status call that hangs is given up at request_timeout_seconds and asked again', async () => {
    const fal = await fakeFal();
    fal.queue('status', 'timeout');
    const t = await channelGateway(cleanups, falChannel(fal, '    request_timeout_seconds: 0.3\n'));
    expect(await t.settled(await t.submit(SMALL))).toMatchObject({ status: 'completed' });
  });

  it.each([
    ['gone (404)', (fal: FakeFal, id: string) => fal.expireFiles(id), /could not copy the result from the upstream/],
    ['not a video', (fal: FakeFal) => void (fal.behaviour.file = 'malformed'), /the upstream's result is not a video/],
  ] as const)('a result file that is %s fails the task clearly, refunded', async (_what, spoil, detail) => {
    const fal = await fakeFal({ lifecycle: { inQueue: Infinity } });
    const t = await channelGateway(cleanups, falChannel(fal));
    const id = await t.submit(SMALL);
    await upstreamIdOf(t, id);
    const request = onlyRequest(fal);
    spoil(fal, request.id);
    fal.advance(request.id, 'COMPLETED');
    const task = await t.settled(id);
    expect(task).toMatchObject({ status: 'failed', error: { code: 'provider_error' } });
    expect(String(task.error!.params.detail)).toMatch(detail);
    expect(await ledgerKinds(t, task)).toEqual(['refund', 'reserve']);
  });

  it('fails a task whose request fal no longer knows', async () => {
    const fal = await fakeFal({ lifecycle: { inQueue: Infinity } });
    const t = await channelGateway(cleanups, falChannel(fal));
    const id = await t.submit(SMALL);
    await upstreamIdOf(t, id);
    fal.lose(onlyRequest(fal).id);
    const task = await t.settled(id);
    expect(String(task.error!.params.detail)).toMatch(/the upstream no longer knows task bytedance\/seedance-2\.0\/requests\//);
  });

  it('times out a request that never finishes, and cancels it at fal', async () => {
    const fal = await fakeFal({ lifecycle: { inQueue: Infinity } });
    const t = await channelGateway(cleanups, falChannel(fal, '    timeout_seconds: 0.3\n'));
    const task = await t.settled(await t.submit(SMALL));
    expect(task).toMatchObject({ status: 'failed', error: { code: 'timeout' } });
    await expect.poll(() => onlyRequest(fal).outcome).toBe('cancelled');
  });

  it('after a restart, resumes polling the fal request instead of submitting again', async () => {
    const fal = await fakeFal({ lifecycle: { inQueue: Infinity } });
    const first = await channelGateway(cleanups, falChannel(fal));
    const id = await first.submit(SMALL);
    await upstreamIdOf(first, id);
    await first.app.close();
    fal.lifecycle.inQueue = 0;
    const again = await startTestApp({ VIDGATE_CONFIG: first.configFile, VIDGATE_MEDIA_ALLOW_HOSTS: '127.0.0.1' }, { dataDir: first.dataDir });
    cleanups.push(() => again.app.close());
    expect(await again.settled(id)).toMatchObject({ status: 'completed', provider: 'fal' });
    expect(fal.submissions()).toHaveLength(1);
  });
});

describe('what fal cannot do', () => {
  it('a task fal cannot do goes to the next channel without fal being asked', async () => {
    const fal = await fakeFal();
    const fx = await fixtures();
    const t = await channelGateway(cleanups, falChannel(fal) + LOCAL_CHANNEL);
    const bodies = [
      { ...SMALL, return_last_frame: true },
      { ...SMALL, tools: [{ type: 'web_search' }] },
      { ...SMALL, resolution: '1080p' },
      { model: 'doubao-seedance-2.0', image_urls: [fx.url('cat.jpg')], resolution: '480p', duration: 4 },
    ];
    for (const body of bodies) {
      const task = await t.settled(await t.submit(body));
      expect(task, JSON.stringify(body)).toMatchObject({ status: 'completed', provider: 'sandbox' });
      // Routed there at submit: not a failover.
      expect(task.providerState).toBeNull();
    }
    expect(fal.requests).toHaveLength(0);
    // And what it can do still goes to fal.
    expect(await t.settled(await t.submit(SMALL))).toMatchObject({ status: 'completed', provider: 'fal' });
  });

  it.each([
    [{ return_last_frame: true }, 'return_last_frame', "fal's Seedance 2.0 does not return the last frame"],
    [{ resolution: '1080p' }, 'resolution', "fal's Seedance 2.0 renders 480p or 720p, not 1080p"],
    [{ tools: [{ type: 'web_search' }] }, 'tools', "fal's Seedance 2.0 has no web search"],
  ])('a submit no channel can take is a 400 naming the channel and why (%o)', async (extra, param, reason) => {
    const fal = await fakeFal();
    const t = await channelGateway(cleanups, falChannel(fal));
    const res = await t.app.server.inject({ method: 'POST', url: '/v1/videos/generations', headers: t.auth, payload: { ...SMALL, ...extra } });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({
      code: 400,
      type: 'invalid_request_error',
      param,
      message: `no channel of this gateway can take this task (fal: ${reason})`,
    });
    const account = (await t.app.store.findApiKeyByHash(hashApiKey(TEST_KEY)))!;
    expect(await t.app.store.listTasks({ accountId: account.accountId, limit: 5 })).toHaveLength(0);
    expect(fal.requests).toHaveLength(0);
  });

  it('the configuration needs a models map for a fal channel, and defaults its base URL', () => {
    const base = 'channels:\n  - name: fal\n    provider: fal\n    api_keys: [k]\n';
    expect(() => parseFileConfig(`${base}    models: "*"\n`, 'vidgate.yaml')).toThrow(/models: a fal channel needs models as a map/);
    const parsed = parseFileConfig(`${base}    models:\n      doubao-seedance-2.0: bytedance/seedance-2.0\n`, 'vidgate.yaml');
    expect(parsed.channels![0]).toMatchObject({ provider: 'fal', models: { 'doubao-seedance-2.0': 'bytedance/seedance-2.0' } });
    expect(parsed.channels![0]!.base_url).toBeUndefined();
  });
});
