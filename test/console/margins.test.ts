import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdminChannel, AdminUsageBucket, AdminUsageView, ChannelList, UsageGroup, UsageView } from '../../console/src/admin-types.js';
import { launchBrowser, openPage, screenshot } from '../helpers/browser.js';
import { type ConsoleServer, startConsoleServer } from '../helpers/console-server.js';
import { type FakeApimart, startFakeApimart } from '../helpers/upstreams/fake-apimart.js';
import { WAIT, api, bars, overflowsHorizontally, remember, submit, TINY_TASK, usdText, utcDay } from './steps.js';

/**
 * Upstream cost, margins and daily budgets in the operator's console, against a real vidgate routing
 * by cost. `relay` (the fake APIMart, which holds its tasks until the test moves them) declares what
 * its upstream charges for doubao-seedance-2.0 and a daily budget of RELAY_BUDGET; `local` declares
 * no cost, so its tasks have no margin. Each relay task (4 s at 480p) costs RELAY_TASK_COST upstream:
 * two count 0.4 against the budget, a third takes it past 0.5 and the channel pauses until 00:00 UTC.
 */

const RATE_480P = 0.05;
const RELAY_BUDGET = 0.5;
const RELAY = { ...TINY_TASK, model: 'doubao-seedance-2.0' } as const;
const RELAY_TASK_COST = RATE_480P * RELAY.duration;

let server: ConsoleServer;
let browser: Browser;
let apimart: FakeApimart;
let dir: string;
const relayTasks: string[] = [];
const localTasks: string[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vidgate-console-margins-'));
  apimart = await startFakeApimart({ lifecycle: { pending: 1_000_000_000 } });
  const config = join(dir, 'vidgate.yaml');
  await writeFile(
    config,
    `routing: cost
channels:
  - name: relay
    provider: apimart
    base_url: ${apimart.baseUrl}
    api_keys: [apimart-key]
    models: [doubao-seedance-2.0]
    priority: 10
    first_poll_ms: 5
    max_poll_ms: 20
    cost:
      per_second:
        doubao-seedance-2.0: { 480p: ${RATE_480P}, 720p: 0.11 }
      per_second_with_reference_video:
        doubao-seedance-2.0: { 720p: 0.066 }
    daily_budget_usd: ${RELAY_BUDGET}
  - name: local
    provider: local
    models: "*"
    priority: 0
`,
  );
  [server, browser] = await Promise.all([
    startConsoleServer({ env: { VIDGATE_CONFIG: config, VIDGATE_BOOTSTRAP_BALANCE: '5', VIDGATE_MEDIA_ALLOW_HOSTS: '127.0.0.1' } }),
    launchBrowser(),
  ]);
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
  await apimart?.close();
  await rm(dir, { recursive: true, force: true });
});

const admin = async <T>(path: string) => (await api<T>(server.url, path, server.adminToken)).body;
const channel = async (name: string): Promise<AdminChannel> => (await admin<ChannelList>('/admin/v1/channels')).data.find((c) => c.name === name)!;
const taskCost = async (id: string) => (await api<{ data: { cost: number } }>(server.url, `/v1/tasks/${id}`, server.apiKey)).body.data.cost;

/** Submits a relay task and waits until the fake upstream holds it, so the fake's tasks are in the order of relayTasks. */
async function submitRelay(): Promise<string> {
  const id = await submit(server.url, server.apiKey, RELAY);
  relayTasks.push(id);
  await expect.poll(() => apimart.tasks().length, WAIT).toBe(relayTasks.length);
  return id;
}

async function completeRelay(index: number): Promise<void> {
  apimart.advance(apimart.tasks()[index]!.id, 'completed');
  expect((await server.testApp.settled(relayTasks[index]!)).status).toBe('completed');
}

/** A figure the page shows as its data-* attribute: a number, or null for '' (not known, no budget). */
const shownNumber = async (page: Page, selector: string, attribute: string): Promise<number | null> => {
  const value = await page.locator(selector).getAttribute(attribute);
  return value === null || value === '' ? null : Number(value);
};

/** The bars of a margin chart: a number, or null where the chart draws "not known". */
const marginBars = async (page: Page, group: UsageGroup) =>
  page
    .locator(`[data-margin-chart="${group}"] g.bar`)
    .evaluateAll((groups) => groups.map((g) => [g.getAttribute('data-label'), g.getAttribute('data-unknown') ? null : Number(g.getAttribute('data-value'))]));

/** What a bucket's margin is on the page: known where some completed task of it had a declared cost (by channel: the channel declares one). */
const expectedMargin = (group: UsageGroup, b: AdminUsageBucket): number | null =>
  group === 'channel' ? (b.key === 'relay' ? b.margin : null) : b.upstream_cost !== 0 || b.margin !== 0 ? b.margin : null;

describe('upstream cost, margins and daily budgets', () => {
  it("shows each channel's declared cost, and today's upstream cost (settled + in flight) as a bar against its budget", async () => {
    // One task on local (no declared cost), two on the relay: one completed there, one still held upstream.
    const local = await submit(server.url, server.apiKey);
    localTasks.push(local);
    await submitRelay();
    await submitRelay();
    await completeRelay(0);
    expect((await server.testApp.settled(local)).status).toBe('completed');

    const relay = await channel('relay');
    expect(relay).toMatchObject({
      state: 'ok',
      daily_budget_usd: RELAY_BUDGET,
      cost: {
        per_second: { 'doubao-seedance-2.0': { '480p': RATE_480P, '720p': 0.11 } },
        per_second_with_reference_video: { 'doubao-seedance-2.0': { '720p': 0.066 } },
      },
      today: { date: utcDay(), settled: RELAY_TASK_COST, in_flight: RELAY_TASK_COST, spent: 2 * RELAY_TASK_COST },
    });
    expect(relay.today.remaining).toBeCloseTo(RELAY_BUDGET - 2 * RELAY_TASK_COST, 6);

    const opened = await openPage(browser);
    await remember(opened.context, { admin: server.adminToken, language: 'en' });
    const { page } = opened;
    await page.goto(`${server.url}/#/admin/channels`);
    const row = page.locator('tr[data-channel="relay"]');
    const budget = row.locator('[data-cell="budget"]');
    await budget.locator('[data-testid="budget-bar"]').waitFor();

    // Today's figures are the API's `today`, in the cell's data and in words.
    const shown = Object.fromEntries(
      await Promise.all(
        (['budget', 'settled', 'in-flight', 'spent', 'remaining'] as const).map(async (a) => [
          a,
          await shownNumber(page, 'tr[data-channel="relay"] [data-cell="budget"]', `data-${a}`),
        ]),
      ),
    );
    expect(shown).toEqual({
      budget: relay.daily_budget_usd,
      settled: relay.today.settled,
      'in-flight': relay.today.in_flight,
      spent: relay.today.spent,
      remaining: relay.today.remaining,
    });
    expect(await budget.getAttribute('data-date')).toBe(relay.today.date);
    expect(await budget.locator('[data-cell="budget-spent"]').textContent()).toBe(`${usdText(relay.today.spent)} of ${usdText(RELAY_BUDGET)}`);
    expect(await budget.locator('[data-cell="budget-detail"]').textContent()).toBe(
      `${usdText(relay.today.settled)} settled + ${usdText(relay.today.in_flight)} in flight · ${usdText(relay.today.remaining!)} left`,
    );
    expect(await budget.locator('meter').getAttribute('aria-label')).toBe(
      `Upstream cost today: ${usdText(relay.today.spent)} of a ${usdText(RELAY_BUDGET)} daily budget`,
    );

    // The bar as drawn: settled and in flight each 40% of the budget's width, not past budget.
    const barBox = (await budget.locator('[data-testid="budget-bar"]').boundingBox())!;
    const settledBox = (await budget.locator('.budget-settled').boundingBox())!;
    const inFlightBox = (await budget.locator('.budget-in-flight').boundingBox())!;
    expect(settledBox.width / barBox.width).toBeCloseTo(relay.today.settled / RELAY_BUDGET, 1);
    expect(inFlightBox.width / barBox.width).toBeCloseTo(relay.today.in_flight / RELAY_BUDGET, 1);
    expect(await budget.locator('.budget-bar.over').count()).toBe(0);

    // The declared cost: a line, and every rate once opened.
    const cost = row.locator('[data-testid="cost"]');
    expect(await cost.locator('summary').textContent()).toBe('1 model · $0.05–$0.11/s + with reference video');
    expect(await cost.locator('table.cost-rates').isVisible()).toBe(false);
    await cost.locator('summary').click();
    await cost.locator('table.cost-rates').waitFor();
    const rates = await cost
      .locator('tr[data-model]')
      .evaluateAll((rows) =>
        rows.map((r) => [r.getAttribute('data-model'), r.getAttribute('data-resolution'), r.getAttribute('data-rate'), r.getAttribute('data-rate-video')]),
      );
    expect(rates).toEqual([
      ['doubao-seedance-2.0', '480p', String(RATE_480P), ''],
      ['doubao-seedance-2.0', '720p', '0.11', '0.066'],
    ]);

    // local declares nothing: no cost, no budget, and it is ok.
    const localRow = page.locator('tr[data-channel="local"]');
    expect(await localRow.locator('[data-cell="cost"]').textContent()).toBe('not declared');
    expect(await localRow.locator('[data-cell="budget"]').textContent()).toBe('—');
    expect(await localRow.locator('[data-cell="budget"]').getAttribute('data-budget')).toBe('');
    expect(await row.getAttribute('data-paused')).toBeNull();
    expect(opened.problems()).toEqual([]);
    await opened.close();
  });

  it('pauses the channel once the budget is spent, and shows why and until when; new tasks go elsewhere', async () => {
    // 0.4 < 0.5: the relay takes a third task, which takes its day to 0.6.
    await submitRelay();
    const relay = await channel('relay');
    expect(relay).toMatchObject({ state: 'paused', today: { remaining: 0 } });
    expect(relay.today.spent).toBeCloseTo(3 * RELAY_TASK_COST, 6);
    expect(relay.state_reason).toMatch(/^daily budget spent: /);
    const midnight = (Math.floor(Date.now() / 86_400_000) + 1) * 86_400;
    expect(relay.paused_until).toBe(midnight);
    // The next task of its model goes to local.
    const elsewhere = await submit(server.url, server.apiKey, RELAY);
    localTasks.push(elsewhere);
    expect((await server.testApp.settled(elsewhere)).status).toBe('completed');
    expect(apimart.tasks()).toHaveLength(3);

    const opened = await openPage(browser);
    await remember(opened.context, { admin: server.adminToken, language: 'en' });
    const { page } = opened;
    await page.goto(`${server.url}/#/admin/channels`);
    const row = page.locator('tr[data-channel="relay"]');
    await row.locator('[data-cell="budget"] [data-testid="budget-bar"]').waitFor();
    expect(await row.getAttribute('data-paused')).toBe('budget');
    expect(await row.locator('[data-state]').getAttribute('data-state')).toBe('paused');
    expect(await row.locator('[data-state]').textContent()).toBe('paused');
    expect(await row.locator('.budget-spent-label').textContent()).toBe('Daily budget spent');
    expect(await row.locator('.state-reason').textContent()).toBe(relay.state_reason);
    expect(await shownNumber(page, 'tr[data-channel="relay"] .paused-until', 'data-paused-until')).toBe(relay.paused_until);
    expect(await row.locator('.paused-until').getAttribute('title')).toBe(new Date(midnight * 1000).toISOString());
    expect(await row.locator('.paused-until').textContent()).toMatch(/^until .+ \(in \d+ (h|min|s)/);

    const budget = row.locator('[data-cell="budget"]');
    expect(await shownNumber(page, 'tr[data-channel="relay"] [data-cell="budget"]', 'data-spent')).toBe(relay.today.spent);
    expect(await shownNumber(page, 'tr[data-channel="relay"] [data-cell="budget"]', 'data-in-flight')).toBe(relay.today.in_flight);
    expect(await shownNumber(page, 'tr[data-channel="relay"] [data-cell="budget"]', 'data-remaining')).toBe(0);
    expect(await budget.locator('[data-cell="budget-spent"]').textContent()).toBe(`${usdText(relay.today.spent)} of ${usdText(RELAY_BUDGET)}`);
    expect(await budget.locator('[data-cell="budget-detail"]').textContent()).toContain(`· ${usdText(0)} left`);
    // Past the budget the bar is full (and marked), never wider than its track.
    expect(await budget.locator('.budget-bar.over').count()).toBe(1);
    const barBox = (await budget.locator('[data-testid="budget-bar"]').boundingBox())!;
    const settledBox = (await budget.locator('.budget-settled').boundingBox())!;
    const inFlightBox = (await budget.locator('.budget-in-flight').boundingBox())!;
    expect((settledBox.width + inFlightBox.width) / barBox.width).toBeCloseTo(1, 1);
    expect(await page.locator('tr[data-channel="local"] [data-state]').getAttribute('data-state')).toBe('ok');
    await row.locator('[data-testid="cost"] summary').click();
    await row.locator('table.cost-rates').waitFor();
    await screenshot(page, 'admin-channels-budget');
    expect(opened.problems()).toEqual([]);
    await opened.close();

    // In Chinese on a phone: the same state, in its words, and the page fits.
    const phone = await openPage(browser, { viewport: { width: 390, height: 844 }, locale: 'zh-CN' });
    await remember(phone.context, { admin: server.adminToken, language: 'zh' });
    await phone.page.goto(`${server.url}/#/admin/channels`);
    const phoneRow = phone.page.locator('tr[data-channel="relay"][data-paused="budget"]');
    await phoneRow.waitFor();
    expect(await phoneRow.locator('.budget-spent-label').textContent()).toBe('每日预算已用完');
    // zh-CN writes USD as "US$0.60": the figures, whatever the currency sign.
    expect((await phoneRow.locator('[data-cell="budget-spent"]').textContent())?.replace(/[^\d./ ]/g, '')).toBe(
      `${relay.today.spent.toFixed(2)} / ${RELAY_BUDGET.toFixed(2)}`,
    );
    expect(await overflowsHorizontally(phone.page)).toBe(false);
    expect(phone.problems()).toEqual([]);
    await phone.close();
  });

  it("shows the service's upstream cost and margin (price − cost) as the API counts them, known only where a cost is declared", async () => {
    await completeRelay(1);
    await completeRelay(2);
    const from = utcDay(-6);
    const to = utcDay();
    const views = Object.fromEntries(
      await Promise.all(
        (['day', 'model', 'account', 'channel'] as const).map(
          async (g) => [g, (await admin<{ data: AdminUsageView }>(`/admin/v1/usage?from=${from}&to=${to}&group_by=${g}`)).data] as const,
        ),
      ),
    ) as Record<UsageGroup, AdminUsageView>;

    // Margin = price charged − upstream cost, over the relay's tasks; local's are in `spent` only.
    const prices = await Promise.all(relayTasks.map(taskCost));
    const localPrices = await Promise.all(localTasks.map(taskCost));
    const { total } = views.day;
    expect(total.upstream_cost).toBeCloseTo(relayTasks.length * RELAY_TASK_COST, 6);
    expect(total.margin).toBeCloseTo(
      prices.reduce((sum, p) => sum + (p - RELAY_TASK_COST), 0),
      6,
    );
    expect(total.spent).toBeCloseTo(
      [...prices, ...localPrices].reduce((a, b) => a + b, 0),
      6,
    );
    const relayBucket = views.channel.buckets.find((b) => b.key === 'relay')!;
    const localBucket = views.channel.buckets.find((b) => b.key === 'local')!;
    expect(relayBucket).toMatchObject({ completed: 3, upstream_cost: total.upstream_cost, margin: total.margin });
    expect(localBucket).toMatchObject({ completed: 2, upstream_cost: 0, margin: 0 });
    expect((await channel('relay')).today).toMatchObject({ settled: total.upstream_cost, in_flight: 0 });

    const opened = await openPage(browser);
    await remember(opened.context, { admin: server.adminToken, key: server.apiKey, language: 'en' });
    const { page } = opened;
    await page.goto(`${server.url}/#/admin/usage?days=7`);
    const margin = page.locator('[data-stat="margin"]');
    await page.locator(`[data-stat="margin"][data-value="${total.margin}"]`).waitFor();
    expect(await shownNumber(page, '[data-stat="upstream_cost"]', 'data-value')).toBe(total.upstream_cost);
    expect(await page.locator('[data-stat="upstream_cost"] .value').textContent()).toBe(usdText(total.upstream_cost));
    expect(await margin.locator('.value').textContent()).toBe(usdText(total.margin));
    expect(Number(await margin.locator('[data-margin-rate]').getAttribute('data-margin-rate'))).toBeCloseTo(
      total.margin / (total.upstream_cost + total.margin),
      6,
    );
    expect(await page.locator('[data-stat="spent"] .value').textContent()).toBe(usdText(total.spent));
    // What the figures count, naming the channels with and without a declared cost.
    await expect
      .poll(() => page.getByTestId('margin-note').textContent(), WAIT)
      .toContain('channels that declare a cost (relay); tasks on other channels (local)');

    // Margin charts: per day (today known, days without a costed task not known) and per channel (local not known).
    await expect.poll(() => marginBars(page, 'channel'), WAIT).toEqual(views.channel.buckets.map((b) => [b.key, expectedMargin('channel', b)]));
    expect(await marginBars(page, 'channel')).toEqual([
      ['local', null],
      ['relay', total.margin],
    ]);
    expect(await marginBars(page, 'day')).toEqual(views.day.buckets.map((b) => [b.key, expectedMargin('day', b)]));
    expect((await marginBars(page, 'day')).at(-1)).toEqual([to, total.margin]);
    expect((await bars(page, '[data-margin-chart="channel"]')).map((b) => b.title)).toEqual(['local: not known', `relay: ${usdText(total.margin)}`]);
    // The spend charts are as before: every task's price.
    expect((await bars(page, '[data-chart="channel"]')).map((b) => [b.label, b.value])).toEqual(views.channel.buckets.map((b) => [b.key, b.spent]));

    // The table, per bucket: by day, then by channel and by model.
    const cells = (group: UsageGroup, key: string) => page.locator(`table.usage-table[data-group="${group}"] tr[data-key="${key}"]`);
    const today = views.day.buckets.find((b) => b.key === to)!;
    expect(await cells('day', to).locator('td[data-margin]').getAttribute('data-margin')).toBe(String(today.margin));
    expect(await cells('day', to).locator('td[data-upstream-cost]').getAttribute('data-upstream-cost')).toBe(String(today.upstream_cost));
    await page.getByRole('button', { name: 'Channel', exact: true }).click();
    await page.waitForURL((u) => u.hash === '#/admin/usage?days=7&group=channel');
    for (const b of views.channel.buckets) {
      const known = expectedMargin('channel', b) !== null;
      expect(await cells('channel', b.key).locator('td[data-margin]').getAttribute('data-margin')).toBe(known ? String(b.margin) : '');
      expect(await cells('channel', b.key).locator('td[data-margin]').textContent()).toBe(known ? usdText(b.margin) : '—');
      expect(await cells('channel', b.key).locator('td[data-upstream-cost]').textContent()).toBe(known ? usdText(b.upstream_cost) : '—');
    }
    await page.getByRole('button', { name: 'Model', exact: true }).click();
    await page.waitForURL((u) => u.hash === '#/admin/usage?days=7&group=model');
    // doubao-seedance-2.0 ran on both channels: its margin is the relay's three tasks', the -fast model's none.
    for (const b of views.model.buckets) {
      expect(await shownNumber(page, `table.usage-table[data-group="model"] tr[data-key="${b.key}"] td[data-margin]`, 'data-margin')).toBe(
        expectedMargin('model', b),
      );
    }
    expect(views.model.buckets.find((b) => b.key === RELAY.model)).toMatchObject({ completed: 4, margin: total.margin });
    await page.getByRole('button', { name: 'Day', exact: true }).click();
    await page.waitForURL((u) => u.hash === '#/admin/usage?days=7');
    await screenshot(page, 'admin-usage-margin');

    // The account's own usage page gets no such figures from /v1/usage, and shows none.
    const own = (await api<{ data: UsageView }>(server.url, `/v1/usage?from=${from}&to=${to}`, server.apiKey)).body.data;
    expect(Object.keys(own.total)).not.toContain('upstream_cost');
    expect(Object.keys(own.total)).not.toContain('margin');
    await page.goto(`${server.url}/#/usage?days=7`);
    await page.getByRole('heading', { name: 'Usage', level: 1 }).waitFor();
    await page.locator(`[data-stat="spent"]`).waitFor();
    expect(await page.locator('[data-stat="spent"] .value').textContent()).toBe(usdText(own.total.spent));
    expect(
      await page.locator('[data-stat="margin"], [data-stat="upstream_cost"], [data-testid="margin-note"], [data-margin-chart], td[data-margin]').count(),
    ).toBe(0);
    expect(await page.locator('table.usage-table th').allTextContents()).not.toContain('Margin');
    expect(opened.problems()).toEqual([]);
    await opened.close();
  });
});
