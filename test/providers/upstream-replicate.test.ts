import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestApp, TEST_KEY } from '../helpers/test-app.js';
import { createAccountWithKey, hashApiKey } from '../../src/auth/keys.js';
import { parseFileConfig } from '../../src/config/file.js';
import { startFixtureServer, type FixtureServer } from '../helpers/fixture-server.js';
import { SEED_CASES, seedCase } from '../helpers/seed-cases.js';
import { REPLICATE_MODELS, startFakeReplicate, type FakeReplicate, type FakeReplicateOptions } from '../helpers/upstreams/fake-replicate.js';
import { channelGateway, FAST_POLLING, LOCAL_CHANNEL, ledgerKinds, taskView, upstreamIdOf, type Cleanups } from '../helpers/upstreams/channel-gateway.js';

/**
 * A `replicate` channel against the fake Replicate (test/helpers/upstreams/fake-replicate.ts): the
 * prediction's input checked field by field against the Seedance 2.0 models' input schema (README:
 * Configuration `replicate`), status mapping, cancel, result copy, misbehaviour, and routing around
 * what Replicate's model cannot do.
 */

const cleanups: Cleanups = [];
afterEach(async () => {
  for (const clean of cleanups.splice(0).reverse()) await clean();
});

async function fakeReplicate(options: FakeReplicateOptions = {}): Promise<FakeReplicate> {
  const replicate = await startFakeReplicate({ keys: ['r8-key-1', 'r8-key-2'], ...options });
  cleanups.push(() => replicate.close());
  return replicate;
}

async function fixtures(): Promise<FixtureServer> {
  const fx = await startFixtureServer();
  cleanups.push(() => fx.close());
  return fx;
}

const STANDARD_VERSION = REPLICATE_MODELS['bytedance/seedance-2.0']!;

const replicateChannel = (replicate: FakeReplicate, extra = '', standard = 'bytedance/seedance-2.0') => `  - name: replicate
    provider: replicate
    base_url: ${replicate.baseUrl}
    api_keys: [r8-key-1, r8-key-2]
    models:
      doubao-seedance-2.0: ${standard}
      doubao-seedance-2.0-fast: bytedance/seedance-2.0-fast
    priority: 10
    ${FAST_POLLING}
${extra}`;

const CASE_1 = SEED_CASES[1]!;
const SMALL = { model: 'doubao-seedance-2.0', prompt: 'A kite over the dunes', resolution: '480p', duration: 4 };

const onlyPrediction = (replicate: FakeReplicate) => {
  const [prediction] = replicate.predictions();
  if (!prediction) throw new Error('replicate received no prediction');
  return prediction;
};

describe('replicate channel', () => {
  it('seed case 1: creates a prediction of the official model field by field, polls it, copies and serves its output', async () => {
    const replicate = await fakeReplicate();
    const t = await channelGateway(cleanups, replicateChannel(replicate) + LOCAL_CHANNEL);
    const id = await t.submit(CASE_1);
    const done = await t.settled(id);
    expect(done, JSON.stringify(done.error)).toMatchObject({ status: 'completed', provider: 'replicate' });

    const [submission] = replicate.submissions();
    expect(submission!.method).toBe('POST');
    expect(submission!.path).toBe('/v1/models/bytedance/seedance-2.0/predictions');
    expect(submission!.headers.authorization).toMatch(/^Bearer r8-key-[12]$/);
    expect(submission!.body).toEqual({
      input: {
        prompt: 'A kitten yawning at the camera',
        duration: 5,
        resolution: '720p',
        aspect_ratio: '16:9',
        generate_audio: true,
        seed: 42,
      },
    });
    const prediction = onlyPrediction(replicate);
    expect(await upstreamIdOf(t, id)).toBe(prediction.id);
    const polls = replicate.requests.filter((r) => r.route === 'poll');
    expect(polls.length).toBeGreaterThan(0);
    expect(new Set(polls.map((r) => `${r.method} ${r.path} ${r.headers.authorization}`))).toEqual(
      new Set([`GET /v1/predictions/${prediction.id} Bearer ${prediction.key}`]),
    );

    const ours = await readFile(join(t.dataDir, 'results', done.result!.video.key));
    const theirs = Buffer.from(await (await fetch(`${replicate.origin}/files/${prediction.id}.mp4`)).arrayBuffer());
    expect(ours.equals(theirs)).toBe(true);
    const content = await t.app.server.inject({ method: 'GET', url: `/v1/tasks/${id}/content`, headers: t.auth });
    expect(content.statusCode).toBe(200);
    expect(content.rawPayload.equals(theirs)).toBe(true);
  });

  it('owner/name:version in the models map pins that version through POST /v1/predictions', async () => {
    const replicate = await fakeReplicate();
    const t = await channelGateway(cleanups, replicateChannel(replicate, '', `bytedance/seedance-2.0:${STANDARD_VERSION}`));
    expect(await t.settled(await t.submit({ ...SMALL, seed: 9 }))).toMatchObject({ status: 'completed' });
    const [submission] = replicate.submissions();
    expect(submission!.path).toBe('/v1/predictions');
    expect(submission!.body).toEqual({
      version: STANDARD_VERSION,
      input: { prompt: 'A kite over the dunes', duration: 4, resolution: '480p', aspect_ratio: '16:9', generate_audio: false, seed: 9 },
    });
    expect(onlyPrediction(replicate)).toMatchObject({ model: 'bytedance/seedance-2.0', via: 'version' });
  });

  it('maps every mode to its input fields: first frame, first + last frame, references, adaptive ratio, the fast model', async () => {
    const replicate = await fakeReplicate();
    const fx = await fixtures();
    const t = await channelGateway(cleanups, replicateChannel(replicate));
    const cases: Array<[Record<string, unknown>, string, (seed: number) => Record<string, unknown>]> = [
      [
        seedCase(2, fx.baseUrl),
        '/v1/models/bytedance/seedance-2.0/predictions',
        (seed) => ({
          prompt: 'The kitten stands up and walks toward the camera',
          image: fx.url('cat.jpg'),
          duration: 5,
          resolution: '720p',
          aspect_ratio: '16:9',
          generate_audio: false,
          seed,
        }),
      ],
      [
        seedCase(3, fx.baseUrl),
        '/v1/models/bytedance/seedance-2.0/predictions',
        (seed) => ({
          prompt: 'Transition from day to night',
          image: fx.url('day.jpg'),
          last_frame_image: fx.url('night.jpg'),
          duration: 5,
          resolution: '720p',
          aspect_ratio: '16:9',
          generate_audio: false,
          seed,
        }),
      ],
      [
        { ...seedCase(9, fx.baseUrl), duration: 6, resolution: '480p' },
        '/v1/models/bytedance/seedance-2.0/predictions',
        (seed) => ({
          prompt: SEED_CASES[9]!.prompt,
          reference_images: [fx.url('tea_pic1.jpg'), fx.url('tea_pic2.jpg')],
          reference_videos: [fx.url('tea_video1.mp4')],
          reference_audios: [fx.url('tea_audio1.mp3')],
          duration: 6,
          resolution: '480p',
          aspect_ratio: '16:9',
          generate_audio: true,
          seed,
        }),
      ],
      [
        { ...seedCase(5, fx.baseUrl), duration: 4 },
        '/v1/models/bytedance/seedance-2.0/predictions',
        (seed) => ({
          prompt: 'A scene of a person speaking',
          reference_videos: [fx.url('reference.mp4')],
          reference_audios: [fx.url('speech.wav')],
          duration: 4,
          resolution: '720p',
          aspect_ratio: '16:9',
          generate_audio: false,
          seed,
        }),
      ],
      [
        { model: 'doubao-seedance-2.0-fast', prompt: 'City nightscape timelapse photography', size: 'adaptive', resolution: '480p', duration: 15, seed: 3 },
        '/v1/models/bytedance/seedance-2.0-fast/predictions',
        () => ({ prompt: 'City nightscape timelapse photography', duration: 15, resolution: '480p', aspect_ratio: 'adaptive', generate_audio: false, seed: 3 }),
      ],
    ];
    for (const [body, path, expected] of cases) {
      const id = await t.submit(body);
      const done = await t.settled(id);
      expect(done, JSON.stringify(done.error)).toMatchObject({ status: 'completed', provider: 'replicate' });
      const submission = replicate.submissions().at(-1)!;
      expect(submission.path).toBe(path);
      expect(submission.body).toEqual({ input: expected(done.seed) });
    }
  });

  it('maps prediction statuses: starting → pending, processing → processing with progress, succeeded → completed (output as a list too)', async () => {
    const replicate = await fakeReplicate({ lifecycle: { starting: Infinity }, outputVariant: 'list' });
    const t = await channelGateway(cleanups, replicateChannel(replicate));
    const id = await t.submit(CASE_1);
    await expect.poll(() => replicate.requests.filter((r) => r.route === 'poll').length).toBeGreaterThan(1);
    expect(await taskView(t, id)).toMatchObject({ status: 'pending', progress: 0 });

    const prediction = onlyPrediction(replicate);
    replicate.advance(prediction.id, 'processing');
    await expect.poll(async () => (await taskView(t, id)).status).toBe('processing');
    await expect.poll(async () => (await taskView(t, id)).progress).toBeGreaterThan(0);

    replicate.advance(prediction.id, 'succeeded');
    expect(await t.settled(id)).toMatchObject({ status: 'completed' });
    expect(await taskView(t, id)).toMatchObject({ status: 'completed', progress: 100 });
  });

  it('cancelling a vidgate task cancels the prediction (POST …/cancel), refunded', async () => {
    const replicate = await fakeReplicate({ lifecycle: { starting: Infinity } });
    const t = await channelGateway(cleanups, replicateChannel(replicate));
    const id = await t.submit(CASE_1);
    await upstreamIdOf(t, id);
    const res = await t.app.server.inject({ method: 'POST', url: `/v1/tasks/${id}/cancel`, headers: t.auth });
    expect(res.json().data.status).toBe('cancelled');
    await expect.poll(() => onlyPrediction(replicate).status).toBe('canceled');
    const prediction = onlyPrediction(replicate);
    const [cancel] = replicate.requests.filter((r) => r.route === 'cancel');
    expect(cancel).toMatchObject({ method: 'POST', path: `/v1/predictions/${prediction.id}/cancel` });
    expect(cancel!.headers.authorization).toBe(`Bearer ${prediction.key}`);
    expect(await ledgerKinds(t, (await t.app.store.getTask(id))!)).toEqual(['refund', 'reserve']);
  });

  it('a prediction canceled on Replicate itself ends the task cancelled, refunded', async () => {
    const replicate = await fakeReplicate({ lifecycle: { starting: Infinity } });
    const t = await channelGateway(cleanups, replicateChannel(replicate));
    const id = await t.submit(CASE_1);
    await upstreamIdOf(t, id);
    const prediction = onlyPrediction(replicate);
    replicate.advance(prediction.id, 'canceled');
    const task = await t.settled(id);
    expect(task).toMatchObject({
      status: 'cancelled',
      error: { code: 'cancelled_upstream', params: { detail: `prediction ${prediction.id} was canceled on Replicate` } },
    });
    expect(await ledgerKinds(t, task)).toEqual(['refund', 'reserve']);
  });

  it("a failed prediction fails the task with Replicate's error, refunded", async () => {
    const replicate = await fakeReplicate({ lifecycle: { end: 'failed' } });
    const t = await channelGateway(cleanups, replicateChannel(replicate));
    const customer = await createAccountWithKey(t.app.store, { name: 'c', balanceUsd: 5 });
    const headers = { authorization: `Bearer ${customer.secret}` };
    const res = await t.app.server.inject({ method: 'POST', url: '/v1/videos/generations', headers, payload: CASE_1 });
    const id = res.json().data[0].task_id;
    expect(await t.settled(id)).toMatchObject({ status: 'failed', error: { code: 'provider_error' } });
    expect((await taskView(t, id, headers)).error.message).toMatch(/prediction_failed: The input or output was flagged as sensitive.*\(E005\)/);
    expect((await t.app.store.getAccount(customer.key.accountId))!.balanceMicros).toBe(5_000_000);
  });

  it('an aborted prediction fails the task', async () => {
    const replicate = await fakeReplicate({ lifecycle: { starting: Infinity } });
    const t = await channelGateway(cleanups, replicateChannel(replicate));
    const id = await t.submit(SMALL);
    await upstreamIdOf(t, id);
    replicate.advance(onlyPrediction(replicate).id, 'aborted' as never);
    const task = await t.settled(id);
    expect(task).toMatchObject({ status: 'failed', error: { code: 'provider_error' } });
    expect(String(task.error!.params.detail)).toMatch(/prediction_aborted: Replicate aborted the prediction/);
  });

  it.each(['status:503', 'status:429', 'status:502', 'reset', 'malformed', 'timeout'] as const)(
    'fails over to the next channel when creating the prediction answers %s, charged once',
    async (behaviour) => {
      const replicate = await fakeReplicate({ behaviour: { submit: behaviour } });
      const t = await channelGateway(cleanups, replicateChannel(replicate, '    request_timeout_seconds: 0.5\n') + LOCAL_CHANNEL);
      const task = await t.settled(await t.submit(SMALL));
      expect(task, JSON.stringify(task.error)).toMatchObject({ status: 'completed', provider: 'sandbox', providerState: { tried: ['replicate'] } });
      expect(await ledgerKinds(t, task)).toEqual(['reserve']);
      expect(replicate.predictions()).toHaveLength(0);
    },
  );

  it("a 422 at submit fails the task with Replicate's detail and tries no other channel", async () => {
    const replicate = await fakeReplicate();
    replicate.queue('submit', 'status:422');
    const t = await channelGateway(cleanups, replicateChannel(replicate) + LOCAL_CHANNEL);
    const task = await t.settled(await t.submit(SMALL));
    expect(task).toMatchObject({ status: 'failed', provider: 'replicate', error: { code: 'provider_error' } });
    expect(String(task.error!.params.detail)).toBe('http_422: Fake Replicate answered 422 as told.');
  });

  it('a model id that is not owner/name fails the task clearly', async () => {
    const replicate = await fakeReplicate();
    const t = await channelGateway(cleanups, replicateChannel(replicate, '', 'seedance 2.0'));
    const task = await t.settled(await t.submit(SMALL));
    expect(task).toMatchObject({ status: 'failed', provider: 'replicate' });
    expect(String(task.error!.params.detail)).toMatch(/invalid_model: "seedance 2.0" is not a Replicate model/);
    expect(replicate.requests).toHaveLength(0);
  });

  it('rides out failed and slow polls, but gives up after max_poll_errors', async () => {
    const replicate = await fakeReplicate();
    replicate.queue('poll', 'status:500', 'malformed', 'reset', 'slow:200', 'status:429');
    const t = await channelGateway(cleanups, replicateChannel(replicate, '    max_poll_errors: 4\n'));
    expect(await t.settled(await t.submit(SMALL))).toMatchObject({ status: 'completed' });

    replicate.behaviour.poll = 'status:503';
    const broken = await t.settled(await t.submit(SMALL));
    expect(broken).toMatchObject({ status: 'failed', error: { code: 'provider_error' } });
    expect(String(broken.error!.params.detail)).toMatch(/lost contact with the upstream after 4 failed polls: Fake Replicate answered 503/);
  });

  it('a poll that hangs is given up at request_timeout_seconds and asked again', async () => {
    const replicate = await fakeReplicate();
    replicate.queue('poll', 'timeout');
    const t = await channelGateway(cleanups, replicateChannel(replicate, '    request_timeout_seconds: 0.3\n'));
    expect(await t.settled(await t.submit(SMALL))).toMatchObject({ status: 'completed' });
  });

  it.each([
    ['gone (404)', (r: FakeReplicate, id: string) => r.expireFiles(id), /could not copy the result from the upstream/],
    ['not a video', (r: FakeReplicate) => void (r.behaviour.file = 'malformed'), /the upstream's result is not a video/],
    ['missing', (r: FakeReplicate, id: string) => r.advance(id, 'succeeded', { output: null }), /reports success but gives no video URL/],
  ] as const)('an output file that is %s fails the task clearly, refunded', async (_what, spoil, detail) => {
    const replicate = await fakeReplicate({ lifecycle: { starting: Infinity } });
    const t = await channelGateway(cleanups, replicateChannel(replicate));
    const id = await t.submit(SMALL);
    await upstreamIdOf(t, id);
    const prediction = onlyPrediction(replicate);
    spoil(replicate, prediction.id);
    if (prediction.status !== 'succeeded') replicate.advance(prediction.id, 'succeeded');
    const task = await t.settled(id);
    expect(task).toMatchObject({ status: 'failed', error: { code: 'provider_error' } });
    expect(String(task.error!.params.detail)).toMatch(detail);
    expect(await ledgerKinds(t, task)).toEqual(['refund', 'reserve']);
  });

  it('fails a task whose prediction Replicate no longer knows', async () => {
    const replicate = await fakeReplicate({ lifecycle: { starting: Infinity } });
    const t = await channelGateway(cleanups, replicateChannel(replicate));
    const id = await t.submit(SMALL);
    const upstreamId = await upstreamIdOf(t, id);
    replicate.lose(upstreamId);
    const task = await t.settled(id);
    expect(String(task.error!.params.detail)).toBe(`the upstream no longer knows task ${upstreamId}`);
  });

  it('times out a prediction that never finishes, and cancels it', async () => {
    const replicate = await fakeReplicate({ lifecycle: { starting: Infinity } });
    const t = await channelGateway(cleanups, replicateChannel(replicate, '    timeout_seconds: 0.3\n'));
    const task = await t.settled(await t.submit(SMALL));
    expect(task).toMatchObject({ status: 'failed', error: { code: 'timeout' } });
    await expect.poll(() => onlyPrediction(replicate).status).toBe('canceled');
  });

  it('after a restart, resumes polling the prediction instead of creating another', async () => {
    const replicate = await fakeReplicate({ lifecycle: { starting: Infinity } });
    const first = await channelGateway(cleanups, replicateChannel(replicate));
    const id = await first.submit(SMALL);
    await upstreamIdOf(first, id);
    await first.app.close();
    replicate.lifecycle.starting = 0;
    const again = await startTestApp({ VIDGATE_CONFIG: first.configFile, VIDGATE_MEDIA_ALLOW_HOSTS: '127.0.0.1' }, { dataDir: first.dataDir });
    cleanups.push(() => again.app.close());
    expect(await again.settled(id)).toMatchObject({ status: 'completed', provider: 'replicate' });
    expect(replicate.submissions()).toHaveLength(1);
  });
});

describe("what Replicate's model cannot do", () => {
  it('a task Replicate cannot do goes to the next channel without Replicate being asked', async () => {
    const replicate = await fakeReplicate();
    const fx = await fixtures();
    const t = await channelGateway(cleanups, replicateChannel(replicate) + LOCAL_CHANNEL);
    for (const body of [
      { ...SMALL, return_last_frame: true },
      { ...SMALL, tools: [{ type: 'web_search' }] },
      { ...SMALL, resolution: '1080p' },
      { model: 'doubao-seedance-2.0', image_with_roles: [{ url: fx.url('day.jpg'), role: 'first_frame' }], resolution: '480p', duration: 4 },
    ]) {
      const task = await t.settled(await t.submit(body));
      expect(task, JSON.stringify(body)).toMatchObject({ status: 'completed', provider: 'sandbox', providerState: null });
    }
    expect(replicate.requests).toHaveLength(0);
  });

  it('a submit no channel can take is a 400 naming each channel and why, and creates nothing', async () => {
    const replicate = await fakeReplicate();
    const t = await channelGateway(cleanups, replicateChannel(replicate));
    const res = await t.app.server.inject({ method: 'POST', url: '/v1/videos/generations', headers: t.auth, payload: { ...SMALL, resolution: '4k' } });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({
      code: 400,
      param: 'resolution',
      message: "no channel of this gateway can take this task (replicate: Replicate's Seedance 2.0 renders 480p or 720p, not 4k)",
    });
    const account = (await t.app.store.findApiKeyByHash(hashApiKey(TEST_KEY)))!;
    expect(await t.app.store.listTasks({ accountId: account.accountId, limit: 5 })).toHaveLength(0);
    expect(await t.app.store.listLedger(account.accountId, 10)).toEqual([]);
    expect(replicate.requests).toHaveLength(0);
  });

  it('the configuration needs a models map for a replicate channel, and defaults its base URL', () => {
    const base = 'channels:\n  - name: r\n    provider: replicate\n    api_keys: [k]\n';
    expect(() => parseFileConfig(`${base}    models: [doubao-seedance-2.0]\n`, 'vidgate.yaml')).toThrow(/a replicate channel needs models as a map/);
    expect(() => parseFileConfig(`${base}    models:\n      doubao-seedance-2.0: bytedance/seedance-2.0\n`, 'vidgate.yaml')).not.toThrow();
    expect(() => parseFileConfig('channels:\n  - name: a\n    provider: ark\n    api_keys: [k]\n', 'vidgate.yaml')).toThrow(/an ark channel needs base_url/);
  });
});
