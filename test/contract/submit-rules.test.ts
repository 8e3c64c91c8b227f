import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, TEST_KEY, type TestApp } from '../helpers/test-app.js';
import { hashApiKey } from '../../src/auth/keys.js';

let t: TestApp;
let accountId: string;
beforeAll(async () => {
  // Many tasks stay queued here (no dispatcher), far more than the default in-flight limit.
  t = await startTestApp({ VIDGATE_DEFAULT_IN_FLIGHT: '10000' }, { runDispatcher: false });
  accountId = (await t.app.store.findApiKeyByHash(hashApiKey(TEST_KEY)))!.accountId;
});
const taskCount = async () => (await t.app.store.listTasks({ accountId, limit: 1000 })).length;
afterAll(() => t.close());

const base = { model: 'doubao-seedance-2.0', prompt: 'A kitten yawning at the camera' };
const img = (n: number) => `https://media.example/img${n}.jpg`;

async function post(payload: unknown, headers: Record<string, string> = {}) {
  return t.app.server.inject({
    method: 'POST',
    url: '/v1/videos/generations',
    headers: { ...t.auth, 'content-type': 'application/json', ...headers },
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
  });
}

async function rejected(body: unknown, param: string | undefined, fragment: RegExp) {
  const before = await taskCount();
  const res = await post(body);
  expect(res.statusCode, res.body).toBe(400);
  const { error } = res.json();
  expect(error.code).toBe(400);
  expect(error.type).toBe('invalid_request_error');
  expect(error.param).toBe(param);
  expect(error.message).toMatch(fragment);
  expect(await taskCount()).toBe(before);
}

async function accepted(body: unknown) {
  const res = await post(body);
  expect(res.statusCode, res.body).toBe(200);
  const id: string = res.json().data[0].task_id;
  const task = await t.app.store.getTask(id);
  expect(task).not.toBeNull();
  return task!;
}

describe('model', () => {
  it('is required', () => rejected({ prompt: 'x' }, 'model', /model is required: one of doubao-seedance-2.0/));
  it('must be one of the catalog', () => rejected({ ...base, model: 'sora-2' }, 'model', /"sora-2" is not supported: use one of .*doubao-seedance-2.0-mini/));
  it('accepts the newer alias names and stores the canonical id', async () => {
    expect((await accepted({ ...base, model: 'seedance-2.0-fast' })).request.model).toBe('doubao-seedance-2.0-fast');
  });
});

describe('prompt', () => {
  it('is required for text-to-video', () => rejected({ model: 'doubao-seedance-2.0' }, 'prompt', /prompt is required/));
  it('may not be only whitespace for text-to-video', () => rejected({ ...base, prompt: '  \n ' }, 'prompt', /prompt is required/));
  it('is optional with an image reference', async () => {
    expect((await accepted({ model: 'doubao-seedance-2.0', image_urls: [img(1)] })).request.prompt).toBe('');
  });
  it('is optional with a video reference', async () => {
    await accepted({ model: 'doubao-seedance-2.0', video_urls: ['https://media.example/v.mp4'] });
  });
  it('must be a string', () => rejected({ ...base, prompt: 42 }, 'prompt', /prompt must be a string/));
  it('is limited to 4000 Unicode characters, counted as characters not bytes', async () => {
    await accepted({ ...base, prompt: '猫'.repeat(4000) });
    await accepted({ ...base, prompt: '😺'.repeat(4000) });
    await rejected({ ...base, prompt: 'a'.repeat(4001) }, 'prompt', /4001 characters; doubao-seedance-2.0 allows at most 4000/);
  });
  it('has no limit on the mini model', async () => {
    await accepted({ ...base, model: 'doubao-seedance-2.0-mini', prompt: 'a'.repeat(20_000) });
  });
});

describe('duration', () => {
  it('defaults to 5', async () => expect((await accepted(base)).request.duration).toBe(5));
  it.each([4, 15])('accepts %i', async (duration) => expect((await accepted({ ...base, duration })).request.duration).toBe(duration));
  it.each([3, 16, 0, -5])('rejects %i', (duration) => rejected({ ...base, duration }, 'duration', /integer number of seconds from 4 to 15/));
  it('rejects fractions', () => rejected({ ...base, duration: 5.5 }, 'duration', /from 4 to 15/));
  it('rejects strings', () => rejected({ ...base, duration: '5' }, 'duration', /from 4 to 15/));
});

describe('size', () => {
  it('defaults to 16:9', async () => expect((await accepted(base)).request.size).toBe('16:9'));
  it.each(['16:9', '9:16', '1:1', '4:3', '3:4', '21:9', 'adaptive'])('accepts %s', async (size) => {
    expect((await accepted({ ...base, size })).request.size).toBe(size);
  });
  it('rejects other ratios and names the allowed ones', () =>
    rejected({ ...base, size: '2:1' }, 'size', /size must be one of 16:9, 4:3, 1:1, 3:4, 9:16, 21:9, adaptive/));
});

describe('resolution', () => {
  it('defaults to 720p', async () => expect((await accepted(base)).request.resolution).toBe('720p'));
  it('offers 4k on the standard model', async () => expect((await accepted({ ...base, resolution: '4k' })).request.resolution).toBe('4k'));
  it('refuses 1080p on the fast model, naming what it offers', () =>
    rejected(
      { ...base, model: 'doubao-seedance-2.0-fast', resolution: '1080p' },
      'resolution',
      /not available for doubao-seedance-2.0-fast: use one of 480p, 720p/,
    ));
  it('offers 1080p but not 4k on the face model', async () => {
    await accepted({ ...base, model: 'doubao-seedance-2.0-face', resolution: '1080p' });
    await rejected({ ...base, model: 'doubao-seedance-2.0-face', resolution: '4k' }, 'resolution', /480p, 720p, 1080p/);
  });
  it('refuses 1080p on the mini and fast-face models', async () => {
    await rejected({ ...base, model: 'doubao-seedance-2.0-mini', resolution: '1080p' }, 'resolution', /mini/);
    await rejected({ ...base, model: 'doubao-seedance-2.0-fast-face', resolution: '1080p' }, 'resolution', /fast-face/);
  });
  it('rejects unknown values', () => rejected({ ...base, resolution: '360p' }, 'resolution', /use one of 480p, 720p, 1080p, 4k/));
});

describe('seed', () => {
  it('accepts -1 and resolves it to a concrete seed', async () => {
    const task = await accepted({ ...base, seed: -1 });
    expect(task.request.requestedSeed).toBe(-1);
    expect(task.seed).toBeGreaterThanOrEqual(0);
  });
  it('keeps a given seed', async () => expect((await accepted({ ...base, seed: 4294967295 })).seed).toBe(4294967295));
  it.each([-2, 4294967296, 1.5, '42'])('rejects %s', (seed) => rejected({ ...base, seed }, 'seed', /seed must be an integer from -1 to 4294967295/));
});

describe('booleans and tools', () => {
  it('defaults generate_audio and return_last_frame to false', async () => {
    const { request } = await accepted(base);
    expect([request.generateAudio, request.returnLastFrame]).toEqual([false, false]);
  });
  it('rejects a string for generate_audio', () => rejected({ ...base, generate_audio: 'true' }, 'generate_audio', /true or false/));
  it('rejects a number for return_last_frame', () => rejected({ ...base, return_last_frame: 1 }, 'return_last_frame', /true or false/));
  it('accepts web_search', async () => expect((await accepted({ ...base, tools: [{ type: 'web_search' }] })).request.tools).toEqual([{ type: 'web_search' }]));
  it('rejects other tool types', () => rejected({ ...base, tools: [{ type: 'code_interpreter' }] }, 'tools[0].type', /"web_search"/));
  it('rejects tools that are not an array', () => rejected({ ...base, tools: 'web_search' }, 'tools', /array/));
});

describe('image_urls and image_with_roles', () => {
  it('one plain image without video or audio is the first frame', async () => {
    const { request } = await accepted({ ...base, image_urls: [img(1)] });
    expect(request.media).toMatchObject([{ kind: 'image', role: 'first_frame', field: 'image_urls[0]' }]);
  });
  it('several images are reference images', async () => {
    const { request } = await accepted({ ...base, image_urls: [img(1), img(2)] });
    expect(request.media.map((m) => m.role)).toEqual(['reference_image', 'reference_image']);
  });
  it('one image with a video is a reference image', async () => {
    const { request } = await accepted({ ...base, image_urls: [img(1)], video_urls: ['https://media.example/v.mp4'] });
    expect(request.media[0]!.role).toBe('reference_image');
  });
  it('allows at most 9 image_urls', () => rejected({ ...base, image_urls: Array.from({ length: 10 }, (_, i) => img(i)) }, 'image_urls', /at most 9/));
  it('image_urls entries must be strings', () => rejected({ ...base, image_urls: [{ url: img(1) }] }, 'image_urls[0]', /URL strings/));
  it('allows at most 9 image_with_roles', () =>
    rejected({ ...base, image_with_roles: Array.from({ length: 10 }, (_, i) => ({ url: img(i), role: 'reference_image' })) }, 'image_with_roles', /at most 9/));
  it('roles must be first_frame, last_frame or reference_image', () =>
    rejected({ ...base, image_with_roles: [{ url: img(1), role: 'middle_frame' }] }, 'image_with_roles[0].role', /first_frame, last_frame, reference_image/));
  it('never both fields at once', () =>
    rejected({ ...base, image_urls: [img(1)], image_with_roles: [{ url: img(2), role: 'first_frame' }] }, 'image_with_roles', /cannot be used together/));
  it('at most one first_frame', () =>
    rejected(
      {
        ...base,
        image_with_roles: [
          { url: img(1), role: 'first_frame' },
          { url: img(2), role: 'first_frame' },
        ],
      },
      'image_with_roles',
      /at most one first_frame/,
    ));
  it('at most one last_frame', () =>
    rejected(
      {
        ...base,
        image_with_roles: [
          { url: img(1), role: 'first_frame' },
          { url: img(2), role: 'last_frame' },
          { url: img(3), role: 'last_frame' },
        ],
      },
      'image_with_roles',
      /at most one last_frame/,
    ));
  it('a last_frame needs a first_frame', () =>
    rejected({ ...base, image_with_roles: [{ url: img(1), role: 'last_frame' }] }, 'image_with_roles', /last_frame needs a first_frame/));
  it('first/last frames do not mix with reference images', () =>
    rejected(
      {
        ...base,
        image_with_roles: [
          { url: img(1), role: 'first_frame' },
          { url: img(2), role: 'reference_image' },
        ],
      },
      'image_with_roles',
      /cannot be mixed with reference_image/,
    ));
  it('first/last frames do not mix with video_urls', () =>
    rejected(
      { ...base, image_with_roles: [{ url: img(1), role: 'first_frame' }], video_urls: ['https://media.example/v.mp4'] },
      'video_urls',
      /first_frame\/last_frame/,
    ));
  it('first/last frames do not mix with audio_urls', () =>
    rejected(
      { ...base, image_with_roles: [{ url: img(1), role: 'first_frame' }], audio_urls: ['https://media.example/a.mp3'] },
      'audio_urls',
      /first_frame\/last_frame/,
    ));
  it('accepts a first and a last frame', async () => {
    const { request } = await accepted({
      ...base,
      image_with_roles: [
        { url: img(1), role: 'first_frame' },
        { url: img(2), role: 'last_frame' },
      ],
    });
    expect(request.media.map((m) => m.role)).toEqual(['first_frame', 'last_frame']);
  });
});

describe('video_urls and audio_urls', () => {
  const video = (n: number) => `https://media.example/v${n}.mp4`;
  const audio = (n: number) => `https://media.example/a${n}.mp3`;
  it('allows at most 3 videos', () => rejected({ ...base, video_urls: [video(1), video(2), video(3), video(4)] }, 'video_urls', /at most 3 videos/));
  it('allows at most 3 audio files', () =>
    rejected({ ...base, video_urls: [video(1)], audio_urls: [audio(1), audio(2), audio(3), audio(4)] }, 'audio_urls', /at most 3 audio/));
  it('audio needs an image or video reference', () =>
    rejected({ ...base, audio_urls: [audio(1)] }, 'audio_urls', /needs at least one reference image or reference video/));
  it('audio with one image makes that image a reference', async () => {
    const { request } = await accepted({ ...base, image_urls: [img(1)], audio_urls: [audio(1)] });
    expect(request.media.map((m) => m.role)).toEqual(['reference_image', 'reference_audio']);
  });
  it('at most 12 reference files in all', () =>
    rejected(
      { ...base, image_urls: Array.from({ length: 9 }, (_, i) => img(i)), video_urls: [video(1), video(2), video(3)], audio_urls: [audio(1)] },
      'image_urls',
      /at most 12 reference files/,
    ));
  it('12 reference files are fine', async () => {
    await accepted({ ...base, image_urls: Array.from({ length: 9 }, (_, i) => img(i)), video_urls: [video(1), video(2), video(3)] });
  });
});

describe('URLs', () => {
  it.each([
    ['ftp://media.example/a.jpg', /only http, https and asset URLs/],
    ['file:///etc/passwd', /only http, https and asset URLs/],
    ['data:image/png;base64,AAAA', /only http, https and asset URLs/],
    ['javascript:alert(1)', /only http, https and asset URLs/],
    ['not a url', /not a valid URL/],
    ['https://user:pass@media.example/a.jpg', /credentials/],
    ['asset://', /not a valid asset URL/],
  ])('rejects %s', (url, message) => rejected({ ...base, image_urls: [url] }, 'image_urls[0]', message));
  it('rejects over-long URLs', () => rejected({ ...base, video_urls: [`https://media.example/${'a'.repeat(5000)}`] }, 'video_urls[0]', /longer than 4096/));
  it('names the failing entry of image_with_roles', () =>
    rejected(
      {
        ...base,
        image_with_roles: [
          { url: img(1), role: 'first_frame' },
          { url: 'gopher://x', role: 'last_frame' },
        ],
      },
      'image_with_roles[1].url',
      /gopher/,
    ));
  it('asset URLs are refused on models without asset support, naming the model', () =>
    rejected(
      { ...base, model: 'doubao-seedance-2.0-face', image_urls: ['asset://asset_a'] },
      'image_urls[0]',
      /only supported by doubao-seedance-2.0 and doubao-seedance-2.0-fast, not doubao-seedance-2.0-face/,
    ));
  it('asset URLs of assets the account does not have are refused', () =>
    rejected({ ...base, image_urls: ['asset://asset_a'] }, 'image_urls[0]', /asset "asset_a" was not found among this account's approved assets/));
});

describe('the body', () => {
  it('ignores unknown fields', async () => {
    const task = await accepted({ ...base, aspect_ratio: '16:9', n: 4, callback: { deep: true } });
    expect(task.request).not.toHaveProperty('aspect_ratio');
  });
  it('treats null as absent', async () => {
    const { request } = await accepted({ ...base, duration: null, size: null, seed: null, image_urls: null });
    expect([request.duration, request.size, request.media]).toEqual([5, '16:9', []]);
  });
  it('rejects malformed JSON', async () => {
    const res = await post('{"model": "doubao-seedance-2.0",');
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 400, type: 'invalid_request_error', message: expect.stringMatching(/not valid JSON/) });
  });
  it('rejects an empty body', async () => {
    const res = await post('');
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toMatch(/empty/);
  });
  it('rejects a body that is not an object', () => rejected(['doubao-seedance-2.0'], undefined, /JSON object/));
  it('parses JSON sent without a JSON content type', async () => {
    const res = await post(JSON.stringify(base), { 'content-type': 'text/plain' });
    expect(res.statusCode, res.body).toBe(200);
  });
  it('refuses bodies over the limit with 413', async () => {
    const res = await post({ ...base, prompt: 'a'.repeat(2 * 1024 * 1024) });
    expect(res.statusCode).toBe(413);
    expect(res.json().error).toMatchObject({ code: 413, type: 'invalid_request_error', message: expect.stringMatching(/larger than the 1048576 bytes/) });
  });
  it('does not pollute prototypes', async () => {
    const res = await post('{"model":"doubao-seedance-2.0","prompt":"x","__proto__":{"polluted":true}}');
    expect(res.statusCode).toBe(400);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
