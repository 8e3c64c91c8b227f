import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type OpenedPage, openPage, type PageOptions, screenshot, waitForVideoPlaying } from '../helpers/browser.js';
import { type ConsoleServer, startConsoleServer } from '../helpers/console-server.js';
import { probe } from '../helpers/ffprobe.js';
import { type FixtureServer, startFixtureServer } from '../helpers/fixture-server.js';
import { ffmpeg } from '../helpers/media-tools.js';

/**
 * The playground as a new user meets it, in real Chromium against a real vidgate rendering with the
 * local ffmpeg renderer: every mode of the seed, submitted from the form, watched live, played,
 * downloaded and continued. Renders are small (480p, 4 s).
 */

/** expect.poll with room for a loaded machine (its default gives up after 1 s). */
const poll = <T>(read: () => T | Promise<T>) => expect.poll(read, { timeout: 20_000 });

let server: ConsoleServer;
let browser: Browser;
let media: FixtureServer;
let hang: { url: string; close(): Promise<void> };
let dir: string;
let imageAsset: string;
let videoAsset: string;

interface ApiTask {
  id: string;
  status: string;
  cost: number;
  result?: { videos: Array<{ url: string[] }>; last_frame_url?: string };
  request?: Record<string, unknown>;
}

async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const res = await fetch(`${server.url}${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: { authorization: `Bearer ${server.apiKey}`, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}
const getTask = async (id: string) => (await api<{ data: ApiTask }>(`/v1/tasks/${id}?include=request`)).data;

/** A page of the console with the key already given (as after a first visit). */
async function signedIn(opts: PageOptions = {}): Promise<OpenedPage> {
  const opened = await openPage(browser, opts);
  await opened.context.addInitScript((key) => localStorage.setItem('vidgate.key', key), server.apiKey);
  return opened;
}

/** Clicks Generate; the id of the task the submit created. */
async function generate(page: Page): Promise<string> {
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/v1/videos/generations'),
    page.click('[data-testid="generate"]'),
  ]);
  expect(response.status()).toBe(200);
  return ((await response.json()) as { data: Array<{ task_id: string }> }).data[0]!.task_id;
}

/** Every request the page makes, as `GET /path?query`. */
function recordRequests(page: Page): string[] {
  const requests: string[] = [];
  page.on('request', (request) => {
    const url = new URL(request.url());
    requests.push(`${request.method()} ${url.pathname}${url.search}`);
  });
  return requests;
}

/** Records every value the progress bar takes, from the first render on. */
const recordProgress = () => {
  const seen: number[] = [];
  (window as unknown as { __progress: number[] }).__progress = seen;
  new MutationObserver(() => {
    const bar = document.querySelector('[data-testid="task-progress"] [role="progressbar"]');
    const value = bar ? Number(bar.getAttribute('aria-valuenow')) : Number.NaN;
    if (!Number.isNaN(value) && seen.at(-1) !== value) seen.push(value);
  }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['aria-valuenow'] });
};

async function fillBasics(page: Page, prompt: string) {
  await page.fill('textarea[name="prompt"]', prompt);
  await page.selectOption('select[name="resolution"]', '480p');
  await page.fill('input[name="duration"]', '4');
}

const focused = (page: Page) => page.evaluate(() => (document.activeElement as HTMLInputElement | null)?.name);
const shownPrice = async (page: Page) => Number(await page.getAttribute('[data-testid="price"]', 'data-usd'));

async function download(page: Page, testId: string, name: string): Promise<{ file: string; suggested: string; bytes: Buffer }> {
  const [saved] = await Promise.all([page.waitForEvent('download'), page.click(`[data-testid="${testId}"]`)]);
  const file = join(dir, name);
  await saved.saveAs(file);
  return { file, suggested: saved.suggestedFilename(), bytes: await readFile(file) };
}

/** A media host that accepts the request and never answers: a task fetching from it stays running. */
async function startHangingServer(): Promise<{ url: string; close(): Promise<void> }> {
  const held: Server = createServer(() => {});
  await new Promise<void>((resolve) => held.listen(0, '127.0.0.1', resolve));
  const { port } = held.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        held.close(() => resolve());
        held.closeAllConnections();
      }),
  };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vidgate-console-playground-'));
  const still = (source: string, out: string) =>
    ffmpeg([
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      `${source}${source.includes('=') ? ':' : '='}s=640x360:r=1`,
      '-frames:v',
      '1',
      join(dir, out),
    ]);
  [server, browser, media, hang] = await Promise.all([
    startConsoleServer({ env: { VIDGATE_MEDIA_ALLOW_HOSTS: '127.0.0.1' } }),
    launchBrowser(),
    startFixtureServer(),
    startHangingServer(),
    still('testsrc2', 'day.png'),
    still('color=c=0x101840', 'night.jpg'),
  ]);
  // Two approved assets of the account: an image and a video.
  const review = async (type: string, url: string, name: string) => {
    const answer = await api<{ data: { id: string } }>('/v1/seedance2/private-avatar', {
      body: { group: { name: 'cast' }, asset_type: type, assets: [{ url, name }] },
    });
    await server.testApp.app.assets.whenIdle();
    const done = await api<{ data: { result: { usable_assets: Array<{ asset_id: string }> } } }>(`/v1/tasks/${answer.data.id}`);
    return done.data.result.usable_assets[0]!.asset_id;
  };
  imageAsset = await review('Image', media.url('cat.jpg'), 'cat portrait');
  videoAsset = await review('Video', media.url('reference.mp4'), 'test pattern moves');
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all([server?.close(), media?.close(), hang?.close()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('playground', () => {
  it('asks a first visitor for the key, then a text video is watched live over SSE, plays, downloads and costs the price shown', async () => {
    const { page, problems, close } = await openPage(browser);
    const requests = recordRequests(page);
    await page.addInitScript(recordProgress);
    await page.goto(`${server.url}/`);
    await page.locator('h1', { hasText: 'Welcome to vidgate' }).waitFor();
    await page.fill('input[name="api_key"]', server.apiKey);
    await page.click('button[type="submit"]');
    await page.locator('textarea[name="prompt"]').waitFor();
    expect(await page.evaluate(() => localStorage.getItem('vidgate.key'))).toBe(server.apiKey);

    await fillBasics(page, 'A kitten yawning at the camera');
    // 480p on the standard model: 0.066 USD a second, 4 s.
    expect(await shownPrice(page)).toBe(0.264);
    await poll(() => page.textContent('[data-testid="price"]')).toContain('$0.264');
    await screenshot(page, 'playground-before');

    const id = await generate(page);
    await page.locator('[data-testid="task-progress"]').waitFor();
    const playing = await waitForVideoPlaying(page, '[data-testid="result-video"]', { timeoutMs: 60_000 });
    expect(playing).toMatchObject({ videoWidth: 864, videoHeight: 480 });
    expect(playing.src).toContain(`/${id}`);

    // Watched over the event stream, in the UI's language, without polling: one read before, one after.
    expect(requests).toContain(`GET /v1/tasks/${id}/events?language=en`);
    expect(requests.filter((r) => r.startsWith(`GET /v1/tasks/${id}?`))).toHaveLength(2);
    const progress = await page.evaluate(() => (window as unknown as { __progress: number[] }).__progress);
    expect(progress[0]).toBeLessThan(100);
    expect(progress.at(-1)).toBe(100);
    expect([...progress].sort((a, b) => a - b)).toEqual(progress);
    await page.locator('[data-testid="task-progress"][data-status="completed"]').waitFor();

    const task = await getTask(id);
    expect(task).toMatchObject({ status: 'completed', cost: 0.264 });

    const saved = await download(page, 'download-video', 'text.mp4');
    expect(saved.suggested).toBe(`${id}.mp4`);
    expect(saved.bytes.subarray(4, 8).toString('latin1')).toBe('ftyp');
    expect(await probe(saved.file)).toMatchObject({ width: 864, height: 480, frames: 96, videoCodec: 'h264' });

    await screenshot(page, 'playground-after');
    expect(problems()).toEqual([]);
    await close();
  });

  it('follows the task by polling every 2 s when the event stream is unavailable', async () => {
    const { page, problems, close } = await signedIn({ allow: [{ url: /\/events\?/, status: 404 }] });
    const requests = recordRequests(page);
    // A proxy that does not pass Server-Sent Events through.
    await page.route(/\/v1\/tasks\/[^/]+\/events/, (route) =>
      route.fulfill({
        status: 404,
        contentType: 'application/json',
        body: JSON.stringify({ error: { code: 404, message: 'no streams here', type: 'not_found_error' } }),
      }),
    );
    await page.goto(`${server.url}/#/playground`);
    await fillBasics(page, 'A lighthouse blinking');
    const id = await generate(page);
    await waitForVideoPlaying(page, '[data-testid="result-video"]', { timeoutMs: 60_000 });
    expect(requests).toContain(`GET /v1/tasks/${id}/events?language=en`);
    expect(requests.filter((r) => r.startsWith(`GET /v1/tasks/${id}?`)).length).toBeGreaterThanOrEqual(2);
    expect((await getTask(id)).status).toBe('completed');
    expect(problems()).toEqual([]);
    await close();
  });

  it('uploads two images from the disk as first and last frame, plays the result, and continues from its last frame in one click', async () => {
    const { page, problems, close } = await signedIn();
    await page.goto(`${server.url}/#/playground`);
    await fillBasics(page, 'Day turns to night');
    await page.click('[data-mode="first_last"]');
    await page.check('input[name="return_last_frame"]');
    await page.setInputFiles('[data-testid="first_frame-file"]', join(dir, 'day.png'));
    await page.setInputFiles('[data-testid="last_frame-file"]', join(dir, 'night.jpg'));
    await poll(() => page.inputValue('input[name="first_frame"]')).toContain('/uploads/');
    await poll(() => page.inputValue('input[name="last_frame"]')).toContain('/uploads/');
    const first = await page.inputValue('input[name="first_frame"]');
    const last = await page.inputValue('input[name="last_frame"]');
    // The uploads preview beside their fields.
    await page.waitForFunction(() =>
      ['first_frame', 'last_frame'].every((name) => {
        const img = document.querySelector<HTMLImageElement>(`[data-testid="${name}-preview"]`);
        return img?.complete && img.naturalWidth === 640;
      }),
    );

    const id = await generate(page);
    await waitForVideoPlaying(page, '[data-testid="result-video"]', { timeoutMs: 60_000 });
    await page.waitForFunction(() => (document.querySelector<HTMLImageElement>('[data-testid="last-frame"]')?.naturalWidth ?? 0) === 864);
    const task = await getTask(id);
    expect(task.status).toBe('completed');
    expect(task.request?.image_with_roles).toEqual([
      { url: first, role: 'first_frame' },
      { url: last, role: 'last_frame' },
    ]);
    const lastFrame = task.result?.last_frame_url;
    expect(lastFrame).toMatch(/_last_frame\.png/);

    const png = await download(page, 'download-last-frame', 'last.png');
    expect(png.suggested).toBe(`${id}_last_frame.png`);
    expect(png.bytes.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));

    // Seed case 7: one click opens the playground with the last frame as first frame, same settings.
    await page.click('[data-testid="continue"]');
    await page.locator('[data-testid="prefill-notice"]').waitFor();
    expect(await page.inputValue('input[name="first_frame"]')).toBe(lastFrame);
    expect(await page.getAttribute('[data-mode="first_frame"]', 'aria-pressed')).toBe('true');
    expect(await page.inputValue('select[name="resolution"]')).toBe('480p');
    expect(await page.isChecked('input[name="return_last_frame"]')).toBe(true);
    await page.fill('textarea[name="prompt"]', 'The night goes on');
    const next = await generate(page);
    expect(next).not.toBe(id);
    await page.locator(`[data-testid="open-task"][href="#/tasks/${next}"]`).waitFor({ timeout: 60_000 });
    await waitForVideoPlaying(page, '[data-testid="result-video"]', { timeoutMs: 60_000 });
    const continued = await getTask(next);
    expect(continued.status).toBe('completed');
    expect(continued.request).toMatchObject({
      image_urls: [lastFrame],
      model: 'doubao-seedance-2.0',
      resolution: '480p',
      duration: 4,
      return_last_frame: true,
    });
    expect(continued.request?.image_with_roles).toBeUndefined();
    expect(problems()).toEqual([]);
    await close();
  });

  it('submits reference image, video and audio, prices the reservation on 15.2 s of video, and charges the real length', async () => {
    const { page, problems, close } = await signedIn();
    await page.goto(`${server.url}/#/playground`);
    await fillBasics(page, 'Use video 1 throughout, audio 1 as the soundtrack');
    await page.click('[data-mode="reference"]');
    await page.click('[data-testid="add-image"]');
    await page.fill('input[name="image-0"]', media.url('tea_pic1.jpg'));
    await page.click('[data-testid="add-video"]');
    await page.fill('input[name="video-0"]', media.url('reference.mp4'));
    await page.click('[data-testid="add-audio"]');
    await page.fill('input[name="audio-0"]', media.url('speech.wav'));
    // The reference-video rate × (15.2 + 4) s is reserved; the text says the real length decides.
    expect(await shownPrice(page)).toBe(Math.round(40_000 * (15.2 + 4)) / 1e6);
    expect(await page.textContent('[data-testid="price"]')).toMatch(/15\.2 s.*real length/);

    const id = await generate(page);
    await waitForVideoPlaying(page, '[data-testid="result-video"]', { timeoutMs: 60_000 });
    const task = await getTask(id);
    expect(task.status).toBe('completed');
    expect(task.request).toMatchObject({
      image_urls: [media.url('tea_pic1.jpg')],
      video_urls: [media.url('reference.mp4')],
      audio_urls: [media.url('speech.wav')],
    });
    // The reference video is 3 s: 0.04 USD × (3 + 4) s.
    expect(task.cost).toBeCloseTo(0.28, 3);
    expect(problems()).toEqual([]);
    await close();
  });

  it("uses the account's approved assets: one preselected from the URL, one picked from the list", async () => {
    const { page, problems, close } = await signedIn();
    await page.goto(`${server.url}/#/playground?asset=asset://${imageAsset}`);
    await poll(() => page.inputValue('input[name="image-0"]').catch(() => '')).toBe(`asset://${imageAsset}`);
    expect(await page.getAttribute('[data-mode="reference"]', 'aria-pressed')).toBe('true');
    expect(await page.textContent('[data-field="image-0"]')).toContain('cat portrait');
    // Each shows its reviewed copy (GET /v1/assets' preview_url) behind its name: the image loaded, the video's first frame.
    const previews = new Map((await api<{ data: Array<{ id: string; preview_url: string | null }> }>('/v1/assets')).data.map((a) => [a.id, a.preview_url]));
    const imagePreview = page.locator('[data-field="image-0"] img[data-preview="image"]');
    expect(await imagePreview.getAttribute('src')).toBe(previews.get(imageAsset));
    await poll(() => imagePreview.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBeGreaterThan(0);
    await fillBasics(page, 'The character dances to the reference video');
    await page.click('[data-testid="add-video"]');
    await page.selectOption('[data-testid="video-0-asset"]', videoAsset);
    expect(await page.inputValue('input[name="video-0"]')).toBe(`asset://${videoAsset}`);
    const videoPreview = page.locator('[data-field="video-0"] video[data-preview="video"]');
    expect(await videoPreview.getAttribute('src')).toBe(previews.get(videoAsset));
    expect(await videoPreview.getAttribute('preload')).toBe('metadata');
    await poll(() => videoPreview.evaluate((v: HTMLVideoElement) => v.readyState >= HTMLMediaElement.HAVE_METADATA)).toBe(true);
    expect(await page.textContent('[data-field="video-0"]')).toContain('test pattern moves');
    await screenshot(page, 'playground-assets');

    // A model without asset URLs offers no asset list and says so beside the asset.
    await page.selectOption('select[name="model"]', 'doubao-seedance-2.0-face');
    await page.locator('[data-error-for="image-0"]', { hasText: 'asset://' }).waitFor();
    expect(await page.locator('[data-testid="video-0-asset"]').count()).toBe(0);
    await page.selectOption('select[name="model"]', 'doubao-seedance-2.0');
    expect(await page.locator('[data-error-for="image-0"]').count()).toBe(0);

    const id = await generate(page);
    await waitForVideoPlaying(page, '[data-testid="result-video"]', { timeoutMs: 60_000 });
    const task = await getTask(id);
    expect(task.status).toBe('completed');
    expect(task.request).toMatchObject({ image_urls: [`asset://${imageAsset}`], video_urls: [`asset://${videoAsset}`] });
    expect(problems()).toEqual([]);
    await close();
  });

  it('shows a 400 beside the field its param names, and focuses that field', async () => {
    const { page, problems, close } = await signedIn({ allow: [{ url: '/v1/videos/generations', status: 400 }] });
    await page.goto(`${server.url}/#/playground`);
    await fillBasics(page, 'x'.repeat(4001));
    await poll(() => page.getAttribute('[data-testid="prompt-count"]', 'class')).toContain('over');
    await page.click('[data-testid="generate"]');
    await page.locator('[data-error-for="prompt"]', { hasText: 'at most 4000' }).waitFor();
    await poll(() => focused(page)).toBe('prompt');

    await page.fill('textarea[name="prompt"]', 'A short prompt');
    expect(await page.locator('[data-error-for="prompt"]').count()).toBe(0);
    await page.fill('input[name="duration"]', '16');
    await page.click('[data-testid="generate"]');
    await page.locator('[data-error-for="duration"]', { hasText: 'from 4 to 15' }).waitFor();
    await poll(() => focused(page)).toBe('duration');

    // image_urls[1] is the second reference image.
    await page.fill('input[name="duration"]', '4');
    await page.click('[data-mode="reference"]');
    await page.click('[data-testid="add-image"]');
    await page.fill('input[name="image-0"]', media.url('cat.jpg'));
    await page.click('[data-testid="add-image"]');
    await page.fill('input[name="image-1"]', 'ftp://example.com/cat.jpg');
    await page.click('[data-testid="generate"]');
    await page.locator('[data-error-for="image-1"]', { hasText: 'image_urls[1]' }).waitFor();
    expect(await page.locator('[data-error-for="image-0"]').count()).toBe(0);
    await poll(() => focused(page)).toBe('image-1');
    expect(problems()).toEqual([]);
    await close();
  });

  it('stays usable at phone width', async () => {
    const { page, problems, close } = await signedIn({ viewport: { width: 390, height: 844 }, colorScheme: 'dark' });
    await page.goto(`${server.url}/#/playground`);
    await fillBasics(page, 'A phone-sized kitten');
    await page.click('[data-mode="reference"]');
    await page.click('[data-testid="add-image"]');
    await page.click('[data-testid="add-video"]');
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    expect(await page.locator('[data-testid="generate"]').isVisible()).toBe(true);
    await screenshot(page, 'playground-phone');
    expect(problems()).toEqual([]);
    await close();
  });

  it('cancels a running task', async () => {
    const { page, problems, close } = await signedIn();
    await page.goto(`${server.url}/#/playground`);
    await fillBasics(page, 'Waits on an image that never arrives');
    await page.click('[data-mode="first_frame"]');
    await page.fill('input[name="first_frame"]', `${hang.url}/slow.jpg`);
    const id = await generate(page);
    await page.locator('[data-testid="cancel"]').waitFor();
    await page.click('[data-testid="cancel"]');
    await page.locator('[data-testid="task-progress"][data-status="cancelled"]').waitFor();
    expect(await page.locator('[data-testid="cancel"]').count()).toBe(0);
    expect((await getTask(id)).status).toBe('cancelled');
    expect(problems()).toEqual([]);
    await close();
  });
});
