import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeApimart, type ApimartTaskObject, type FakeApimart } from '../helpers/upstreams/fake-apimart.js';
import { startFakeArk, type ArkTaskObject, type FakeArk } from '../helpers/upstreams/fake-ark.js';

const auth = (key: string) => ({ authorization: `Bearer ${key}`, 'content-type': 'application/json' });
const post = (url: string, key: string, body: unknown) => fetch(url, { method: 'POST', headers: auth(key), body: JSON.stringify(body) });
const get = (url: string, key: string) => fetch(url, { headers: auth(key) });

async function download(url: string): Promise<Buffer> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

describe('fake Ark', () => {
  let ark: FakeArk;
  beforeAll(async () => {
    ark = await startFakeArk({ keys: ['key-a', 'key-b'] });
  });
  afterAll(() => ark.close());

  const tasks = () => `${ark.baseUrl}/contents/generations/tasks`;
  const submit = async (key: string, extra: Record<string, unknown> = {}) => {
    const res = await post(tasks(), key, {
      model: 'doubao-seedance-2-0-260128',
      content: [{ type: 'text', text: 'a cat on a sofa' }],
      ratio: '16:9',
      duration: 5,
      ...extra,
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { id: string }).id;
  };
  const poll = async (id: string, key = 'key-a') => (await (await get(`${tasks()}/${id}`, key)).json()) as ArkTaskObject;

  it('runs a task: queued → running → succeeded, with a real MP4 and last frame', async () => {
    const id = await submit('key-a', { generate_audio: true, return_last_frame: true });
    expect(id).toMatch(/^cgt-\d{14}-[a-z0-9]{5}$/);
    expect((await poll(id)).status).toBe('queued');
    expect((await poll(id)).status).toBe('running');
    const done = await poll(id);
    expect(done).toMatchObject({ id, status: 'succeeded', model: 'doubao-seedance-2-0-260128', duration: 5, framespersecond: 24 });
    expect(done.usage!.completion_tokens).toBeGreaterThan(0);
    expect((await download(done.content!.video_url)).subarray(4, 8).toString('latin1')).toBe('ftyp');
    expect((await download(done.content!.last_frame_url!)).subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(ark.submissions().at(-1)!.headers.authorization).toBe('Bearer key-a');

    ark.expireFiles(id);
    expect((await fetch(done.content!.video_url)).status).toBe(404);
  });

  it('lists by filter.task_ids, only the caller’s tasks; another key’s task is a 404', async () => {
    const [a1, a2, b1] = [await submit('key-a'), await submit('key-a'), await submit('key-b')];
    const query = [a1, a2, b1].map((id) => `filter.task_ids=${id}`).join('&');
    const res = await get(`${tasks()}?page_num=1&page_size=500&${query}`, 'key-a');
    const list = (await res.json()) as { items: ArkTaskObject[]; total: number };
    expect(list.total).toBe(2);
    expect(list.items.map((t) => t.id)).toEqual([a2, a1]);
    expect((await get(`${tasks()}/${b1}`, 'key-a')).status).toBe(404);
    expect((await get(`${tasks()}?page_size=501`, 'key-a')).status).toBe(400);
    expect((await get(`${tasks()}/${b1}`, 'nope')).status).toBe(401);
  });

  it('rejects unknown models, cancels only queued tasks, and fails tasks on demand', async () => {
    const bad = await post(tasks(), 'key-a', { model: 'nope', content: [{ type: 'text', text: 'x' }] });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: 'InvalidParameter', message: expect.stringContaining('model') } });

    const queued = await submit('key-a');
    expect((await fetch(`${tasks()}/${queued}`, { method: 'DELETE', headers: auth('key-a') })).status).toBe(200);
    expect((await poll(queued)).status).toBe('cancelled');
    const running = await submit('key-a');
    ark.advance(running, 'running');
    const refused = await fetch(`${tasks()}/${running}`, { method: 'DELETE', headers: auth('key-a') });
    expect(refused.status).toBe(409);
    expect(await refused.json()).toMatchObject({ error: { code: 'InvalidAction' } });

    ark.fail(running);
    expect(await poll(running)).toMatchObject({ status: 'failed', error: { code: 'OutputVideoSensitiveContentDetected' } });
    ark.lose(running);
    expect((await get(`${tasks()}/${running}`, 'key-a')).status).toBe(404);
  });

  it('misbehaves on demand: 429 at submit, then a malformed poll once', async () => {
    const id = await submit('key-a');
    ark.behaviour.submit = 'status:429';
    const limited = await post(tasks(), 'key-a', { model: 'doubao-seedance-2-0-260128', content: [{ type: 'text', text: 'x' }] });
    expect(limited.status).toBe(429);
    expect(await limited.json()).toMatchObject({ error: { code: 'RateLimitExceeded' } });
    ark.behaviour.submit = 'ok';

    ark.queue('poll', 'malformed');
    await expect((await get(`${tasks()}/${id}`, 'key-a')).json()).rejects.toThrow();
    expect((await poll(id)).status).toBe('queued'); // the malformed answer did not count as a read
  });
});

describe('fake APIMart', () => {
  let apimart: FakeApimart;
  beforeAll(async () => {
    apimart = await startFakeApimart();
  });
  afterAll(() => apimart.close());

  const submit = (body: Record<string, unknown> = {}) =>
    post(`${apimart.baseUrl}/v1/videos/generations`, 'apimart-key', { model: 'doubao-seedance-2.0', prompt: 'a cat', ...body });
  const poll = async (id: string) =>
    ((await (await get(`${apimart.baseUrl}/v1/tasks/${id}`, 'apimart-key')).json()) as { code: number; data: ApimartTaskObject }).data;

  it('runs a task: pending → processing → completed, url as array or string', async () => {
    const res = await submit();
    const answer = (await res.json()) as { code: number; data: Array<{ status: string; task_id: string }> };
    expect(answer.code).toBe(200);
    expect(answer.data[0]).toMatchObject({ status: 'submitted', task_id: expect.stringMatching(/^task_[0-9A-Z]{26}$/) });
    const id = answer.data[0]!.task_id;
    expect((await poll(id)).status).toBe('pending');
    expect((await poll(id)).status).toBe('processing');
    const done = await poll(id);
    expect(done).toMatchObject({ id, status: 'completed', progress: 100 });
    const url = done.result!.videos[0]!.url;
    expect(Array.isArray(url)).toBe(true);
    expect((await download((url as string[])[0]!)).subarray(4, 8).toString('latin1')).toBe('ftyp');

    apimart.variant = 'object';
    apimart.urlVariant = 'string';
    const second = (await (await submit()).json()) as { data: { task_id: string } };
    apimart.advance(second.data.task_id, 'completed');
    expect(typeof (await poll(second.data.task_id)).result!.videos[0]!.url).toBe('string');
    expect((await get(`${apimart.baseUrl}/v1/tasks/${id}`, 'other-key')).status).toBe(401);
  });

  it('misbehaves on demand: 429 with Retry-After, then a timeout', async () => {
    apimart.queue('submit', 'status:429', 'timeout');
    const limited = await submit();
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
    expect(await limited.json()).toEqual({ error: { code: 429, message: expect.any(String), type: 'rate_limit_error' } });
    await expect(
      fetch(`${apimart.baseUrl}/v1/videos/generations`, { method: 'POST', headers: auth('apimart-key'), body: '{}', signal: AbortSignal.timeout(200) }),
    ).rejects.toThrow();
    expect((await submit()).status).toBe(200);
  });
});
