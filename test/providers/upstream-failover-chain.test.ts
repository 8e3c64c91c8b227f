import { afterEach, describe, expect, it } from 'vitest';
import { createAccountWithKey } from '../../src/auth/keys.js';
import { startFixtureServer } from '../helpers/fixture-server.js';
import { startFakeArk, type FakeArk } from '../helpers/upstreams/fake-ark.js';
import { startFakeFal, type FakeFal } from '../helpers/upstreams/fake-fal.js';
import { startFakeReplicate, type FakeReplicate } from '../helpers/upstreams/fake-replicate.js';
import { channelGateway, FAST_POLLING, LOCAL_CHANNEL, type Cleanups } from '../helpers/upstreams/channel-gateway.js';
import type { Behaviour } from '../helpers/upstreams/fake-server.js';

/**
 * One task through a chain of upstreams of three kinds: Ark first, then fal, then Replicate
 * (README: Configuration, failover). A channel that cannot take the task at submit passes it on;
 * whatever happens on the way, the account is charged once: one reservation, one settlement.
 */

const cleanups: Cleanups = [];
afterEach(async () => {
  for (const clean of cleanups.splice(0).reverse()) await clean();
});

interface Upstreams {
  ark: FakeArk;
  fal: FakeFal;
  replicate: FakeReplicate;
}

async function upstreams(): Promise<Upstreams> {
  const [ark, fal, replicate] = await Promise.all([startFakeArk(), startFakeFal(), startFakeReplicate()]);
  cleanups.push(
    () => ark.close(),
    () => fal.close(),
    () => replicate.close(),
  );
  return { ark, fal, replicate };
}

const chain = ({ ark, fal, replicate }: Upstreams, tail = '') => `  - name: ark-cn
    provider: ark
    base_url: ${ark.baseUrl}
    api_keys: [ark-key]
    models:
      doubao-seedance-2.0: doubao-seedance-2-0-260128
    priority: 30
    ${FAST_POLLING}
  - name: fal
    provider: fal
    base_url: ${fal.baseUrl}
    api_keys: [fal-key]
    models:
      doubao-seedance-2.0: bytedance/seedance-2.0
    priority: 20
    ${FAST_POLLING}
  - name: replicate
    provider: replicate
    base_url: ${replicate.baseUrl}
    api_keys: [r8-key]
    models:
      doubao-seedance-2.0: bytedance/seedance-2.0
    priority: 10
    ${FAST_POLLING}
${tail}`;

describe('failover Ark → fal → Replicate', () => {
  it.each([
    ['status:503', 'status:429'],
    ['status:429', 'status:503'],
    ['reset', 'malformed'],
  ] as Array<[Behaviour, Behaviour]>)(
    'Ark answers %s, fal %s: Replicate makes the video, and the account is charged once (one reserve, one settle)',
    async (arkSubmit, falSubmit) => {
      const up = await upstreams();
      up.ark.behaviour.submit = arkSubmit;
      up.fal.behaviour.submit = falSubmit;
      const fx = await startFixtureServer();
      cleanups.push(() => fx.close());
      const t = await channelGateway(cleanups, chain(up), { VIDGATE_BUSY_RETRY_MS: '60000' });
      const customer = await createAccountWithKey(t.app.store, { name: 'c', balanceUsd: 10 });
      const res = await t.app.server.inject({
        method: 'POST',
        url: '/v1/videos/generations',
        headers: { authorization: `Bearer ${customer.secret}` },
        // A reference video: the reservation covers the longest input, the settlement its real 3 s.
        payload: {
          model: 'doubao-seedance-2.0',
          prompt: 'Fruit tea advertisement',
          image_urls: [fx.url('tea_pic1.jpg'), fx.url('tea_pic2.jpg')],
          video_urls: [fx.url('tea_video1.mp4')],
          resolution: '720p',
          duration: 5,
        },
      });
      expect(res.statusCode, res.body).toBe(200);
      const id: string = res.json().data[0].task_id;
      const task = await t.settled(id);
      expect(task, JSON.stringify(task.error)).toMatchObject({ status: 'completed', provider: 'replicate', providerState: { tried: ['ark-cn', 'fal'] } });

      // Each channel was asked once; only Replicate made anything.
      expect(up.ark.submissions()).toHaveLength(1);
      expect(up.fal.submissions()).toHaveLength(1);
      expect(up.replicate.submissions()).toHaveLength(1);
      expect(up.ark.tasks()).toHaveLength(0);
      expect(up.fal.requestsMade()).toHaveLength(0);
      expect(up.replicate.predictions()).toHaveLength(1);
      expect(up.replicate.submissions()[0]!.body).toMatchObject({
        input: { reference_images: [fx.url('tea_pic1.jpg'), fx.url('tea_pic2.jpg')], reference_videos: [fx.url('tea_video1.mp4')] },
      });

      const ledger = (await t.app.store.listLedger(customer.key.accountId, 100)).filter((e) => e.taskId === id);
      expect(ledger.map((e) => e.kind).sort()).toEqual(['reserve', 'settle']);
      // Billed on the probed 3 s of reference video + 5 s of output, at the with-reference-video price.
      const price = Math.round(85_840 * (3 + 5));
      expect(task.costMicros).toBe(price);
      expect((await t.app.store.getAccount(customer.key.accountId))!.balanceMicros).toBe(10_000_000 - price);
    },
  );

  it('on failover, channels that cannot do the task are skipped too: past Ark, a last-frame task goes to the local channel', async () => {
    const up = await upstreams();
    up.ark.behaviour.submit = 'status:503';
    const t = await channelGateway(cleanups, chain(up, LOCAL_CHANNEL));
    const task = await t.settled(await t.submit({ model: 'doubao-seedance-2.0', prompt: 'A kite', resolution: '480p', duration: 4, return_last_frame: true }));
    expect(task, JSON.stringify(task.error)).toMatchObject({ status: 'completed', provider: 'sandbox', providerState: { tried: ['ark-cn'] } });
    expect(task.result!.lastFrame).toMatchObject({ contentType: 'image/png' });
    expect(up.fal.requests).toHaveLength(0);
    expect(up.replicate.requests).toHaveLength(0);
  });

  it('when the channels left cannot do the task, it fails naming what was tried, refunded', async () => {
    const up = await upstreams();
    up.ark.behaviour.submit = 'status:503';
    const t = await channelGateway(cleanups, chain(up));
    const task = await t.settled(await t.submit({ model: 'doubao-seedance-2.0', prompt: 'A kite', resolution: '1080p', duration: 4 }));
    expect(task).toMatchObject({ status: 'failed', error: { code: 'provider_error' } });
    expect(String(task.error!.params.detail)).toMatch(/^no channel could take the task \(tried ark-cn\)/);
    const ledger = (await t.app.store.listLedger(task.accountId, 100)).filter((e) => e.taskId === task.id);
    expect(ledger.map((e) => e.kind).sort()).toEqual(['refund', 'reserve']);
    expect(up.fal.requests).toHaveLength(0);
    expect(up.replicate.requests).toHaveLength(0);
  });

  it('every channel busy (429): the task waits in the queue and starts over from Ark, charged once', async () => {
    const up = await upstreams();
    up.ark.queue('submit', 'status:429');
    up.fal.queue('submit', 'status:429');
    up.replicate.queue('submit', 'status:429');
    const t = await channelGateway(cleanups, chain(up), { VIDGATE_BUSY_RETRY_MS: '20' });
    const task = await t.settled(await t.submit({ model: 'doubao-seedance-2.0', prompt: 'A kite', resolution: '480p', duration: 4 }));
    expect(task, JSON.stringify(task.error)).toMatchObject({ status: 'completed', provider: 'ark-cn' });
    expect(up.ark.submissions()).toHaveLength(2);
    expect(up.fal.submissions()).toHaveLength(1);
    expect(up.replicate.submissions()).toHaveLength(1);
    const ledger = (await t.app.store.listLedger(task.accountId, 100)).filter((e) => e.taskId === task.id);
    expect(ledger.map((e) => e.kind)).toEqual(['reserve']);
  });
});
