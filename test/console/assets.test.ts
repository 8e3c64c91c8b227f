import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AssetList, AssetReview } from '../../console/src/admin-types.js';
import { launchBrowser, openPage, screenshot } from '../helpers/browser.js';
import { type ConsoleServer, startConsoleServer } from '../helpers/console-server.js';
import { WAIT, api, makeImage, overflowsHorizontally, remember } from './steps.js';

/**
 * #/assets against a real vidgate: an image uploaded from disk and a URL vidgate may not fetch
 * (loopback, refused by the media address policy) go into one review; the page follows the review
 * to its end, shows each asset's result as GET /v1/tasks/{id} gives it, links the approved one to
 * the playground, and deletes the rejected one.
 */

let server: ConsoleServer;
let browser: Browser;
let dir: string;
let image: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vidgate-console-assets-'));
  [server, browser, image] = await Promise.all([startConsoleServer(), launchBrowser(), makeImage(join(dir, 'heroine.png'), 640, 480)]);
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

const UNREACHABLE = 'http://127.0.0.1:9/missing.png';

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

    // The library, read from GET /v1/assets, has both under the new group, once the review ended.
    const listed = (await api<AssetList>(server.url, '/v1/assets', server.apiKey)).body.data;
    const group = page.locator(`.asset-library [data-group-id="${answer.group_id}"]`);
    await expect.poll(() => group.locator('tr[data-asset-id]').count(), WAIT).toBe(2);
    expect(await group.textContent()).toContain('spring campaign');
    for (const asset of listed) {
      const row = group.locator(`tr[data-asset-id="${asset.id}"]`);
      expect(await row.locator('[data-asset-status]').getAttribute('data-asset-status')).toBe(asset.status);
      if (asset.reason) expect(await row.textContent()).toContain(asset.reason);
    }
    expect(await group.locator(`tr[data-asset-id="${approvedId}"] a[data-use-asset]`).getAttribute('href')).toBe(`#/playground?asset=${approvedId}`);
    await screenshot(page, 'assets');

    // Deleting asks once more, then the row goes and the API no longer lists the asset.
    await group.locator(`[data-delete="${failed.asset_id}"]`).click();
    const deleted = page.waitForResponse((r) => r.request().method() === 'DELETE' && r.url().endsWith(`/v1/assets/${failed.asset_id}`));
    await group.locator(`[data-confirm-delete="${failed.asset_id}"]`).click();
    expect((await deleted).status()).toBe(200);
    await expect.poll(() => group.locator(`tr[data-asset-id="${failed.asset_id}"]`).count(), WAIT).toBe(0);
    const after = (await api<AssetList>(server.url, '/v1/assets', server.apiKey)).body.data.map((a) => a.id);
    expect(after).toEqual([approvedId]);

    // The group can be chosen for the next review.
    expect(await page.locator('select[name="group_id"] option').allTextContents()).toEqual(['New group', `${answer.group_id} · spring campaign`]);

    // "Use in playground" leads to the playground with the asset named in the URL.
    await group.locator(`a[data-use-asset="${approvedId}"]`).click();
    await page.waitForURL((u) => u.hash === `#/playground?asset=${approvedId}`);
    expect(opened.problems()).toEqual([]);
    await opened.close();
  });

  it('shows a finished review from its link, in the dark theme', async () => {
    const opened = await openPage(browser, { colorScheme: 'dark' });
    await remember(opened.context, { key: server.apiKey, language: 'en' });
    const { page } = opened;
    await page.goto(`${server.url}/#/assets?review=${reviewId}`);
    await page.locator('[data-testid="review"][data-review-status="failed"]').waitFor();
    await page.locator(`[data-testid="review"] tr[data-asset-id="${approvedId}"]`).waitFor();
    expect(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe('rgb(15, 17, 21)');
    await screenshot(page, 'assets-dark');
    expect(opened.problems()).toEqual([]);
    await opened.close();
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
});
