import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { AssetGroup, AssetList, AssetReview } from '../../console/src/admin-types.js';
import type { ListPage } from '../../console/src/types.js';
import { launchBrowser, openPage, screenshot } from '../helpers/browser.js';
import { type ConsoleServer, startConsoleServer } from '../helpers/console-server.js';
import { type FixtureServer, startFixtureServer } from '../helpers/fixture-server.js';
import { WAIT, api, makeImage, overflowsHorizontally, remember } from './steps.js';

/**
 * #/assets against a real vidgate: an image uploaded from disk and a URL vidgate may not fetch
 * (loopback, refused by the media address policy) go into one review; the page follows the review
 * to its end, shows each asset's result as GET /v1/tasks/{id} gives it, lists the account's reviews
 * (GET /v1/asset-reviews) and its groups with their names and counts (GET /v1/asset-groups), shows
 * each approved asset's reviewed copy from its preview_url, links the approved one to the
 * playground, and deletes the rejected one. A video and a sound, served by a fixture server on
 * 127.0.0.1 (the one address the media policy lets through here), are previewed by their players.
 */

let server: ConsoleServer;
let browser: Browser;
let media: FixtureServer;
let dir: string;
let image: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vidgate-console-assets-'));
  [server, browser, media, image] = await Promise.all([
    startConsoleServer({ env: { VIDGATE_MEDIA_ALLOW_HOSTS: '127.0.0.1' } }),
    launchBrowser(),
    startFixtureServer(),
    makeImage(join(dir, 'heroine.png'), 640, 480),
  ]);
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await Promise.all([server?.close(), media?.close()]);
  await rm(dir, { recursive: true, force: true });
});

/** Loopback, but not the address allowed above: the media policy refuses it before any connection. */
const UNREACHABLE = 'http://127.0.0.2:9/missing.png';

const list = async <T>(path: string) => (await api<ListPage<T>>(server.url, path, server.apiKey)).body;

/** Submits a review through the API and waits until the server has finished it. */
async function review(body: Record<string, unknown>): Promise<AssetReview> {
  const answer = await api<{ data: { id: string } }>(server.url, '/v1/seedance2/private-avatar', server.apiKey, { body });
  expect(answer.status).toBe(200);
  await server.testApp.app.assets.whenIdle();
  return (await api<{ data: AssetReview }>(server.url, `/v1/tasks/${answer.body.data.id}`, server.apiKey)).body.data;
}

/** The review ids the reviews table shows, in order. */
const shownReviews = (page: Page) =>
  page.locator('[data-testid="reviews"] tr[data-review-id]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-review-id')));

const DARK = 'rgb(15, 17, 21)';
const LIGHT = 'rgb(246, 247, 249)';

describe('assets page', () => {
  let reviewId: string;
  let approvedId: string;

  it('uploads an image from disk, submits it with a URL for review, and shows each result', async () => {
    const opened = await openPage(browser);
    await remember(opened.context, { key: server.apiKey, language: 'en' });
    const { page } = opened;
    await page.goto(`${server.url}/#/assets`);
    await page.getByRole('heading', { name: 'Assets', level: 1 }).waitFor();

    await page.locator('input[name="group_name"]').fill('cast');
    await page.locator('input[name="group_description"]').fill('the main characters');
    await page.locator('input[name="project"]').fill('spring campaign');
    const uploaded = page.waitForResponse((r) => r.url().endsWith('/v1/uploads/images') && r.request().method() === 'POST');
    await page.locator('input[name="files"]').setInputFiles(image);
    const upload = (await (await uploaded).json()) as { url: string; filename: string; content_type: string };
    expect(upload).toMatchObject({ content_type: 'image/png' });
    await page.locator('[data-upload-state="done"]').filter({ hasText: 'heroine.png' }).waitFor();
    // The thumbnail is the uploaded file itself, read back from its signed URL.
    await expect.poll(() => page.locator('[data-upload-state="done"] img').evaluate((img: HTMLImageElement) => img.naturalWidth), WAIT).toBe(640);

    await page.locator('textarea[name="urls"]').fill(`${UNREACHABLE} unreachable`);
    const submitted = page.waitForResponse((r) => r.url().endsWith('/v1/seedance2/private-avatar'));
    await page.getByRole('button', { name: 'Submit for review' }).click();
    expect((await submitted).status()).toBe(200);
    await page.waitForURL(/#\/assets\?review=task_/);
    reviewId = new URL(page.url()).hash.split('review=')[1]!;

    // The page polls GET /v1/tasks/{id} until the review ends: one asset fails, so the review does.
    const review = page.locator('[data-testid="review"]');
    await page.locator('[data-testid="review"][data-review-status="failed"]').waitFor();
    const answer = (await api<{ data: AssetReview }>(server.url, `/v1/tasks/${reviewId}`, server.apiKey)).body.data;
    expect(answer.status).toBe('failed');
    expect(answer.result!.usable_assets).toEqual([expect.objectContaining({ name: 'heroine.png', status: 'active' })]);
    expect(answer.result!.failed_assets).toEqual([expect.objectContaining({ name: 'unreachable', status: 'failed' })]);
    approvedId = answer.result!.usable_assets[0]!.asset_id;
    const failed = answer.result!.failed_assets[0]!;

    const approvedRow = review.locator(`tr[data-asset-id="${approvedId}"]`);
    await expect.poll(() => approvedRow.locator('[data-asset-status]').getAttribute('data-asset-status'), WAIT).toBe('active');
    expect(await approvedRow.getByRole('link', { name: 'Use in playground' }).getAttribute('href')).toBe(`#/playground?asset=${approvedId}`);
    const failedRow = review.locator(`tr[data-asset-id="${failed.asset_id}"]`);
    expect(await failedRow.locator('[data-asset-status]').getAttribute('data-asset-status')).toBe('failed');
    expect((await failedRow.locator('td.reason').textContent())?.trim()).toBe(failed.reason);
    expect(failed.reason).toMatch(/unreachable/);
    expect(await failedRow.getByRole('link', { name: 'Use in playground' }).count()).toBe(0);
    expect(await review.textContent()).toContain(answer.error!.message);

    // The account's reviews, from GET /v1/asset-reviews: this one, marked as the one shown above.
    const reviewRow = page.locator(`[data-testid="reviews"] tr[data-review-id="${reviewId}"]`);
    await expect.poll(() => reviewRow.getAttribute('data-review-status'), WAIT).toBe('failed');
    expect(await reviewRow.getAttribute('aria-current')).toBe('true');
    expect(await reviewRow.locator('[data-cell="outcome"]').textContent()).toBe('1 approved · 1 rejected');
    await expect.poll(() => reviewRow.locator('[data-cell="group"]').textContent(), WAIT).toBe('cast');
    expect((await list<AssetReview>('/v1/asset-reviews')).data.map((r) => r.id)).toEqual([reviewId]);

    // The library, read from GET /v1/assets, has both under the new group, once the review ended;
    // the group is named as GET /v1/asset-groups has it, with its description, project and counts.
    const listed = (await api<AssetList>(server.url, '/v1/assets', server.apiKey)).body.data;
    const group = page.locator(`.asset-library [data-group-id="${answer.group_id}"]`);
    await expect.poll(() => group.locator('tr[data-asset-id]').count(), WAIT).toBe(2);
    const [groupInfo] = (await list<AssetGroup>('/v1/asset-groups')).data;
    expect(groupInfo).toMatchObject({
      id: answer.group_id,
      name: 'cast',
      description: 'the main characters',
      project_name: 'spring campaign',
      counts: { approved: 1, failed: 1, pending: 0 },
    });
    expect(await group.locator('[data-cell="group-name"]').textContent()).toBe('cast');
    expect(await group.locator('.group-head').textContent()).toContain('spring campaign');
    expect(await group.locator('.group-description').textContent()).toBe('the main characters');
    await expect.poll(() => group.locator('[data-count="approved"]').getAttribute('data-value'), WAIT).toBe('1');
    expect(await group.locator('[data-count="failed"]').getAttribute('data-value')).toBe('1');
    for (const asset of listed) {
      const row = group.locator(`tr[data-asset-id="${asset.id}"]`);
      expect(await row.locator('[data-asset-status]').getAttribute('data-asset-status')).toBe(asset.status);
      if (asset.reason) expect(await row.textContent()).toContain(asset.reason);
    }
    expect(await group.locator(`tr[data-asset-id="${approvedId}"] a[data-use-asset]`).getAttribute('href')).toBe(`#/playground?asset=${approvedId}`);

    // The approved image's thumbnail is its reviewed copy, loaded from preview_url; the rejected one has none.
    const approvedAsset = listed.find((a) => a.id === approvedId)!;
    expect(approvedAsset).toMatchObject({ review_id: reviewId, preview_url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/files\/assets\//) });
    expect(listed.find((a) => a.id === failed.asset_id)!.preview_url).toBeNull();
    const thumb = group.locator(`tr[data-asset-id="${approvedId}"] img[data-preview="image"]`);
    expect(await thumb.getAttribute('src')).toBe(approvedAsset.preview_url);
    await thumb.scrollIntoViewIfNeeded();
    await expect.poll(() => thumb.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth), WAIT).toBeGreaterThan(0);
    expect(await group.locator(`tr[data-asset-id="${failed.asset_id}"] [data-preview]`).count()).toBe(0);
    await screenshot(page, 'assets');

    // Deleting asks once more, then the row goes and the API no longer lists the asset.
    await group.locator(`[data-delete="${failed.asset_id}"]`).click();
    const deleted = page.waitForResponse((r) => r.request().method() === 'DELETE' && r.url().endsWith(`/v1/assets/${failed.asset_id}`));
    await group.locator(`[data-confirm-delete="${failed.asset_id}"]`).click();
    expect((await deleted).status()).toBe(200);
    await expect.poll(() => group.locator(`tr[data-asset-id="${failed.asset_id}"]`).count(), WAIT).toBe(0);
    const after = (await api<AssetList>(server.url, '/v1/assets', server.apiKey)).body.data.map((a) => a.id);
    expect(after).toEqual([approvedId]);
    // The group's counts are read again: a deleted asset is not counted.
    await expect.poll(() => group.locator('[data-count="failed"]').count(), WAIT).toBe(0);
    expect((await list<AssetGroup>('/v1/asset-groups')).data[0]!.counts).toEqual({ approved: 1, failed: 0, pending: 0 });

    // The group can be chosen by its name for the next review.
    expect(await page.locator('select[name="group_id"] option').allTextContents()).toEqual(['New group', 'cast · spring campaign']);
    expect(await page.locator('select[name="group_id"] option').nth(1).getAttribute('value')).toBe(answer.group_id);

    // "Use in playground" leads to the playground with the asset named in the URL.
    await group.locator(`a[data-use-asset="${approvedId}"]`).click();
    await page.waitForURL((u) => u.hash === `#/playground?asset=${approvedId}`);
    expect(opened.problems()).toEqual([]);
    await opened.close();
  });

  it('shows a finished review from its link, in the dark theme, and follows each theme choice', async () => {
    const opened = await openPage(browser, { colorScheme: 'dark' });
    await remember(opened.context, { key: server.apiKey, language: 'en' });
    const { page } = opened;
    await page.goto(`${server.url}/#/assets?review=${reviewId}`);
    await page.locator('[data-testid="review"][data-review-status="failed"]').waitFor();
    await page.locator(`[data-testid="review"] tr[data-asset-id="${approvedId}"]`).waitFor();
    const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(await background()).toBe(DARK);
    await screenshot(page, 'assets-dark');

    // The three theme choices, on a system that prefers dark: Light wins over it, Dark and Auto are dark.
    // (The page applies a choice after it renders the buttons: each is waited for.)
    await page.locator('[data-theme-choice="light"]').click();
    await expect.poll(background, WAIT).toBe(LIGHT);
    await page.locator('[data-theme-choice="dark"]').click();
    await expect.poll(background, WAIT).toBe(DARK);
    await page.locator('[data-theme-choice="system"]').click();
    await expect.poll(() => page.evaluate(() => document.documentElement.dataset.theme ?? 'none'), WAIT).toBe('none');
    expect(await background()).toBe(DARK);
    expect(opened.problems()).toEqual([]);
    await opened.close();

    // And on one that prefers light: Auto is light, Dark wins over it.
    const light = await openPage(browser, { colorScheme: 'light' });
    await remember(light.context, { key: server.apiKey, language: 'en' });
    await light.page.goto(`${server.url}/#/assets`);
    await light.page.getByRole('heading', { name: 'Assets', level: 1 }).waitFor();
    const lightBackground = () => light.page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(await lightBackground()).toBe(LIGHT);
    await light.page.locator('[data-theme-choice="dark"]').click();
    await expect.poll(lightBackground, WAIT).toBe(DARK);
    expect(light.problems()).toEqual([]);
    await light.close();
  });

  it('fits a phone, in Chinese', async () => {
    const opened = await openPage(browser, { viewport: { width: 390, height: 844 }, locale: 'zh-CN' });
    await remember(opened.context, { key: server.apiKey, language: 'zh' });
    const { page } = opened;
    await page.goto(`${server.url}/#/assets?review=${reviewId}`);
    await page.getByRole('heading', { name: '素材', level: 1 }).waitFor();
    await page.locator(`.asset-library tr[data-asset-id="${approvedId}"]`).waitFor();
    expect(await page.getByRole('button', { name: '提交审核' }).count()).toBe(1);
    expect(await page.locator(`.asset-library a[data-use-asset="${approvedId}"]`).textContent()).toBe('在试用中使用');
    // Optional columns make way on a narrow screen; nothing is wider than the phone.
    expect(await page.locator('.asset-library th.optional').first().isVisible()).toBe(false);
    expect(await overflowsHorizontally(page)).toBe(false);
    await screenshot(page, 'assets-phone');
    expect(opened.problems()).toEqual([]);
    await opened.close();
  });

  it('previews an approved video by its first frame and an approved sound with a player', async () => {
    const clips = await review({
      group: { name: 'clips', description: 'moving pictures and sound' },
      asset_type: 'Video',
      assets: [{ url: media.url('reference.mp4'), name: 'test pattern' }],
    });
    expect(clips.status).toBe('completed');
    const sound = await review({ group_id: clips.group_id, asset_type: 'Audio', assets: [{ url: media.url('speech.wav'), name: 'narration' }] });
    expect(sound.status).toBe('completed');
    const videoId = clips.result!.usable_assets[0]!.asset_id;
    const audioId = sound.result!.usable_assets[0]!.asset_id;

    const opened = await openPage(browser);
    await remember(opened.context, { key: server.apiKey, language: 'en' });
    const { page } = opened;
    await page.goto(`${server.url}/#/assets`);
    const group = page.locator(`.asset-library [data-group-id="${clips.group_id}"]`);
    await group.waitFor();
    expect(await group.locator('[data-cell="group-name"]').textContent()).toBe('clips');
    expect(await group.locator('[data-count="approved"]').getAttribute('data-value')).toBe('2');

    // Only the metadata is read (the first frame shows), the sound gets a player; both from their preview_url.
    const listed = (await api<AssetList>(server.url, '/v1/assets', server.apiKey)).body.data;
    const video = group.locator(`tr[data-asset-id="${videoId}"] video[data-preview="video"]`);
    const audio = group.locator(`tr[data-asset-id="${audioId}"] audio[data-preview="audio"]`);
    expect(await video.getAttribute('preload')).toBe('metadata');
    expect(await video.getAttribute('src')).toBe(listed.find((a) => a.id === videoId)!.preview_url);
    expect(await audio.getAttribute('src')).toBe(listed.find((a) => a.id === audioId)!.preview_url);
    await video.scrollIntoViewIfNeeded();
    const ready = (media: HTMLMediaElement) => media.readyState >= HTMLMediaElement.HAVE_METADATA;
    await expect.poll(() => video.evaluate(ready), WAIT).toBe(true);
    expect(await video.evaluate((v: HTMLVideoElement) => [v.videoWidth, v.videoHeight])).toEqual([864, 480]);
    await expect.poll(() => audio.evaluate(ready), WAIT).toBe(true);
    expect(await audio.evaluate((a: HTMLAudioElement) => Math.round(a.duration))).toBeGreaterThan(0);
    await screenshot(page, 'assets-media');
    expect(opened.problems()).toEqual([]);
    await opened.close();
  });

  it('lists past reviews newest first, ten at a time, and opens an older one', async () => {
    // Nine more, each refused (the address), into the first group: twelve reviews in all.
    const group = (await list<AssetGroup>('/v1/asset-groups?limit=100')).data.find((g) => g.name === 'cast')!;
    for (let n = 1; n <= 9; n++) await review({ group_id: group.id, asset_type: 'Image', assets: [{ url: UNREACHABLE, name: `refused ${n}` }] });
    const all = (await list<AssetReview>('/v1/asset-reviews?limit=100')).data.map((r) => r.id);
    expect(all).toHaveLength(12);
    const firstPage = await list<AssetReview>('/v1/asset-reviews?limit=10');
    expect(firstPage).toMatchObject({ has_more: true, next_after: all[9] });

    const opened = await openPage(browser);
    await remember(opened.context, { key: server.apiKey, language: 'en' });
    const { page } = opened;
    await page.goto(`${server.url}/#/assets`);
    await expect.poll(() => shownReviews(page), WAIT).toEqual(all.slice(0, 10));
    const more = page.locator('.asset-reviews [data-testid="load-more"]');
    await more.click();
    await expect.poll(() => shownReviews(page), WAIT).toEqual(all);
    expect(await more.count()).toBe(0);

    // The oldest is the first review of all: its link opens it above, and the row says so.
    const oldest = all.at(-1)!;
    await page.locator(`[data-open-review="${oldest}"]`).click();
    await page.waitForURL((u) => u.hash === `#/assets?review=${oldest}`);
    await page.locator('[data-testid="review"][data-review-status="failed"]').waitFor();
    expect(await page.locator('#review h2').textContent()).toBe(`Review ${oldest}`);
    await expect.poll(() => page.locator(`[data-testid="reviews"] tr[data-review-id="${oldest}"]`).getAttribute('aria-current'), WAIT).toBe('true');
    expect(opened.problems()).toEqual([]);
    await opened.close();
  });
});
