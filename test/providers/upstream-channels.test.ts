import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, TEST_KEY, type TestApp } from '../helpers/test-app.js';
import { hashApiKey } from '../../src/auth/keys.js';
import { startFakeArk, type FakeArk } from '../helpers/upstreams/fake-ark.js';
import { startFakeApimart, type FakeApimart } from '../helpers/upstreams/fake-apimart.js';
import { createAccountWithKey } from '../../src/auth/keys.js';
import { startFixtureServer } from '../helpers/fixture-server.js';
import { PYTHON_PROTOCOLS, startPythonFileServer } from '../helpers/foreign/python-http.js';
import { startRawHttpServer, type Framing } from '../helpers/foreign/raw-http.js';
import { holdSamples, sampleFrame, sampleVideo } from '../helpers/upstreams/sample-video.js';

const FAST_POLLING = 'first_poll_ms: 5\n    max_poll_ms: 20';
const CASE_1 = {
  model: 'doubao-seedance-2.0',
  prompt: 'A kitten yawning at the camera',
  resolution: '720p',
  size: '16:9',
  duration: 5,
  seed: 42,
  generate_audio: true,
};

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const clean of cleanups.splice(0).reverse()) await clean();
});

async function fakeArk(keys = ['ark-key-1', 'ark-key-2']): Promise<FakeArk> {
  const ark = await startFakeArk({ keys });
  cleanups.push(() => ark.close());
  return ark;
}

async function fakeApimart(options: Parameters<typeof startFakeApimart>[0] = {}): Promise<FakeApimart> {
  const apimart = await startFakeApimart(options);
  cleanups.push(() => apimart.close());
  return apimart;
}

/** A vidgate whose configuration file holds these channels; media and results may come from 127.0.0.1. */
async function gateway(channelsYaml: string, env: Record<string, string> = {}): Promise<TestApp & { configFile: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'vidgate-channels-'));
  const configFile = join(dir, 'vidgate.yaml');
  await writeFile(configFile, `channels:\n${channelsYaml}`);
  const t = await startTestApp({ VIDGATE_CONFIG: configFile, VIDGATE_MEDIA_ALLOW_HOSTS: '127.0.0.1', ...env });
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  cleanups.push(() => t.close());
  return Object.assign(t, { configFile });
}

const arkChannel = (ark: FakeArk, extra = '') => `  - name: ark-cn
    provider: ark
    base_url: ${ark.baseUrl}
    api_keys: [ark-key-1, ark-key-2]
    models:
      doubao-seedance-2.0: doubao-seedance-2-0-260128
      doubao-seedance-2.0-fast: doubao-seedance-2-0-fast-260128
    priority: 10
    ${FAST_POLLING}
${extra}`;
const localChannel = '  - name: sandbox\n    provider: local\n    models: "*"\n    priority: 0\n';

/** The ledger movements of one task, sorted by kind. */
const ledgerKinds = async (t: TestApp, task: { id: string; accountId: string }) =>
  (await t.app.store.listLedger(task.accountId, 1000))
    .filter((e) => e.taskId === task.id)
    .map((e) => e.kind)
    .sort();

/** A task whose submit the fake has received (and made a task for) but not yet answered. */
async function submitStillOnItsWay(ark: FakeArk): Promise<{ t: TestApp; id: string }> {
  ark.lifecycle.queued = Infinity;
  // The fake creates the task at once and answers 300 ms later.
  ark.behaviour.submit = 'slow:300';
  const t = await gateway(arkChannel(ark));
  const id = await t.submit(CASE_1);
  await expect.poll(() => ark.tasks().length).toBe(1);
  return { t, id };
}

const view = async (t: TestApp, id: string, headers = t.auth) => (await t.app.server.inject({ method: 'GET', url: `/v1/tasks/${id}`, headers })).json().data;

describe('ark channel', () => {
  it('submits the Ark request, polls, and copies the result into vidgate storage', async () => {
    const ark = await fakeArk();
    const t = await gateway(arkChannel(ark) + localChannel);
    const id = await t.submit(CASE_1);
    const done = await t.settled(id);
    expect(done).toMatchObject({ status: 'completed', provider: 'ark-cn' });

    const [submission] = ark.submissions();
    expect(submission!.headers.authorization).toMatch(/^Bearer ark-key-[12]$/);
    expect(submission!.body).toEqual({
      model: 'doubao-seedance-2-0-260128',
      content: [{ type: 'text', text: 'A kitten yawning at the camera' }],
      resolution: '720p',
      ratio: '16:9',
      duration: 5,
      seed: 42,
      generate_audio: true,
      return_last_frame: false,
      watermark: false,
    });
    // A lone task is read directly; list calls are for several at once (below).
    expect(ark.requests.some((r) => r.route === 'poll' && r.path.endsWith(`/${ark.tasks()[0]!.id}`))).toBe(true);

    const task = await view(t, id);
    expect(task.result.videos[0].url[0]).toMatch(/^http:\/\/localhost(:\d+)?\/files\//);
    const ours = await readFile(join(t.dataDir, 'results', done.result!.video.key));
    const theirs = Buffer.from(await (await fetch(`${ark.origin}/files/${ark.tasks()[0]!.id}.mp4`)).arrayBuffer());
    expect(ours.equals(theirs)).toBe(true);
  });

  it('maps every kind of media to its content role, and copies the last frame too', async () => {
    const ark = await fakeArk();
    const media = await startFixtureServer();
    cleanups.push(() => media.close());
    const t = await gateway(arkChannel(ark));
    const firstLast = await t.submit({
      model: 'doubao-seedance-2.0',
      prompt: 'Transition from day to night',
      image_with_roles: [
        { url: media.url('day.jpg'), role: 'first_frame' },
        { url: media.url('night.jpg'), role: 'last_frame' },
      ],
      return_last_frame: true,
    });
    const done = await t.settled(firstLast);
    expect(done.result!.lastFrame).toMatchObject({ contentType: 'image/png' });
    expect((ark.submissions()[0]!.body as { content: unknown }).content).toEqual([
      { type: 'text', text: 'Transition from day to night' },
      { type: 'image_url', image_url: { url: media.url('day.jpg') }, role: 'first_frame' },
      { type: 'image_url', image_url: { url: media.url('night.jpg') }, role: 'last_frame' },
    ]);

    const multi = await t.submit({
      model: 'doubao-seedance-2.0',
      prompt: 'Fruit tea advertisement',
      image_urls: [media.url('tea_pic1.jpg')],
      video_urls: [media.url('tea_video1.mp4')],
      audio_urls: [media.url('tea_audio1.mp3')],
    });
    const settled = await t.settled(multi);
    expect(settled.status).toBe('completed');
    expect((ark.submissions()[1]!.body as { content: Array<{ type: string; role?: string }> }).content.map((c) => [c.type, c.role])).toEqual([
      ['text', undefined],
      ['image_url', 'reference_image'],
      ['video_url', 'reference_video'],
      ['audio_url', 'reference_audio'],
    ]);
    // Billed on the probed input seconds (3 s reference video) + 5 s of output, not the reservation's upper bound.
    expect(settled.costMicros).toBe(Math.round(85_840 * (3 + 5)));
  });

  it('hands asset:// references to the upstream as signed vidgate URLs of the reviewed copy', async () => {
    const ark = await fakeArk();
    const media = await startFixtureServer();
    cleanups.push(() => media.close());
    const t = await gateway(arkChannel(ark), { VIDGATE_PUBLIC_URL: 'https://vidgate.example' });
    const review = await t.app.server.inject({
      method: 'POST',
      url: '/v1/seedance2/private-avatar',
      headers: t.auth,
      payload: { group: { name: 'cast' }, asset_type: 'Image', url: media.url('cat.jpg') },
    });
    await t.app.assets.whenIdle();
    const assetId = (await view(t, review.json().data.id)).result.usable_assets[0].asset_id;
    const id = await t.submit({ model: 'doubao-seedance-2.0', prompt: 'The character walks', image_urls: [`asset://${assetId}`] });
    expect(await t.settled(id)).toMatchObject({ status: 'completed' });
    const [, image] = (ark.submissions()[0]!.body as { content: Array<{ image_url?: { url: string }; role?: string }> }).content;
    expect(image!.role).toBe('reference_image');
    const url = new URL(image!.image_url!.url);
    expect(url.origin + url.pathname).toBe(`https://vidgate.example/files/assets/${assetId}.jpg`);
    const file = await t.app.server.inject({ method: 'GET', url: url.pathname + url.search });
    expect(file.statusCode).toBe(200);
    expect(file.rawPayload.equals(await readFile(join(media.dir, 'cat.jpg')))).toBe(true);
    const forged = await t.app.server.inject({ method: 'GET', url: url.pathname.replace('.jpg', '.png') + url.search });
    expect(forged.statusCode).toBe(403);
  });

  it('rotates API keys per task and polls each task with the key that created it', async () => {
    const ark = await fakeArk();
    const t = await gateway(arkChannel(ark));
    const ids = await Promise.all([t.submit(CASE_1), t.submit(CASE_1), t.submit(CASE_1), t.submit(CASE_1)]);
    await Promise.all(ids.map((id) => t.settled(id)));
    const keysUsed = new Set(ark.tasks().map((task) => task.key));
    expect(keysUsed).toEqual(new Set(['ark-key-1', 'ark-key-2']));
    for (const list of ark.requests.filter((r) => r.route === 'list')) {
      const key = list.headers.authorization!.replace('Bearer ', '');
      for (const upstreamId of list.query.getAll('filter.task_ids')) expect(ark.task(upstreamId)!.key).toBe(key);
    }
    expect((await Promise.all(ids.map((id) => t.app.store.getTask(id)))).every((task) => task!.status === 'completed')).toBe(true);
  });

  it('polls many tasks in one list request', async () => {
    const ark = await fakeArk(['ark-key-1']);
    const t = await gateway(arkChannel(ark).replace('api_keys: [ark-key-1, ark-key-2]', 'api_keys: [ark-key-1]'));
    const ids = await Promise.all(Array.from({ length: 6 }, () => t.submit(CASE_1)));
    await Promise.all(ids.map((id) => t.settled(id)));
    const widest = Math.max(...ark.requests.filter((r) => r.route === 'list').map((r) => r.query.getAll('filter.task_ids').length));
    expect(widest).toBeGreaterThan(1);
  });

  it('an upstream failure fails the task with the upstream code and message, refunded', async () => {
    const ark = await fakeArk();
    ark.lifecycle.end = 'failed';
    const t = await gateway(arkChannel(ark));
    const customer = await createAccountWithKey(t.app.store, { name: 'c', balanceUsd: 5 });
    const headers = { authorization: `Bearer ${customer.secret}` };
    const res = await t.app.server.inject({ method: 'POST', url: '/v1/videos/generations', headers, payload: CASE_1 });
    const id = res.json().data[0].task_id;
    await t.settled(id);
    expect((await view(t, id, headers)).error).toMatchObject({
      code: 'provider_error',
      message: expect.stringMatching(/OutputVideoSensitiveContentDetected/),
    });
    expect((await t.app.store.getAccount(customer.key.accountId))!.balanceMicros).toBe(5_000_000);
  });

  it('a 4xx at submit fails the task with the upstream reason and does not try other channels', async () => {
    const ark = await fakeArk();
    const t = await gateway(arkChannel(ark).replace('doubao-seedance-2-0-260128', 'no-such-upstream-model') + localChannel);
    const id = await t.submit(CASE_1);
    const task = await t.settled(id);
    expect(task).toMatchObject({ status: 'failed', provider: 'ark-cn', error: { code: 'provider_error' } });
    expect(String(task.error!.params.detail)).toMatch(/InvalidParameter/);
  });

  it.each(['status:500', 'status:429', 'reset', 'malformed'] as const)('fails over to the next channel when submit answers %s', async (behaviour) => {
    const ark = await fakeArk();
    ark.behaviour.submit = behaviour;
    const t = await gateway(arkChannel(ark) + localChannel);
    const id = await t.submit({ ...CASE_1, resolution: '480p', duration: 4 });
    const task = await t.settled(id);
    expect(task, JSON.stringify(task.error)).toMatchObject({ status: 'completed', provider: 'sandbox', providerState: { tried: ['ark-cn'] } });
    const ledger = await t.app.store.listLedger(task.accountId, 100);
    expect(ledger.filter((e) => e.taskId === id && e.kind === 'reserve')).toHaveLength(1);
  });

  it('fails clearly when no channel is left', async () => {
    const ark = await fakeArk();
    ark.behaviour.submit = 'status:503';
    const t = await gateway(arkChannel(ark));
    const task = await t.settled(await t.submit(CASE_1));
    expect(task).toMatchObject({ status: 'failed', error: { code: 'provider_error' } });
    expect(String(task.error!.params.detail)).toMatch(/no channel could take the task \(tried ark-cn\)/);
  });

  it('when every channel is busy (429), the task waits in the queue and starts once there is room', async () => {
    const ark = await fakeArk();
    ark.queue('submit', 'status:429', 'status:429');
    const t = await gateway(arkChannel(ark), { VIDGATE_BUSY_RETRY_MS: '20' });
    const id = await t.submit(CASE_1);
    expect(await t.settled(id)).toMatchObject({ status: 'completed' });
    // Three submissions reached the upstream; only the last was accepted, and it was paid once.
    expect(ark.requests.filter((r) => r.route === 'submit')).toHaveLength(3);
    expect(ark.tasks()).toHaveLength(1);
    const task = (await t.app.store.getTask(id))!;
    expect(await ledgerKinds(t, task)).toEqual(['reserve']);
  });

  it('after a 429 the channel pauses: tasks queued behind it go back to the queue without asking the upstream again', async () => {
    const ark = await fakeArk();
    ark.behaviour.submit = 'status:429';
    const t = await gateway(arkChannel(ark), { VIDGATE_BUSY_RETRY_MS: '60000', VIDGATE_DEFAULT_IN_FLIGHT: '1000', VIDGATE_DEFAULT_RPM: '100000' });
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) ids.push(await t.submit(CASE_1));
    await expect.poll(() => ark.requests.filter((r) => r.route === 'submit').length).toBeGreaterThan(0);
    // Everything settles down: nothing runs, every task waits in the queue.
    await expect.poll(() => t.app.dispatcher.activeCount).toBe(0);
    const tasks = await Promise.all(ids.map((id) => t.app.store.getTask(id)));
    expect(tasks.every((task) => task!.status === 'pending')).toBe(true);
    // Without the pause every one of the 40 would have been sent and refused.
    expect(ark.requests.filter((r) => r.route === 'submit').length).toBeLessThan(40);
  });

  it('a task kept waiting on busy channels past VIDGATE_BUSY_MAX_WAIT_SECONDS fails, refunded', async () => {
    const ark = await fakeArk();
    ark.behaviour.submit = 'status:429';
    const t = await gateway(arkChannel(ark), { VIDGATE_BUSY_RETRY_MS: '100', VIDGATE_BUSY_MAX_WAIT_SECONDS: '1' });
    const id = await t.submit(CASE_1);
    const task = await t.settled(id);
    expect(task).toMatchObject({ status: 'failed', error: { code: 'provider_error' } });
    expect(String(task.error!.params.detail)).toMatch(/no channel could take the task \(tried ark-cn, busy for \d+ s\)/);
    expect(await ledgerKinds(t, task)).toEqual(['refund', 'reserve']);
  });

  it('a result that is not a video (an expired link answering 200 with a page) fails the task, refunded', async () => {
    const ark = await fakeArk();
    ark.behaviour.file = 'malformed';
    const t = await gateway(arkChannel(ark));
    const task = await t.settled(await t.submit(CASE_1));
    expect(task).toMatchObject({ status: 'failed', error: { code: 'provider_error' } });
    expect(String(task.error!.params.detail)).toMatch(/the upstream's result is not a video/);
    expect(await ledgerKinds(t, task)).toEqual(['refund', 'reserve']);
  });

  it('a last frame the upstream sends as JPEG is served as the PNG README: Output promises', async () => {
    const ark = await fakeArk();
    ark.lifecycle.queued = Infinity;
    const fx = await startFixtureServer();
    cleanups.push(() => fx.close());
    const t = await gateway(arkChannel(ark));
    const id = await t.submit({ ...CASE_1, return_last_frame: true });
    await expect.poll(() => ark.tasks().length).toBe(1);
    const upstreamId = ark.tasks()[0]!.id;
    ark.advance(upstreamId, 'succeeded', {
      content: { video_url: new URL(`/files/${upstreamId}.mp4`, ark.baseUrl).href, last_frame_url: fx.url('cat.jpg') },
    });
    expect(await t.settled(id)).toMatchObject({ status: 'completed' });
    const res = await t.app.server.inject({ method: 'GET', url: `/v1/tasks/${id}/content?variant=last_frame`, headers: t.auth });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('image/png');
    expect(res.rawPayload.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  });

  it('one task the list answer says something unreadable about fails alone; the others in the same call go on', async () => {
    const ark = await fakeArk();
    ark.lifecycle.queued = Infinity;
    const t = await gateway(arkChannel(ark, '    max_poll_errors: 3\n'));
    // Keys rotate per task: the first and third share a key, so they are listed together.
    const ids = [await t.submit(CASE_1), await t.submit(CASE_1), await t.submit(CASE_1)];
    await expect.poll(() => ark.tasks().length).toBe(3);
    const [weird, , fine] = ark.tasks().map((task) => task.id) as [string, string, string];
    ark.advance(weird, 'running', { status: 'paused' as never });
    await expect
      .poll(() =>
        ark.requests.some((r) => r.route === 'list' && r.query.getAll('filter.task_ids').includes(weird) && r.query.getAll('filter.task_ids').includes(fine)),
      )
      .toBe(true);
    ark.advance(fine, 'succeeded');
    expect(await t.settled(ids[2]!)).toMatchObject({ status: 'completed' });
    const failed = await t.settled(ids[0]!);
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'provider_error' } });
    expect(String(failed.error!.params.detail)).toMatch(/unknown Ark task status "paused"/);
  });

  it('rides out a few failed polls, but gives up after max_poll_errors', async () => {
    const ark = await fakeArk();
    ark.queue('poll', 'status:500', 'reset');
    const t = await gateway(arkChannel(ark, '    max_poll_errors: 3\n'));
    expect(await t.settled(await t.submit(CASE_1))).toMatchObject({ status: 'completed' });

    ark.behaviour.poll = 'status:502';
    const broken = await t.settled(await t.submit(CASE_1));
    expect(broken).toMatchObject({ status: 'failed', error: { code: 'provider_error' } });
    expect(String(broken.error!.params.detail)).toMatch(/lost contact with the upstream after 3 failed polls/);
  });

  it('fails a task the upstream lost', async () => {
    const ark = await fakeArk();
    ark.lifecycle.queued = Infinity;
    const t = await gateway(arkChannel(ark));
    const id = await t.submit(CASE_1);
    await new Promise<void>((resolve) => {
      const check = () => (ark.tasks().length ? resolve() : setImmediate(check));
      check();
    });
    ark.lose(ark.tasks()[0]!.id);
    const task = await t.settled(id);
    expect(String(task.error!.params.detail)).toMatch(/no longer knows task cgt-/);
  });

  it('times out a task that never finishes, and cancels it upstream', async () => {
    const ark = await fakeArk();
    ark.lifecycle.queued = Infinity;
    const t = await gateway(arkChannel(ark, '    timeout_seconds: 0.3\n'));
    const task = await t.settled(await t.submit(CASE_1));
    expect(task).toMatchObject({ status: 'failed', error: { code: 'timeout' } });
    await expect.poll(() => ark.requests.filter((r) => r.route === 'cancel').length).toBe(1);
    expect(ark.tasks()[0]!.status).toBe('cancelled');
  });

  it('cancelling a vidgate task cancels it upstream', async () => {
    const ark = await fakeArk();
    ark.lifecycle.queued = Infinity;
    const t = await gateway(arkChannel(ark));
    const id = await t.submit(CASE_1);
    await new Promise<void>((resolve) => {
      const check = async () => ((await t.app.store.getTask(id))!.providerState ? resolve() : setImmediate(check));
      void check();
    });
    const res = await t.app.server.inject({ method: 'POST', url: `/v1/tasks/${id}/cancel`, headers: t.auth });
    expect(res.json().data.status).toBe('cancelled');
    await expect.poll(() => ark.tasks()[0]!.status).toBe('cancelled');
  });

  it('a task cancelled while its submit is on the way is cancelled upstream once the upstream answers', async () => {
    const ark = await fakeArk();
    const { t, id } = await submitStillOnItsWay(ark);
    const res = await t.app.server.inject({ method: 'POST', url: `/v1/tasks/${id}/cancel`, headers: t.auth });
    expect(res.json().data.status).toBe('cancelled');
    // Not left running (and billing) upstream with nobody knowing its id.
    await expect.poll(() => ark.tasks()[0]!.status).toBe('cancelled');
    expect(ark.tasks()).toHaveLength(1);
    const task = (await t.app.store.getTask(id))!;
    expect(task.status).toBe('cancelled');
    expect(await ledgerKinds(t, task)).toEqual(['refund', 'reserve']);
  });

  it('a task whose lease passed to another worker while its submit was on the way has its upstream twin cancelled', async () => {
    const ark = await fakeArk();
    const { t, id } = await submitStillOnItsWay(ark);
    // Another worker takes the task over while the upstream's answer is still on its way.
    const held = (await t.app.store.getTask(id))!;
    expect(await t.app.store.expireLease({ id, owner: held.leaseOwner! })).toBe(true);
    const [taken] = await t.app.store.claimTasks({
      owner: 'other-worker',
      now: Date.now(),
      leaseMs: 60_000,
      limit: 1,
      providers: ['ark-cn'],
      markProcessing: false,
    });
    expect(taken?.id).toBe(id);
    // This worker cannot store the upstream id any more, so it does not leave that task running upstream.
    await expect.poll(() => ark.tasks()[0]!.status).toBe('cancelled');
    expect((await t.app.store.getTask(id))!.leaseOwner).toBe('other-worker');
  });

  it('after a restart, resumes polling the upstream task instead of submitting again', async () => {
    const ark = await fakeArk();
    ark.lifecycle.queued = Infinity;
    const first = await gateway(arkChannel(ark));
    const id = await first.submit(CASE_1);
    await new Promise<void>((resolve) => {
      const check = async () => ((await first.app.store.getTask(id))!.providerState ? resolve() : setImmediate(check));
      void check();
    });
    await first.app.close();

    ark.lifecycle.queued = 0;
    const again = await startTestApp({ VIDGATE_CONFIG: first.configFile, VIDGATE_MEDIA_ALLOW_HOSTS: '127.0.0.1' }, { dataDir: first.dataDir });
    cleanups.push(() => again.app.close());
    expect(await again.settled(id)).toMatchObject({ status: 'completed', attempts: 1, interruptedRuns: 0 });
    expect(ark.submissions()).toHaveLength(1);
  });

  it('a task cancelled while no instance holds it is cancelled upstream too, not left running there', async () => {
    const ark = await fakeArk();
    ark.lifecycle.queued = Infinity;
    const first = await gateway(arkChannel(ark));
    const id = await first.submit(CASE_1);
    await expect.poll(async () => (await first.app.store.getTask(id))!.providerState !== null).toBe(true);
    await first.app.close();
    // Nobody runs the queue now: the cancel reaches the upstream through the instance that took it.
    const again = await startTestApp(
      { VIDGATE_CONFIG: first.configFile, VIDGATE_MEDIA_ALLOW_HOSTS: '127.0.0.1' },
      { dataDir: first.dataDir, runDispatcher: false },
    );
    cleanups.push(() => again.app.close());
    const cancelled = await again.app.server.inject({ method: 'POST', url: `/v1/tasks/${id}/cancel`, headers: again.auth });
    expect(cancelled.statusCode).toBe(200);
    await expect.poll(() => ark.tasks().map((t) => t.status)).toEqual(['cancelled']);
  });
});

describe('apimart channel', () => {
  const apimartChannel = (base: string, key: string) => `  - name: relay
    provider: apimart
    base_url: ${base}
    api_keys: [${key}]
    models: "*"
    ${FAST_POLLING}
`;

  it.each([
    ['array', 'array', false],
    ['object', 'string', false],
    ['array', 'string', true],
  ] as const)('relays to an APIMart-compatible upstream (data as %s, url as %s, answer versions %s)', async (variant, urlVariant, speaksVersions) => {
    const apimart = await fakeApimart({ variant, urlVariant, speaksVersions });
    const t = await gateway(apimartChannel(apimart.baseUrl, 'apimart-key'));
    const id = await t.submit({ ...CASE_1, image_urls: undefined });
    expect(await t.settled(id)).toMatchObject({ status: 'completed', provider: 'relay' });
    const [submission] = apimart.submissions();
    expect(submission!.headers['idempotency-key']).toBe(id);
    expect(submission!.headers['x-apimart-response-version']).toBe('2026-07-27');
    expect(submission!.body).toMatchObject({
      model: 'doubao-seedance-2.0',
      prompt: CASE_1.prompt,
      duration: 5,
      size: '16:9',
      resolution: '720p',
      generate_audio: true,
    });
  });

  // The seed-era client's cascade is 'cascades: vidgate → vidgate → local' further down; this is the current client's.
  it.each(['2026-07-27'])('cascades vidgate → vidgate → local with the client in answer version %s', async (version: string | null) => {
    const downstream = await startTestApp();
    cleanups.push(() => downstream.close());
    const target = await downstream.app.server.listen({ host: '127.0.0.1', port: 0 });
    const t = await gateway(apimartChannel(target, TEST_KEY));
    const res = await t.app.server.inject({
      method: 'POST',
      url: '/v1/videos/generations',
      headers: { ...t.auth, 'content-type': 'application/json', ...(version ? { 'x-apimart-response-version': version } : {}) },
      payload: JSON.stringify({ model: 'doubao-seedance-2.0', prompt: 'A kite over the dunes', resolution: '480p', duration: 4 }),
    });
    expect(res.statusCode, res.body).toBe(200);
    const id: string = version ? res.json().data.id : res.json().data[0].task_id;
    expect(await t.settled(id)).toMatchObject({ status: 'completed', provider: 'relay' });
    // One task downstream, completed, whatever version the client spoke (the hop between speaks the current one).
    const below = await downstream.app.store.listTasks({
      accountId: (await downstream.app.store.findApiKeyByHash(hashApiKey(TEST_KEY)))!.accountId,
      limit: 10,
    });
    expect(below.map((b) => b.status)).toEqual(['completed']);
    const view = (await t.app.server.inject({ method: 'GET', url: `/v1/tasks/${id}`, headers: t.auth })).json().data;
    const url = new URL(view.result.videos[0].url[0]);
    expect(url.pathname.endsWith(`/${id}.mp4`)).toBe(true);
    const file = await t.app.server.inject({ method: 'GET', url: url.pathname });
    expect(file.statusCode).toBe(200);
    expect(file.rawPayload.subarray(4, 8).toString()).toBe('ftyp');
  });

  it('a submit whose answer is lost is asked again with the same Idempotency-Key, and the upstream keeps one task', async () => {
    const downstream = await startTestApp();
    cleanups.push(() => downstream.close());
    const target = new URL(await downstream.app.server.listen({ host: '127.0.0.1', port: 0 }));
    // A proxy that lets the first submit through, then cuts the connection instead of answering.
    let submits = 0;
    const proxy = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', async () => {
        const headers = Object.fromEntries(Object.entries(req.headers).filter(([name]) => name !== 'host' && name !== 'content-length')) as Record<
          string,
          string
        >;
        const answer = await fetch(new URL(req.url!, target), { method: req.method, headers, body: req.method === 'POST' ? Buffer.concat(chunks) : undefined });
        const body = Buffer.from(await answer.arrayBuffer());
        if (req.method === 'POST' && ++submits === 1) return req.socket.destroy();
        res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
        res.end(body);
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => proxy.close(resolve)));
    const key = (await createAccountWithKey(downstream.app.store, { name: 'upstream gateway' })).secret;
    const front = await gateway(apimartChannel(`http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, key));
    const id = await front.submit({ model: 'doubao-seedance-2.0', prompt: 'Lost answer', resolution: '480p', duration: 4 });
    expect(await front.settled(id)).toMatchObject({ status: 'completed', provider: 'relay' });
    expect(submits).toBe(2);
    const account = (await downstream.app.store.findApiKeyByHash(hashApiKey(key)))!;
    expect(await downstream.app.store.listTasks({ accountId: account.accountId, limit: 5 })).toHaveLength(1);
  });

  it('cascades: vidgate → vidgate → local', async () => {
    const downstream = await startTestApp();
    cleanups.push(() => downstream.close());
    const address = await downstream.app.server.listen({ host: '127.0.0.1', port: 0 });
    const created = await createAccountWithKey(downstream.app.store, { name: 'upstream gateway' });
    const front = await gateway(apimartChannel(address, created.secret));
    const id = await front.submit({ model: 'doubao-seedance-2.0', prompt: 'Cascade', resolution: '480p', duration: 4 });
    const done = await front.settled(id);
    expect(done).toMatchObject({ status: 'completed', provider: 'relay' });
    const downstreamTasks = await downstream.app.store.listTasks({ accountId: created.key.accountId, limit: 5 });
    expect(downstreamTasks).toEqual([expect.objectContaining({ status: 'completed', provider: 'local' })]);
  });
});

describe('ark results hosted by peers we did not write', () => {
  let video: Buffer;
  let frame: Buffer;
  let hosted: string;
  let release: () => void;

  beforeAll(async () => {
    release = holdSamples();
    // 1.6 MB, more than undici buffers: the body is under backpressure when a closing peer's FIN arrives.
    video = await readFile(await sampleVideo({ width: 1280, height: 720, seconds: 2, audio: true }));
    frame = await readFile(await sampleFrame());
    hosted = await mkdtemp(join(tmpdir(), 'vidgate-hosted-results-'));
    await writeFile(join(hosted, 'result.mp4'), video);
    await writeFile(join(hosted, 'last_frame.png'), frame);
  });
  afterAll(async () => {
    release?.();
    if (hosted) await rm(hosted, { recursive: true, force: true });
  });

  /** A task with a last frame whose Ark twin succeeds with these links. */
  async function finishedWith(content: { video_url: string; last_frame_url: string }) {
    const ark = await fakeArk();
    ark.lifecycle.queued = Infinity;
    const t = await gateway(arkChannel(ark));
    const id = await t.submit({ ...CASE_1, return_last_frame: true });
    await expect.poll(() => ark.tasks().length).toBe(1);
    ark.advance(ark.tasks()[0]!.id, 'succeeded', { content });
    return { t, task: await t.settled(id) };
  }

  const expectCopied = async (t: TestApp, task: Awaited<ReturnType<typeof finishedWith>>['task']) => {
    expect(task.status, JSON.stringify(task.error)).toBe('completed');
    expect((await readFile(join(t.dataDir, 'results', task.result!.video.key))).equals(video)).toBe(true);
    expect((await readFile(join(t.dataDir, 'results', task.result!.lastFrame!.key))).equals(frame)).toBe(true);
  };

  it.each(PYTHON_PROTOCOLS)("Python's http.server in %s: the video and last frame are copied byte for byte", async (protocol) => {
    const python = await startPythonFileServer({ dir: hosted, protocol });
    cleanups.push(() => python.close());
    const { t, task } = await finishedWith({ video_url: python.url('result.mp4'), last_frame_url: python.url('last_frame.png') });
    await expectCopied(t, task);
    await python.waitForRequests('/last_frame.png');
    expect(python.requests.map((r) => `${r.path} ${r.status}`)).toEqual(['/result.mp4 200', '/last_frame.png 200']);
    expect(python.errors).toEqual([]);
  });

  const rawHosts = async (framing: Framing) => {
    const [videoHost, frameHost] = await Promise.all([
      startRawHttpServer({ framing, body: video, contentType: 'video/mp4' }),
      startRawHttpServer({ framing: 'content-length', body: frame, contentType: 'image/png' }),
    ]);
    cleanups.push(
      () => videoHost.close(),
      () => frameHost.close(),
    );
    return { video_url: `${videoHost.url}/result.mp4`, last_frame_url: `${frameHost.url}/last_frame.png` };
  };

  // `chunked` is chunked encoding with `Connection: close`: the body's end and the FIN arrive together.
  it.each(['content-length', 'chunked', 'eof'] as Framing[])(
    'a raw socket server answering with %s framing, then FIN: copied byte for byte',
    async (framing) => {
      const { t, task } = await finishedWith(await rawHosts(framing));
      await expectCopied(t, task);
    },
  );

  it.each([
    ['short-content-length', 'the body did not match its Content-Length'],
    ['truncated-chunked', 'the connection was closed before the file was complete'],
    ['reset', 'the connection was closed before the file was complete'],
  ] as Array<[Framing, string]>)(
    'a raw socket server answering with %s framing: the task fails with a clear error, refunded, the service alive',
    async (framing, detail) => {
      const { t, task } = await finishedWith(await rawHosts(framing));
      expect(task).toMatchObject({
        status: 'failed',
        error: { code: 'provider_error', params: { detail: `could not copy the result from the upstream: ${detail}` } },
      });
      expect(await ledgerKinds(t, task)).toEqual(['refund', 'reserve']);
      expect((await t.app.server.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    },
  );
});
