import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type OpenedPage, openPage, type PageOptions, screenshot, waitForVideoPlaying } from '../helpers/browser.js';
import { type ConsoleServer, startConsoleServer } from '../helpers/console-server.js';

/**
 * History and the task page in real Chromium against a real vidgate (local ffmpeg renders, 480p, 4 s):
 * the list with its thumbnails, filters kept in the URL, paging, a task's details, re-run, and a
 * failed task's error in Chinese.
 */

/** expect.poll with room for a loaded machine (its default gives up after 1 s). */
const poll = <T>(read: () => T | Promise<T>) => expect.poll(read, { timeout: 20_000 });

let server: ConsoleServer;
let browser: Browser;
const DAY_MS = 86_400_000;

interface ApiTask {
  id: string;
  status: string;
  cost: number;
  created: number;
  result?: { videos: Array<{ url: string[] }>; last_frame_url?: string };
  request?: Record<string, unknown>;
  timings?: { started: number | null; finished: number | null };
}

async function api<T>(path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${server.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${server.apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}
const getTask = async (id: string) => (await api<{ data: ApiTask }>(`/v1/tasks/${id}?include=request`)).data;
const submit = async (body: Record<string, unknown>) => {
  const id = (await api<{ data: Array<{ task_id: string }> }>('/v1/videos/generations', { resolution: '480p', duration: 4, ...body })).data[0]!.task_id;
  await server.testApp.settled(id);
  return id;
};

async function signedIn(opts: PageOptions = {}): Promise<OpenedPage> {
  const opened = await openPage(browser, opts);
  await opened.context.addInitScript((key) => localStorage.setItem('vidgate.key', key), server.apiKey);
  return opened;
}

/** The task ids the history table shows, in order, once it has finished loading. */
async function rows(page: Page): Promise<string[]> {
  await page.waitForFunction(() => {
    const table = document.querySelector('[data-testid="history"]');
    return (table && !table.hasAttribute('data-loading')) || document.querySelector('.history .empty');
  });
  return page.$$eval('[data-testid="history"] tbody tr', (trs) => trs.map((tr) => tr.getAttribute('data-task-id') ?? ''));
}

/** The local calendar day of a unix second, as <input type="date"> writes it. */
const localDay = (unixSeconds: number) => {
  const d = new Date(unixSeconds * 1000);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
};

let fox: string;
let boat: string;
let failed: string;
let old: string;
let oldCreated: number;

beforeAll(async () => {
  [server, browser] = await Promise.all([
    // Result links outlive the test's trip three days back in time.
    startConsoleServer({ env: { VIDGATE_RESULT_TTL_SECONDS: String(30 * 86_400) } }),
    launchBrowser(),
  ]);
  // Three days ago, while nothing else runs: a task on another day for the date filter.
  server.testApp.advanceClock(-3 * DAY_MS);
  old = await submit({ model: 'doubao-seedance-2.0', prompt: 'An old lighthouse at dusk' });
  server.testApp.advanceClock(3 * DAY_MS);
  oldCreated = (await getTask(old)).created;
  fox = await submit({ model: 'doubao-seedance-2.0', prompt: 'A red fox in the snow', return_last_frame: true });
  boat = await submit({ model: 'doubao-seedance-2.0-fast', prompt: 'A paper boat on a river' });
  // A private address is refused when the task fetches its media: it fails, refunded.
  failed = await submit({ model: 'doubao-seedance-2.0', prompt: 'From a picture nobody may fetch', image_urls: ['http://10.255.255.1/cat.jpg'] });
  expect((await getTask(failed)).status).toBe('failed');
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('history', () => {
  it('lists the tasks newest first with thumbnails, prompt, model, output and cost, a page at a time', async () => {
    const { page, problems, close } = await signedIn();
    await page.goto(`${server.url}/#/history?limit=2`);
    expect(await rows(page)).toEqual([failed, boat]);
    await page.click('[data-testid="load-more"]');
    await poll(() => rows(page)).toEqual([failed, boat, fox, old]);
    expect(await page.locator('[data-testid="load-more"]').count()).toBe(0);

    // The last frame when there is one, else the video's first frame; nothing for a failed task.
    const row = (id: string) => page.locator(`tr[data-task-id="${id}"]`);
    await page.waitForFunction((id) => (document.querySelector<HTMLImageElement>(`tr[data-task-id="${id}"] img.thumb`)?.naturalWidth ?? 0) > 0, fox);
    await page.waitForFunction(
      (id) => (document.querySelector<HTMLVideoElement>(`tr[data-task-id="${id}"] video.thumb`)?.readyState ?? 0) >= HTMLMediaElement.HAVE_METADATA,
      boat,
    );
    expect(await row(boat).locator('video.thumb').getAttribute('preload')).toBe('metadata');
    expect(await row(failed).locator('img, video').count()).toBe(0);
    expect(await row(fox).textContent()).toContain('A red fox in the snow');
    expect(await row(boat).textContent()).toContain('doubao-seedance-2.0-fast');
    expect(await row(boat).textContent()).toContain('480p · 16:9 · 4 s');
    expect(await row(boat).locator('[data-usd]').getAttribute('data-usd')).toBe(String((await getTask(boat)).cost));
    expect(await row(failed).locator('[data-status="failed"]').count()).toBe(1);
    await screenshot(page, 'history');

    await row(fox).locator('[data-testid="task-link"]').click();
    await page.waitForURL(new RegExp(`#/tasks/${fox}$`));
    await page.locator(`.task-page[data-task-id="${fox}"]`).waitFor();
    expect(problems()).toEqual([]);
    await close();
  });

  it('narrows the list by status, model and date, with the filters in the URL so they survive a reload', async () => {
    const { page, problems, close } = await signedIn();
    await page.goto(`${server.url}/#/history`);
    expect(await rows(page)).toEqual([failed, boat, fox, old]);

    await page.selectOption('select[name="status"]', 'failed');
    await poll(() => rows(page)).toEqual([failed]);
    expect(page.url()).toContain('status=failed');
    await page.reload();
    await poll(() => rows(page)).toEqual([failed]);
    expect(await page.inputValue('select[name="status"]')).toBe('failed');

    await page.selectOption('select[name="status"]', '');
    await page.selectOption('select[name="model"]', 'doubao-seedance-2.0-fast');
    await poll(() => rows(page)).toEqual([boat]);
    await page.selectOption('select[name="model"]', '');
    await poll(() => rows(page)).toEqual([failed, boat, fox, old]);

    // Dates are the user's own days: the day three days back holds only the old task.
    const then = localDay(oldCreated);
    await page.fill('input[name="from"]', then);
    await page.fill('input[name="to"]', then);
    await poll(() => rows(page)).toEqual([old]);
    expect(page.url()).toContain(`from=${then}`);
    const today = localDay(Math.floor(Date.now() / 1000));
    await page.fill('input[name="to"]', today);
    await page.fill('input[name="from"]', today);
    await poll(() => rows(page)).toEqual([failed, boat, fox]);
    await page.reload();
    await poll(() => rows(page)).toEqual([failed, boat, fox]);
    await page.selectOption('select[name="status"]', 'cancelled');
    await page.locator('.history .empty', { hasText: 'No task matches' }).waitFor();

    await page.click('[data-testid="clear-filters"]');
    await poll(() => rows(page)).toEqual([failed, boat, fox, old]);
    expect(problems()).toEqual([]);
    await close();
  });

  it('stays usable at phone width: optional columns hide, nothing overflows the page', async () => {
    const { page, problems, close } = await signedIn({ viewport: { width: 390, height: 844 } });
    await page.goto(`${server.url}/#/history`);
    expect(await rows(page)).toHaveLength(4);
    expect(await page.$$eval('th.optional, td.optional', (cells) => cells.every((c) => getComputedStyle(c).display === 'none'))).toBe(true);
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    await screenshot(page, 'history-phone');
    expect(problems()).toEqual([]);
    await close();
  });
});

describe('task page', () => {
  it('shows status, request, timings, cost, the playing result and the raw JSON, and runs the task again', async () => {
    const { page, problems, close } = await signedIn({ colorScheme: 'dark' });
    await page.goto(`${server.url}/#/tasks/${fox}`);
    await page.locator('[data-testid="task-progress"][data-status="completed"]').waitFor();
    await waitForVideoPlaying(page, '[data-testid="result-video"]');
    const task = await getTask(fox);
    const request = await page.textContent('[data-testid="task-request"]');
    expect(request).toContain('A red fox in the snow');
    expect(request).toContain(String(task.request?.seed));
    expect(await page.getAttribute('[data-testid="task-cost"]', 'data-usd')).toBe(String(task.cost));
    expect(await page.textContent('[data-testid="task-cost"]')).toContain('$0.264');
    const timings = await page.textContent('[data-testid="task-timings"]');
    expect(timings).not.toContain('not yet');
    expect(timings).toMatch(/Run\d/);
    expect(JSON.parse((await page.textContent('[data-testid="raw-json"]')) ?? '')).toMatchObject({ id: fox, status: 'completed', request: task.request });
    expect(await page.getAttribute('[data-testid="continue"]', 'href')).toContain(`from=${fox}`);
    expect(await page.getAttribute('[data-testid="edit-in-playground"]', 'href')).toBe(`#/playground?from=${fox}`);
    await page.locator('.raw-json summary').click();
    await screenshot(page, 'task-page');

    await page.click('[data-testid="run-again"]');
    await page.waitForURL((url) => /#\/tasks\/task_/.test(url.hash) && !url.hash.endsWith(fox));
    const again = new URL(page.url()).hash.replace('#/tasks/', '');
    await page.locator(`.task-page[data-task-id="${again}"] [data-testid="task-progress"][data-status="completed"]`).waitFor({ timeout: 60_000 });
    await waitForVideoPlaying(page, '[data-testid="result-video"]');
    // The stored request, seed included, is submitted as it was.
    expect((await getTask(again)).request).toEqual(task.request);
    expect(problems()).toEqual([]);
    await close();
  });

  it("edits a task's request in the playground", async () => {
    const { page, problems, close } = await signedIn();
    await page.goto(`${server.url}/#/tasks/${boat}`);
    await page.locator('[data-testid="edit-in-playground"]').click();
    await page.locator('[data-testid="prefill-notice"]', { hasText: boat }).waitFor();
    expect(await page.inputValue('textarea[name="prompt"]')).toBe('A paper boat on a river');
    expect(await page.inputValue('select[name="model"]')).toBe('doubao-seedance-2.0-fast');
    expect(await page.inputValue('select[name="resolution"]')).toBe('480p');
    expect(await page.inputValue('input[name="duration"]')).toBe('4');
    expect(await page.inputValue('input[name="seed"]')).toBe(String((await getTask(boat)).request?.seed));
    expect(problems()).toEqual([]);
    await close();
  });

  it("shows a failed task's error in Chinese when the UI is Chinese", async () => {
    const { page, problems, close } = await signedIn({ locale: 'zh-CN' });
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(`${server.url}/#/tasks/${failed}`);
    await page.locator('[data-testid="task-progress"][data-status="failed"]').waitFor();
    expect(await page.textContent('[data-testid="task-error"]')).toMatch(/^无法获取 image_urls\[0\]/);
    expect(requests.some((url) => url.includes(`/v1/tasks/${failed}?`) && url.includes('language=zh'))).toBe(true);
    expect(await page.textContent('.task-page h1')).toContain('任务');
    expect(await page.textContent('[data-testid="task-progress"] .badge')).toBe('失败');
    await screenshot(page, 'task-page-failed-zh');
    await page.goto(`${server.url}/#/history?status=failed`);
    await poll(() => rows(page)).toEqual([failed]);
    expect(await page.textContent(`tr[data-task-id="${failed}"] .badge`)).toBe('失败');
    expect(problems()).toEqual([]);
    await close();
  });
});
