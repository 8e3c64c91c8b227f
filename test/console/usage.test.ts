import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UsageView } from '../../console/src/admin-types.js';
import { launchBrowser, openPage, screenshot } from '../helpers/browser.js';
import { type ConsoleServer, startConsoleServer } from '../helpers/console-server.js';
import { WAIT, api, bars, overflowsHorizontally, remember, submit, TINY_TASK, usdText, utcDay } from './steps.js';

/**
 * #/usage against a real vidgate after a real (tiny) render: the bars, totals and table are the
 * API's buckets, today's spend is the task's cost, and range and grouping live in the URL.
 */

let server: ConsoleServer;
let browser: Browser;
let cost: number;
const BALANCE = 5;

beforeAll(async () => {
  [server, browser] = await Promise.all([startConsoleServer({ env: { VIDGATE_BOOTSTRAP_BALANCE: String(BALANCE) } }), launchBrowser()]);
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

const usage = async (query: string) => (await api<{ data: UsageView }>(server.url, `/v1/usage?${query}`, server.apiKey)).body.data;
const expectBarsMatch = async (page: Page, chart: string, view: UsageView) => {
  const shown = await bars(page, `[data-chart="${chart}"]`);
  expect(shown.map((b) => [b.label, b.value])).toEqual(view.buckets.map((b) => [b.key, b.spent]));
  for (const bar of shown) expect(bar.title).toBe(`${bar.label}: ${usdText(bar.value)}`);
};

describe('usage page', () => {
  it('shows nothing spent before any task, every day of the range at zero', async () => {
    const opened = await openPage(browser);
    await remember(opened.context, { key: server.apiKey, language: 'en' });
    const { page } = opened;
    await page.goto(`${server.url}/#/usage`);
    await page.locator('[data-chart="day"] g.bar').first().waitFor();
    const shown = await bars(page, '[data-chart="day"]');
    expect(shown).toHaveLength(30);
    expect(shown.every((b) => b.value === 0)).toBe(true);
    expect(shown.at(-1)!.label).toBe(utcDay());
    expect(await page.locator('[data-chart="model"]').textContent()).toContain('No tasks in this range.');
    expect(await page.locator('[data-stat="spent"] .value').textContent()).toBe('$0.00');
    expect(opened.problems()).toEqual([]);
    await opened.close();
  });

  it("charts the completed task's cost on today and on its model, as the API counts it", async () => {
    const id = await submit(server.url, server.apiKey);
    const settled = await server.testApp.settled(id);
    expect(settled.status).toBe('completed');
    const task = (await api<{ data: { cost: number; status: string } }>(server.url, `/v1/tasks/${id}`, server.apiKey)).body.data;
    cost = task.cost;
    expect(cost).toBeGreaterThan(0);

    const opened = await openPage(browser);
    await remember(opened.context, { key: server.apiKey, language: 'en' });
    const { page } = opened;
    await page.goto(`${server.url}/#/usage?days=7`);
    await page.locator(`[data-chart="day"] g.bar[data-label="${utcDay()}"]`).waitFor();
    const from = utcDay(-6);
    const to = utcDay();
    const [byDay, byModel] = await Promise.all([usage(`from=${from}&to=${to}&group_by=day`), usage(`from=${from}&to=${to}&group_by=model`)]);

    await expectBarsMatch(page, 'day', byDay);
    await expectBarsMatch(page, 'model', byModel);
    const today = (await bars(page, '[data-chart="day"]')).at(-1)!;
    expect(today).toMatchObject({ label: to, value: cost });
    expect(await bars(page, '[data-chart="model"]')).toEqual([{ label: TINY_TASK.model, value: cost, title: `${TINY_TASK.model}: ${usdText(cost)}` }]);

    // Totals and balance: spent is the task's cost, the balance what is left of the opening one.
    expect(byDay.total).toMatchObject({ tasks: 1, completed: 1, spent: cost, output_seconds: TINY_TASK.duration });
    expect(await page.locator('[data-stat="spent"] .value').textContent()).toBe(usdText(cost));
    expect(await page.locator('[data-stat="balance"] .value').textContent()).toBe(usdText(byDay.balance!));
    expect(byDay.balance).toBeCloseTo(BALANCE - cost, 6);
    expect(await page.locator('[data-stat="tasks"] .value').textContent()).toBe('1');
    expect(await page.locator('[data-stat="output_seconds"] .value').textContent()).toBe(String(TINY_TASK.duration));
    expect(await page.getByTestId('balance').textContent()).toBe(`Balance: ${usdText(byDay.balance!)}`);

    // The table: days without tasks folded away until asked for.
    const table = page.locator('table.usage-table[data-group="day"]');
    expect(await table.locator('tbody tr').count()).toBe(1);
    expect(await table.locator(`tr[data-key="${to}"] td[data-spent]`).getAttribute('data-spent')).toBe(String(cost));
    await page.getByTestId('toggle-empty-days').click();
    expect(await table.locator('tbody tr').count()).toBe(7);

    // Grouping by model is part of the URL, like the range.
    await page.getByRole('button', { name: 'Model', exact: true }).click();
    await page.waitForURL((u) => u.hash === '#/usage?days=7&group=model');
    const byModelRow = page.locator(`table.usage-table[data-group="model"] tr[data-key="${TINY_TASK.model}"]`);
    expect(await byModelRow.locator('td[data-spent]').getAttribute('data-spent')).toBe(String(cost));
    await screenshot(page, 'usage');

    // Presets: 90 days, one bar per day, the same as the API's.
    await page.getByRole('button', { name: 'Last 90 days' }).click();
    await page.waitForURL((u) => u.hash === '#/usage?days=90&group=model');
    await expect.poll(async () => (await bars(page, '[data-chart="day"]')).length, WAIT).toBe(90);
    await expectBarsMatch(page, 'day', await usage(`from=${utcDay(-89)}&to=${to}&group_by=day`));
    expect(opened.problems()).toEqual([]);
    await opened.close();
  });

  it('takes a custom range from the hash and from the date fields, and names a wrong one by its field', async () => {
    const opened = await openPage(browser, { allow: [{ url: '/v1/usage', status: 400 }] });
    await remember(opened.context, { key: server.apiKey, language: 'en' });
    const { page } = opened;
    const from = utcDay(-2);
    const to = utcDay();
    await page.goto(`${server.url}/#/usage?from=${from}&to=${to}`);
    await expect.poll(async () => (await bars(page, '[data-chart="day"]')).map((b) => b.label), WAIT).toEqual([utcDay(-2), utcDay(-1), to]);
    expect(await page.locator('input[name="from"]').inputValue()).toBe(from);
    expect(await page.locator('[data-days="custom"]').getAttribute('aria-pressed')).toBe('true');

    await page.locator('input[name="from"]').fill(utcDay(-10));
    await page.locator('input[name="to"]').fill(utcDay(-9));
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL((u) => u.hash === `#/usage?from=${utcDay(-10)}&to=${utcDay(-9)}`);
    await expect
      .poll(async () => (await bars(page, '[data-chart="day"]')).map((b) => [b.label, b.value]), WAIT)
      .toEqual([
        [utcDay(-10), 0],
        [utcDay(-9), 0],
      ]);
    expect(await page.locator('[data-stat="spent"] .value').textContent()).toBe('$0.00');

    // `to` before `from`: the API's 400 names `to`, and the page shows its message beside that field.
    const refused = page.waitForResponse((r) => r.url().includes('/v1/usage') && r.status() === 400);
    await page.locator('input[name="from"]').fill(to);
    await page.locator('input[name="to"]').fill(utcDay(-3));
    await page.getByRole('button', { name: 'Apply' }).click();
    const problem = (await (await refused).json()) as { error: { param: string; message: string } };
    expect(problem.error.param).toBe('to');
    await expect.poll(() => page.locator('[data-error-for="to"]').textContent(), WAIT).toBe(problem.error.message);
    expect(opened.problems()).toEqual([]);
    await opened.close();
  });

  it('in the dark theme and on a phone, in Chinese', async () => {
    const dark = await openPage(browser, { colorScheme: 'dark' });
    await remember(dark.context, { key: server.apiKey, language: 'en' });
    await dark.page.goto(`${server.url}/#/usage?days=7`);
    await dark.page.locator(`[data-chart="day"] g.bar[data-label="${utcDay()}"][data-value="${cost}"]`).waitFor();
    expect(await dark.page.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe('rgb(15, 17, 21)');
    await screenshot(dark.page, 'usage-dark');
    expect(dark.problems()).toEqual([]);
    await dark.close();

    const phone = await openPage(browser, { viewport: { width: 390, height: 844 }, locale: 'zh-CN' });
    await remember(phone.context, { key: server.apiKey, language: 'zh' });
    await phone.page.goto(`${server.url}/#/usage?days=7`);
    await phone.page.getByRole('heading', { name: '用量', level: 1 }).waitFor();
    await phone.page.locator(`[data-chart="day"] g.bar[data-value="${cost}"]`).waitFor();
    expect(await phone.page.getByRole('button', { name: '最近 7 天' }).getAttribute('aria-pressed')).toBe('true');
    expect(await phone.page.locator('[data-chart="day"] figcaption').textContent()).toContain('每日花费');
    expect(await overflowsHorizontally(phone.page)).toBe(false);
    await screenshot(phone.page, 'usage-phone');
    expect(phone.problems()).toEqual([]);
    await phone.close();
  });
});
