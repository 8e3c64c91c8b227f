import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { writeArkConfig } from '../helpers/upstreams/ark-config.js';
import { startFakeArk, type ArkContentItem, type ArkStatus, type FakeArk } from '../helpers/upstreams/fake-ark.js';
import { startFixtureServer, type FixtureServer } from '../helpers/fixture-server.js';
import { SEED_CASES, seedCase } from '../helpers/seed-cases.js';

/**
 * The 13 seed use cases through an `ark` channel (fake Ark on 127.0.0.1, media from the fixture
 * server), each Ark request body checked field by field against README: Configuration, and every Ark status
 * mapped to vidgate's. Expectations are written out here from Ark's API and the README, not derived from src.
 */

const PUBLIC_URL = 'https://vidgate.example';
/** README: Configuration: vidgate model → CN Ark model id (the channel's map). */
const UPSTREAM_MODEL: Record<string, string> = {
  'doubao-seedance-2.0': 'doubao-seedance-2-0-260128',
  'doubao-seedance-2.0-fast': 'doubao-seedance-2-0-fast-260128',
};

const cleanups: Array<() => Promise<unknown>> = [];

async function gateway(ark: FakeArk): Promise<TestApp> {
  const config = await writeArkConfig({
    baseUrl: ark.baseUrl,
    models: { 'doubao-seedance-2.0': 'doubao-seedance-2-0-260128', 'doubao-seedance-2.0-fast': 'doubao-seedance-2-0-fast-260128' },
    settings: { priority: 10, first_poll_ms: 5, max_poll_ms: 20 },
  });
  cleanups.push(config.remove);
  const configFile = config.file;
  const t = await startTestApp({ VIDGATE_CONFIG: configFile, VIDGATE_MEDIA_ALLOW_HOSTS: '127.0.0.1', VIDGATE_PUBLIC_URL: PUBLIC_URL });
  cleanups.push(() => t.close());
  return t;
}

const view = async (t: TestApp, id: string) => (await t.app.server.inject({ method: 'GET', url: `/v1/tasks/${id}`, headers: t.auth })).json().data;

/** The upstream task vidgate created for this task, once it has one. */
async function upstreamIdOf(t: TestApp, id: string): Promise<string> {
  for (let i = 0; ; i++) {
    const task = await t.app.store.getTask(id);
    const state = task?.providerState as { data?: { upstreamId?: string } } | null | undefined;
    if (state?.data?.upstreamId) return state.data.upstreamId;
    if (i === 2000) throw new Error(`no upstream task for ${id}: ${JSON.stringify(task)}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('the 13 seed use cases through an ark channel', () => {
  let ark: FakeArk;
  let fx: FixtureServer;
  let t: TestApp;
  /** Approved assets of the test account, created through the review flow. */
  const assets: { image: string; video: string } = { image: '', video: '' };

  beforeAll(async () => {
    ark = await startFakeArk();
    fx = await startFixtureServer();
    t = await gateway(ark);
    const review = async (assetType: 'Image' | 'Video', file: string) => {
      const res = await t.app.server.inject({
        method: 'POST',
        url: '/v1/seedance2/private-avatar',
        headers: t.auth,
        payload: { group: { name: `cast-${file}` }, asset_type: assetType, url: fx.url(file) },
      });
      expect(res.statusCode, res.body).toBe(200);
      await t.app.assets.whenIdle();
      const done = await view(t, res.json().data.id);
      expect(done.result.usable_assets).toHaveLength(1);
      return done.result.usable_assets[0].asset_id as string;
    };
    assets.image = await review('Image', 'cat.jpg');
    assets.video = await review('Video', 'dance_reference.mp4');
  }, 60_000);

  afterAll(async () => {
    for (const clean of cleanups.splice(0).reverse()) await clean();
    await ark?.close();
    await fx?.close();
  });

  /** The seed body with its media on the fixture server and asset_a replaced by the approved asset of the slot's kind. */
  function body(n: number): Record<string, unknown> {
    const b = seedCase(n, fx.baseUrl);
    const swap = (urls: unknown, id: string) => (urls as string[]).map((u) => (u === 'asset://asset_a' ? `asset://${id}` : u));
    if (b.image_urls) b.image_urls = swap(b.image_urls, assets.image);
    if (b.video_urls) b.video_urls = swap(b.video_urls, assets.video);
    if (b.image_with_roles) {
      b.image_with_roles = (b.image_with_roles as Array<{ url: string; role: string }>).map((i) => ({ ...i, url: swap([i.url], assets.image)[0] }));
    }
    return b;
  }

  /** README: Submit rules and §8: the content[] the Ark request must carry for a seed body, as matchers. */
  function expectedContent(b: Record<string, unknown>): unknown[] {
    const signed = (url: string, ext: string) => {
      const id = url.slice('asset://'.length);
      return expect.stringMatching(new RegExp(`^${PUBLIC_URL.replace(/\./g, '\\.')}/files/assets/${id}\\.${ext}\\?expires=\\d+&signature=[\\w-]+$`));
    };
    const target = (url: string, ext: string) => (url.startsWith('asset://') ? signed(url, ext) : url);
    const content: unknown[] = [];
    if (typeof b.prompt === 'string' && b.prompt.trim()) content.push({ type: 'text', text: b.prompt });
    const videos = (b.video_urls as string[] | undefined) ?? [];
    const audios = (b.audio_urls as string[] | undefined) ?? [];
    if (b.image_with_roles) {
      for (const i of b.image_with_roles as Array<{ url: string; role: string }>)
        content.push({ type: 'image_url', image_url: { url: target(i.url, 'jpg') }, role: i.role });
    } else if (b.image_urls) {
      const images = b.image_urls as string[];
      const firstFrame = images.length === 1 && !videos.length && !audios.length && !images[0]!.startsWith('asset://');
      for (const url of images)
        content.push({ type: 'image_url', image_url: { url: target(url, 'jpg') }, role: firstFrame ? 'first_frame' : 'reference_image' });
    }
    for (const url of videos) content.push({ type: 'video_url', video_url: { url: target(url, 'mp4') }, role: 'reference_video' });
    for (const url of audios) content.push({ type: 'audio_url', audio_url: { url }, role: 'reference_audio' });
    return content;
  }

  it.each(Object.keys(SEED_CASES).map(Number))(
    'case %i: the Ark request is README: Configuration field by field, and the task completes',
    async (n) => {
      const b = body(n);
      const id = await t.submit(b);
      const done = await t.settled(id);
      expect(done.status, JSON.stringify(done.error)).toBe('completed');
      expect(done.provider).toBe('ark-cn');
      if (b.return_last_frame) expect(done.result!.lastFrame).toMatchObject({ contentType: 'image/png' });
      else expect(done.result!.lastFrame).toBeFalsy();

      const upstream = ark.task(await upstreamIdOf(t, id))!;
      expect(upstream.key).toBe('ark-key');
      const sent = upstream.request;
      // Exactly these fields: no tools (none given), watermark always false.
      expect(Object.keys(sent).sort()).toEqual(
        ['content', 'duration', 'generate_audio', 'model', 'ratio', 'resolution', 'return_last_frame', 'seed', 'watermark'].sort(),
      );
      expect(sent.model).toBe(UPSTREAM_MODEL[b.model as string]);
      expect(sent.content).toEqual(expectedContent(b));
      expect(sent.ratio).toBe(b.size ?? '16:9');
      expect(sent.resolution).toBe(b.resolution ?? '720p');
      expect(sent.duration).toBe(b.duration ?? 5);
      expect(sent.seed).toBe(done.seed);
      if (typeof b.seed === 'number') expect(sent.seed).toBe(b.seed);
      expect(sent.generate_audio).toBe(b.generate_audio ?? false);
      expect(sent.return_last_frame).toBe(b.return_last_frame ?? false);
      expect(sent.watermark).toBe(false);

      // Asset links handed upstream are real signed links to the reviewed copies.
      for (const item of sent.content as ArkContentItem[]) {
        const url = item.image_url?.url ?? item.video_url?.url;
        if (!url?.startsWith(PUBLIC_URL)) continue;
        const u = new URL(url);
        const file = await t.app.server.inject({ method: 'GET', url: u.pathname + u.search });
        expect(file.statusCode).toBe(200);
      }
    },
    60_000,
  );

  it('passes tools only when given', async () => {
    const id = await t.submit({ model: 'doubao-seedance-2.0', prompt: 'Latest news montage', tools: [{ type: 'web_search' }] });
    expect(await t.settled(id)).toMatchObject({ status: 'completed' });
    expect(ark.task(await upstreamIdOf(t, id))!.request.tools).toEqual([{ type: 'web_search' }]);
  });
});

describe('every Ark status is mapped', () => {
  let ark: FakeArk;
  let t: TestApp;
  beforeAll(async () => {
    ark = await startFakeArk({ lifecycle: { queued: Infinity } });
    t = await gateway(ark);
  });
  afterAll(async () => {
    for (const clean of cleanups.splice(0).reverse()) await clean();
    await ark?.close();
  });
  afterEach(() => {
    ark.lifecycle.queued = Infinity;
  });

  const submitHeld = async () => {
    const id = await t.submit({ model: 'doubao-seedance-2.0', prompt: 'A kitten yawning at the camera', duration: 4, resolution: '480p' });
    return { id, upstreamId: await upstreamIdOf(t, id) };
  };

  // README: Configuration: queued → pending, although vidgate's dispatcher holds the task and polls it.
  it('queued → pending', async () => {
    const { id, upstreamId } = await submitHeld();
    await expect.poll(() => ark.task(upstreamId)!.polls, { timeout: 5000 }).toBeGreaterThan(2);
    try {
      expect((await view(t, id)).status).toBe('pending');
      // Held by this instance, parked while the upstream has it: that is what metrics show.
      const metrics = (await t.app.server.inject({ method: 'GET', url: '/metrics' })).body;
      expect(metrics).toMatch(/vidgate_tasks_held\{provider="ark-cn",state="parked"\} 1\n/);
    } finally {
      ark.advance(upstreamId, 'succeeded');
      await t.settled(id);
    }
  });

  it('running → processing, succeeded → completed', async () => {
    const { id, upstreamId } = await submitHeld();
    ark.advance(upstreamId, 'running');
    const polls = ark.task(upstreamId)!.polls;
    // Several polls see it running, and vidgate says processing all along.
    await expect.poll(() => ark.task(upstreamId)!.polls, { timeout: 5000 }).toBeGreaterThan(polls + 2);
    expect((await view(t, id)).status).toBe('processing');
    // Ark tells no progress: vidgate estimates it from the time running, and shows it rising.
    await expect.poll(async () => (await view(t, id)).progress, { timeout: 5000 }).toBeGreaterThan(0);
    ark.advance(upstreamId, 'succeeded');
    expect(await t.settled(id)).toMatchObject({ status: 'completed' });
    expect((await view(t, id)).status).toBe('completed');
  });

  it.each([
    ['failed', /UpstreamSaysNo: the upstream refused this one/],
    ['expired', /expired/],
  ] as Array<[ArkStatus, RegExp]>)('%s → failed, with a clear message, refunded', async (status, message) => {
    const { id, upstreamId } = await submitHeld();
    const before = (await t.app.store.getTask(id))!;
    if (status === 'failed') ark.fail(upstreamId, { code: 'UpstreamSaysNo', message: 'the upstream refused this one' });
    else ark.advance(upstreamId, status);
    const task = await t.settled(id);
    expect(task).toMatchObject({ status: 'failed', error: { code: 'provider_error' } });
    expect(String(task.error!.params.detail)).toMatch(message);
    const shown = await view(t, id);
    expect(shown.status).toBe('failed');
    expect(shown.error.message).toMatch(message);
    const ledger = await t.app.store.listLedger(before.accountId, 1000);
    expect(
      ledger
        .filter((e) => e.taskId === id)
        .map((e) => e.kind)
        .sort(),
    ).toEqual(['refund', 'reserve']);
  });

  it('cancelled → cancelled, with the reason, refunded', async () => {
    const { id, upstreamId } = await submitHeld();
    const before = (await t.app.store.getTask(id))!;
    ark.advance(upstreamId, 'cancelled');
    const task = await t.settled(id);
    expect(task).toMatchObject({ status: 'cancelled', error: { code: 'cancelled_upstream' } });
    const shown = await view(t, id);
    expect(shown.status).toBe('cancelled');
    expect(shown.error.message).toMatch(/provider cancelled the task/);
    const ledger = await t.app.store.listLedger(before.accountId, 1000);
    expect(
      ledger
        .filter((e) => e.taskId === id)
        .map((e) => e.kind)
        .sort(),
    ).toEqual(['refund', 'reserve']);
  });
});
