import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdminAccount, AdminKey, ChannelList, DeliveryPage, LedgerEntry, QueueView, UsageView } from '../../console/src/admin-types.js';
import { launchBrowser, type OpenedPage, openPage, screenshot } from '../helpers/browser.js';
import { type ConsoleServer, startConsoleServer } from '../helpers/console-server.js';
import { type FakeApimart, startFakeApimart } from '../helpers/upstreams/fake-apimart.js';
import { WAIT, api, bars, overflowsHorizontally, remember, submit, TINY_TASK, usdText, utcDay } from './steps.js';

/**
 * The operator area against a real vidgate. Its channels: `relay`, an APIMart-compatible upstream
 * (the fake, which holds its tasks where the test puts them) serving doubao-seedance-2.0, and the
 * local renderer for everything else. Webhooks go to a receiver on 127.0.0.1 (allowed through
 * VIDGATE_MEDIA_ALLOW_HOSTS), which accepts /ok (or holds its answer while a test says so) and
 * answers /fail with 500.
 */

interface Hit {
  path: string;
  id: string;
  body: { data: { id: string; status: string } };
}

let server: ConsoleServer;
let browser: Browser;
let apimart: FakeApimart;
let receiver: Server;
let receiverUrl: string;
let dir: string;
const hits: Hit[] = [];
/** While set, the receiver holds its answers to /ok until this settles (a delivery then stays pending). */
let holdOk: Promise<void> | null = null;
/** Lets the held answers go (also at the end, so that a failed test leaves no connection open). */
let releaseOk = () => {};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vidgate-console-operator-'));
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      hits.push({ path: req.url ?? '', id: String(req.headers['webhook-id']), body: JSON.parse(body) });
      const answer = () => res.writeHead(req.url === '/fail' ? 500 : 200).end();
      if (holdOk && req.url === '/ok') void holdOk.then(answer);
      else answer();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  // Relay tasks stay pending until the test advances them.
  apimart = await startFakeApimart({ lifecycle: { pending: 1_000_000_000 } });
  const config = join(dir, 'vidgate.yaml');
  await writeFile(
    config,
    `channels:
  - name: relay
    provider: apimart
    base_url: ${apimart.baseUrl}
    api_keys: [apimart-key]
    models: [doubao-seedance-2.0]
    priority: 10
    first_poll_ms: 5
    max_poll_ms: 20
  - name: local
    provider: local
    models: "*"
    priority: 0
`,
  );
  [server, browser] = await Promise.all([
    startConsoleServer({
      env: {
        VIDGATE_CONFIG: config,
        VIDGATE_MEDIA_ALLOW_HOSTS: '127.0.0.1',
        VIDGATE_BOOTSTRAP_BALANCE: '1',
        // A refused webhook is tried once more, at once, then given up.
        VIDGATE_WEBHOOK_RETRY_SCHEDULE: '50ms',
      },
    }),
    launchBrowser(),
  ]);
});
afterAll(async () => {
  releaseOk();
  await browser?.close();
  await server?.close();
  await apimart?.close();
  await new Promise((resolve) => receiver?.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

const admin = <T>(path: string, init?: { method?: string; body?: unknown }) => api<T>(server.url, path, server.adminToken, init).then((a) => a.body);
const account = async (id: string) => (await admin<{ data: AdminAccount }>(`/admin/v1/accounts/${id}`)).data;

/** The page every step of the story runs in: signed in once, by pasting. */
let main: OpenedPage;
let page: Page;
let acme: AdminAccount;
let keyId: string;
let secret: string;
let keyTaskId: string;
let keyTaskCost: number;
const relayTasks: string[] = [];

/** The ledger entry ids the account page shows, top to bottom. */
const shownLedger = () =>
  page.locator('[data-testid="ledger"] tr[data-ledger-id]').evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-ledger-id'))));

const go = async (hash: string) => {
  await page.evaluate((h) => {
    window.location.hash = h;
  }, hash);
  await page.waitForURL((u) => u.hash === hash);
};

describe('operator area', () => {
  it('takes the API key and the admin token pasted into the settings page', async () => {
    main = await openPage(browser);
    page = main.page;
    await page.goto(`${server.url}/#/settings`);
    await page.locator('input[name="api_key"]').fill(server.apiKey);
    await page.getByRole('button', { name: 'Use this key' }).click();
    await page.getByRole('status').filter({ hasText: 'Key accepted.' }).waitFor();
    await page.locator('input[name="admin_token"]').fill(server.adminToken);
    await page.getByRole('button', { name: 'Use this token' }).click();
    await page.getByRole('status').filter({ hasText: 'Admin token accepted.' }).waitFor();
    await page.getByRole('link', { name: 'Accounts' }).click();
    await page.getByRole('heading', { name: 'Accounts', level: 1 }).waitFor();
    await expect.poll(() => page.getByTestId('balance').textContent(), WAIT).toBe('Balance: $1.00');
  });

  it('opens an account with a balance and tops it up from the list; the balance chip follows a top-up of its own account', async () => {
    await page.locator('input[name="name"]').fill('Acme');
    await page.locator('input[name="balance"]').fill('2');
    await page.getByRole('button', { name: 'Open account' }).click();
    const created = page.locator('[data-created-account]');
    await created.waitFor();
    const id = (await created.getAttribute('data-created-account'))!;
    acme = await account(id);
    expect(acme).toMatchObject({ name: 'Acme', unlimited: false, balance: 2, key_count: 0 });
    const row = page.locator(`tr[data-account-id="${id}"]`);
    expect(await row.locator('[data-cell="balance"]').textContent()).toBe('$2.00');

    await row.locator(`[data-top-up="${id}"]`).click();
    const form = page.getByTestId('top-up');
    await form.locator('input[name="amount"]').fill('3');
    await form.locator('input[name="note"]').fill('welcome credit');
    await form.getByRole('button', { name: 'Top up' }).click();
    await expect.poll(() => row.locator('[data-cell="balance"]').getAttribute('data-balance'), WAIT).toBe('5');
    expect((await account(id)).balance).toBe(5);

    // The bootstrap account is the one of the pasted key: topping it up refreshes the chip at once.
    const bootstrap = page.locator('tr[data-account-id]').filter({ hasText: 'bootstrap' });
    await bootstrap.locator('[data-top-up]').click();
    await page.getByTestId('top-up').locator('input[name="amount"]').fill('0.5');
    await page.getByTestId('top-up').getByRole('button', { name: 'Top up' }).click();
    await expect.poll(() => page.getByTestId('balance').textContent(), WAIT).toBe('Balance: $1.50');
    await screenshot(page, 'admin-accounts');
  });

  it("shows the account's balance and its history, tops up there too, and the list agrees", async () => {
    await page.getByRole('link', { name: 'Acme' }).click();
    await page.waitForURL((u) => u.hash === `#/admin/accounts/${acme.id}`);
    const balance = page.locator('.account-stats [data-stat="balance"]');
    await expect.poll(() => balance.getAttribute('data-balance'), WAIT).toBe('5');
    // Newest first: the top-up made from the list, then the opening balance.
    const ledger = page.getByTestId('ledger');
    await expect.poll(() => ledger.locator('tbody tr').count(), WAIT).toBe(2);
    expect(await ledger.locator('tbody tr').first().textContent()).toContain('welcome credit');

    await page.getByTestId('open-top-up').click();
    await page.getByTestId('top-up').locator('input[name="amount"]').fill('1');
    await page.getByTestId('top-up').locator('input[name="note"]').fill('second');
    await page.getByTestId('top-up').getByRole('button', { name: 'Top up' }).click();
    await expect.poll(() => balance.getAttribute('data-balance'), WAIT).toBe('6');
    await expect.poll(() => ledger.locator('tbody tr').count(), WAIT).toBe(3);
    const entries = (await admin<{ data: LedgerEntry[] }>(`/admin/v1/accounts/${acme.id}/ledger?order=desc`)).data;
    expect(entries.map((e) => [e.kind, e.amount, e.balance_after, e.note])).toEqual([
      ['topup', 1, 6, 'second'],
      ['topup', 3, 5, 'welcome credit'],
      ['topup', 2, 2, expect.any(String)],
    ]);
    expect(await shownLedger()).toEqual(entries.map((e) => e.id));
    for (const e of entries) expect(await ledger.locator(`tr[data-ledger-id="${e.id}"]`).getAttribute('data-amount')).toBe(String(e.amount));

    await page.getByRole('link', { name: '← Accounts' }).click();
    await expect.poll(() => page.locator(`tr[data-account-id="${acme.id}"] [data-cell="balance"]`).getAttribute('data-balance'), WAIT).toBe('6');
  });

  it('creates a limited key with a callback URL, shows its secret once with a copy button, and edits the key', async () => {
    await main.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    await go(`#/admin/accounts/${acme.id}`);
    const form = page.getByTestId('create-key');
    await form.locator('input[name="key_name"]').fill('ci');
    await form.locator('input[name="rpm_limit"]').fill('30');
    await form.locator('input[name="in_flight_limit"]').fill('2');
    await form.locator('input[name="spend_cap"]').fill('1');
    await form.locator('input[name="callback_url"]').fill(`${receiverUrl}/ok`);
    await form.getByRole('button', { name: 'Create key' }).click();
    const shown = page.getByTestId('new-key-secret');
    await shown.waitFor();
    secret = await shown.inputValue();
    expect(secret).toMatch(/^sk-/);
    await page.getByTestId('copy-secret').click();
    await page.getByRole('status').filter({ hasText: 'Copied.' }).waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);

    const keys = (await admin<{ data: AdminKey[] }>(`/admin/v1/accounts/${acme.id}/keys`)).data;
    expect(keys).toEqual([
      expect.objectContaining({
        name: 'ci',
        rpm_limit: 30,
        in_flight_limit: 2,
        spend_cap: 1,
        callback_url: `${receiverUrl}/ok`,
        disabled: false,
        last_used_at: null,
      }),
    ]);
    keyId = keys[0]!.id;
    const row = page.locator(`tr[data-key-id="${keyId}"]`);
    expect(await row.locator('[data-cell="limits"]').textContent()).toBe('30/min · 2 in flight · cap $1.00');
    expect(await row.textContent()).toContain(`${receiverUrl}/ok`);
    expect(await form.locator('input[name="callback_url"]').inputValue()).toBe('');
    expect(await row.locator('[data-cell="last-used"]').textContent()).toBe('never');
    expect(secret.startsWith(keys[0]!.prefix)).toBe(true);

    // Once dismissed the secret is nowhere, not after a reload either.
    await page.getByRole('button', { name: 'I have saved it' }).click();
    await shown.waitFor({ state: 'detached' });
    expect(await page.content()).not.toContain(secret);
    await page.reload();
    await row.waitFor();
    expect(await page.content()).not.toContain(secret);

    // Editing starts from the key as it is; saving keeps the callback URL and changes a limit.
    await row.getByRole('button', { name: 'Edit' }).click();
    const edit = page.locator('tr.form-row');
    expect(await edit.locator('input[name="callback_url"]').inputValue()).toBe(`${receiverUrl}/ok`);
    expect(await edit.locator('input[name="rpm_limit"]').inputValue()).toBe('30');
    await edit.locator('input[name="rpm_limit"]').fill('40');
    await edit.getByRole('button', { name: 'Save' }).click();
    await edit.waitFor({ state: 'detached' });
    expect(await row.locator('[data-cell="limits"]').textContent()).toBe('40/min · 2 in flight · cap $1.00');
    expect((await admin<{ data: AdminKey[] }>(`/admin/v1/accounts/${acme.id}/keys`)).data[0]).toMatchObject({
      callback_url: `${receiverUrl}/ok`,
      rpm_limit: 40,
    });
  });

  it("completes a task with that key, then shows the account's spend, its usage and the key's last use", async () => {
    const before = Math.floor(Date.now() / 1000);
    keyTaskId = await submit(server.url, secret);
    expect((await server.testApp.settled(keyTaskId)).status).toBe('completed');
    keyTaskCost = (await api<{ data: { cost: number } }>(server.url, `/v1/tasks/${keyTaskId}`, secret)).body.data.cost;
    expect(keyTaskCost).toBeGreaterThan(0);

    await page.getByRole('button', { name: 'Refresh', exact: true }).first().click();
    await expect.poll(() => page.locator('.account-stats [data-stat="spent"]').getAttribute('data-spent'), WAIT).toBe(String(keyTaskCost));
    const after = await account(acme.id);
    expect(after.spent).toBe(keyTaskCost);
    expect(await page.locator('.account-stats [data-stat="balance"]').getAttribute('data-balance')).toBe(String(after.balance));
    expect(await page.locator('.account-stats [data-stat="balance"] .value').textContent()).toBe(usdText(after.balance));

    const row = page.locator(`tr[data-key-id="${keyId}"]`);
    await expect.poll(() => row.locator('[data-cell="last-used"]').getAttribute('data-last-used'), WAIT).not.toBe('');
    const lastUsed = Number(await row.locator('[data-cell="last-used"]').getAttribute('data-last-used'));
    expect(lastUsed).toBeGreaterThanOrEqual(before);
    expect(lastUsed).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
    expect(await row.locator('[data-cell="last-used"]').textContent()).not.toBe('never');
    expect(await row.locator('[data-cell="spent"]').textContent()).toBe(usdText(keyTaskCost));

    // Its usage: today's bar is the task's cost, as the admin usage API has it.
    const usage = (await admin<{ data: UsageView }>(`/admin/v1/usage?account_id=${acme.id}&from=${utcDay(-29)}&to=${utcDay()}`)).data;
    expect(usage.total).toMatchObject({ tasks: 1, completed: 1, spent: keyTaskCost });
    await expect.poll(async () => (await bars(page, '#usage [data-chart="day"]')).at(-1), WAIT).toMatchObject({ label: utcDay(), value: keyTaskCost });
    expect((await bars(page, '#usage [data-chart="day"]')).map((b) => b.value)).toEqual(usage.buckets.map((b) => b.spent));

    // Its tasks, with what each asked for (include=request): the model and the prompt.
    const taskRow = page.locator(`[data-testid="account-tasks"] tr[data-task-id="${keyTaskId}"]`);
    expect(await taskRow.locator('[data-status]').getAttribute('data-status')).toBe('completed');
    expect(await taskRow.locator('td[data-cost]').getAttribute('data-cost')).toBe(String(keyTaskCost));
    expect(await taskRow.locator('[data-cell="model"]').textContent()).toBe(TINY_TASK.model);
    expect(await taskRow.locator('[data-cell="prompt"]').textContent()).toBe(TINY_TASK.prompt);
    const listed = await admin<{ data: Array<{ id: string; request?: { model: string; prompt: string } }>; has_more: boolean }>(
      `/admin/v1/accounts/${acme.id}/tasks?include=request`,
    );
    expect(listed).toMatchObject({ has_more: false, data: [{ id: keyTaskId, request: { model: TINY_TASK.model, prompt: TINY_TASK.prompt } }] });
    expect(await page.locator('#tasks [data-testid="load-more"]').count()).toBe(0);

    // The balance history has the task's money on top, newest first, above the three top-ups.
    const entries = (await admin<{ data: LedgerEntry[] }>(`/admin/v1/accounts/${acme.id}/ledger?order=desc`)).data;
    expect(entries[0]).toMatchObject({ kind: expect.stringMatching(/^(reserve|settle)$/), task_id: keyTaskId });
    expect(entries.slice(-3).map((e) => e.note)).toEqual(['second', 'welcome credit', expect.any(String)]);
    await expect.poll(shownLedger, WAIT).toEqual(entries.map((e) => e.id));
    await screenshot(page, 'admin-account');
  });

  it('pages the balance history newest first, twenty entries at a time', async () => {
    // Twenty small top-ups on top of what is there: a page of 20, then the oldest few.
    const before = (await admin<{ data: LedgerEntry[] }>(`/admin/v1/accounts/${acme.id}/ledger?order=desc`)).data.length;
    for (let n = 1; n <= 20; n++) {
      await admin(`/admin/v1/accounts/${acme.id}/topups`, { body: { amount: 0.01, note: `batch ${n}` } });
    }
    const all = (await admin<{ data: LedgerEntry[] }>(`/admin/v1/accounts/${acme.id}/ledger?order=desc`)).data;
    expect(all).toHaveLength(before + 20);
    expect(all.slice(0, 20).map((e) => e.note)).toEqual(Array.from({ length: 20 }, (_, i) => `batch ${20 - i}`));
    const first = await admin<{ data: LedgerEntry[]; has_more: boolean; next_after: number }>(`/admin/v1/accounts/${acme.id}/ledger?order=desc&limit=20`);
    expect(first).toMatchObject({ has_more: true, next_after: all[19]!.id });

    await page.getByRole('button', { name: 'Refresh', exact: true }).first().click();
    await expect.poll(shownLedger, WAIT).toEqual(all.slice(0, 20).map((e) => e.id));
    const more = page.locator('#ledger [data-testid="load-more"]');
    expect(await more.textContent()).toBe('Earlier entries');
    await more.click();
    await expect.poll(shownLedger, WAIT).toEqual(all.map((e) => e.id));
    expect(await more.count()).toBe(0);
    expect(await page.locator('[data-testid="ledger"] tbody tr').last().getAttribute('data-amount')).toBe('2');
  });

  it('disables the key, and the API refuses it; enabling it lets it in again', async () => {
    const row = page.locator(`tr[data-key-id="${keyId}"]`);
    await row.locator(`[data-toggle-key="${keyId}"]`).click();
    await expect.poll(() => row.getAttribute('data-disabled'), WAIT).toBe('true');
    const refused = await api<{ error: { type: string } }>(server.url, '/v1/balance', secret);
    expect(refused.status).toBe(401);
    expect(refused.body.error.type).toBe('authentication_error');

    await row.locator(`[data-toggle-key="${keyId}"]`).click();
    await expect.poll(() => row.getAttribute('data-disabled'), WAIT).toBe('false');
    expect((await api(server.url, '/v1/balance', secret)).status).toBe(200);
    expect(main.problems()).toEqual([]);
  });

  it('shows the queue by channel and model, refreshed every 5 s until it leaves the page', async () => {
    // Three tasks on the relay, held by the upstream; one of them reports to a receiver that refuses.
    const relay = { ...TINY_TASK, model: 'doubao-seedance-2.0' };
    relayTasks.push(await submit(server.url, server.apiKey, relay));
    relayTasks.push(await submit(server.url, server.apiKey, relay));
    relayTasks.push(await submit(server.url, server.apiKey, { ...relay, callback_url: `${receiverUrl}/fail` }));
    await expect.poll(() => apimart.tasks().length, WAIT).toBe(3);
    apimart.advance(apimart.tasks()[0]!.id, 'processing');
    await expect.poll(async () => (await admin<{ data: QueueView }>('/admin/v1/queue')).data, WAIT).toMatchObject({ pending: 2, processing: 1 });

    // Its own page, with its clock under the test's control: the 5 s timer runs when the test says.
    const queue = await openPage(browser);
    await remember(queue.context, { admin: server.adminToken, language: 'en' });
    await queue.context.clock.install();
    // Registered after the fake clock: records the page's live intervals (by delay) as it sets and clears them.
    await queue.context.addInitScript(() => {
      const live = new Map<unknown, number>();
      const set = window.setInterval.bind(window);
      const clear = window.clearInterval.bind(window);
      window.setInterval = ((handler: TimerHandler, ms?: number, ...rest: unknown[]) => {
        const id = set(handler, ms, ...rest);
        live.set(id, ms ?? 0);
        return id;
      }) as typeof window.setInterval;
      window.clearInterval = ((id?: number) => {
        live.delete(id);
        clear(id);
      }) as typeof window.clearInterval;
      (window as unknown as { liveIntervals: () => number[] }).liveIntervals = () => [...live.values()];
    });
    const liveIntervals = () => queue.page.evaluate(() => (window as unknown as { liveIntervals: () => number[] }).liveIntervals());
    const requests: string[] = [];
    queue.page.on('request', (r) => requests.push(new URL(r.url()).pathname));
    await queue.page.goto(`${server.url}/#/admin/queue`);
    const totals = queue.page.getByTestId('queue-totals');
    await totals.locator('[data-stat="pending"][data-value="2"]').waitFor();
    expect(await liveIntervals()).toContain(5000);
    expect(await totals.locator('[data-stat="processing"]').getAttribute('data-value')).toBe('1');
    const model = queue.page.locator('[data-testid="queue-models"] tr[data-channel="relay"][data-model="doubao-seedance-2.0"]');
    expect([await model.getAttribute('data-pending'), await model.getAttribute('data-processing')]).toEqual(['2', '1']);
    const view = (await admin<{ data: QueueView }>('/admin/v1/queue')).data;
    expect(view.by_channel).toEqual([expect.objectContaining({ channel: 'relay', pending: 2, processing: 1 })]);
    expect(await totals.locator('[data-stat="oldest"]').getAttribute('data-value')).not.toBe('');
    await screenshot(queue.page, 'admin-queue');

    // The upstream starts the other two; the page learns it at its next 5 s tick (the test moves its clock on).
    for (const task of apimart.tasks().slice(1)) apimart.advance(task.id, 'processing');
    await expect.poll(async () => (await admin<{ data: QueueView }>('/admin/v1/queue')).data, WAIT).toMatchObject({ pending: 0, processing: 3 });
    const reads = requests.filter((p) => p === '/admin/v1/queue').length;
    await queue.context.clock.fastForward(5000);
    await totals.locator('[data-stat="processing"][data-value="3"]').waitFor();
    expect(requests.filter((p) => p === '/admin/v1/queue').length).toBeGreaterThan(reads);

    // Another page: the timer is gone with the queue page, and nothing reads the queue any more.
    await queue.page.getByRole('link', { name: 'Channels' }).click();
    await queue.page.getByTestId('channels').waitFor();
    expect(await liveIntervals()).not.toContain(5000);
    const left = requests.filter((p) => p === '/admin/v1/queue').length;
    await queue.context.clock.fastForward(30_000);
    const refreshed = queue.page.waitForResponse((r) => r.url().includes('/admin/v1/channels'));
    await queue.page.getByRole('button', { name: 'Refresh' }).click();
    await refreshed;
    expect(requests.filter((p) => p === '/admin/v1/queue').length).toBe(left);

    // The channels page meanwhile: the relay holds three, processing.
    const relayRow = queue.page.locator('tr[data-channel="relay"]');
    await expect.poll(() => relayRow.getAttribute('data-processing'), WAIT).toBe('3');
    const relayChannel = (await admin<ChannelList>('/admin/v1/channels')).data.find((c) => c.name === 'relay')!;
    expect(relayChannel.in_flight).toEqual({ pending: 0, processing: 3 });
    expect(await relayRow.locator('[data-cell="in-flight"]').textContent()).toBe(`0 pending · 3 processing / ${relayChannel.max_in_flight}`);
    expect(queue.problems()).toEqual([]);
    await queue.close();
  });

  it('shows each channel with its in flight, error rate and p50/p95 after the tasks, over the window chosen', async () => {
    for (const task of apimart.tasks()) apimart.advance(task.id, 'completed');
    for (const id of relayTasks) expect((await server.testApp.settled(id)).status).toBe('completed');

    await go('#/admin/channels');
    const table = page.getByTestId('channels');
    const relayRow = table.locator('tr[data-channel="relay"]');
    await page.getByRole('button', { name: 'Refresh' }).click();
    await expect.poll(() => relayRow.getAttribute('data-finished'), WAIT).toBe('3');
    const channels = (await admin<ChannelList>('/admin/v1/channels?window=3600')).data;
    expect(channels.map((c) => c.name)).toEqual(['relay', 'local']);
    for (const c of channels) {
      const row = table.locator(`tr[data-channel="${c.name}"]`);
      expect(await row.getAttribute('data-pending')).toBe(String(c.in_flight.pending));
      expect(await row.getAttribute('data-processing')).toBe(String(c.in_flight.processing));
      expect(await row.getAttribute('data-finished')).toBe(String(c.finished));
      expect(await row.getAttribute('data-p50')).toBe(String(c.p50_seconds));
      expect(await row.getAttribute('data-p95')).toBe(String(c.p95_seconds));
      expect(await row.locator('[data-cell="error-rate"]').textContent()).toBe('0%');
      expect(await row.locator('[data-state]').getAttribute('data-state')).toBe(c.state);
    }
    const local = channels.find((c) => c.name === 'local')!;
    expect(local).toMatchObject({ provider: 'local', finished: 1, completed: 1, failed: 0, in_flight: { pending: 0, processing: 0 } });
    expect(local.p50_seconds).not.toBeNull();
    const localRow = table.locator('tr[data-channel="local"]');
    expect(await localRow.locator('[data-cell="in-flight"]').textContent()).toBe(`0 pending · 0 processing / ${local.max_in_flight}`);
    expect(await localRow.locator('[data-cell="p50"]').textContent()).toMatch(/^\d+(\.\d)? s$/);

    // The window is the API's `window`.
    const asked = page.waitForRequest((r) => r.url().includes('/admin/v1/channels?window=900'));
    await page.getByRole('button', { name: '15 min' }).click();
    await asked;
    await expect.poll(() => table.getAttribute('data-window'), WAIT).toBe('900');
    await screenshot(page, 'admin-channels');
  });

  it('lists webhook deliveries with their attempts, filters them, and redelivers one', async () => {
    // Every event has been sent: the key's task to /ok, the third relay task to /fail (given up).
    await expect
      .poll(async () => (await admin<DeliveryPage>('/admin/v1/webhook-deliveries?limit=100')).data.map((d) => d.state).sort(), WAIT)
      .toEqual(['delivered', 'delivered', 'failed', 'failed']);
    await go('#/admin/webhooks');
    const all = (await admin<DeliveryPage>('/admin/v1/webhook-deliveries?limit=100')).data;
    await expect.poll(() => page.locator('tr[data-delivery-id]').count(), WAIT).toBe(all.length);
    for (const d of all) {
      const row = page.locator(`tr[data-delivery-id="${d.id}"]`);
      expect(await row.getAttribute('data-state')).toBe(d.state);
      expect(await row.getAttribute('data-attempts')).toBe(String(d.attempts));
      expect(await row.locator('[data-cell="last-status"]').textContent()).toBe(String(d.last_status ?? '—'));
      if (d.last_error) expect(await row.textContent()).toContain(d.last_error);
    }
    const failed = all.find((d) => d.state === 'failed')!;
    expect(failed).toMatchObject({ attempts: 2, last_status: 500, last_error: 'HTTP 500 Internal Server Error' });

    // Filters live in the URL: an account, then a state.
    await page.locator('select[name="account"]').selectOption(acme.id);
    await page.waitForURL((u) => u.hash === `#/admin/webhooks?account=${acme.id}`);
    await expect.poll(() => page.locator('tr[data-delivery-id]').count(), WAIT).toBe(2);
    await page.locator('select[name="account"]').selectOption('');
    await page.locator('select[name="state"]').selectOption('failed');
    await page.waitForURL((u) => u.hash === '#/admin/webhooks?state=failed');
    await expect.poll(() => page.locator('tr[data-delivery-id]').count(), WAIT).toBe(2);
    const failedRow = page.locator(`tr[data-delivery-id="${failed.id}"]`);
    await failedRow.locator(`[data-attempt-log="${failed.id}"]`).click();
    const attempts = page.locator('table.attempts tr[data-attempt]');
    expect(await attempts.count()).toBe(2);
    expect(await attempts.first().textContent()).toContain('HTTP 500');

    // Redeliver the key's completed event: a new attempt, the same webhook-id, the row follows it.
    await page.locator('select[name="state"]').selectOption('');
    await page.locator('select[name="account"]').selectOption(acme.id);
    await page.waitForURL((u) => u.hash === `#/admin/webhooks?account=${acme.id}`);
    const completed = all.find((d) => d.task_id === keyTaskId && d.event === 'completed')!;
    expect(completed).toMatchObject({ state: 'delivered', attempts: 1, last_status: 200 });
    const row = page.locator(`tr[data-delivery-id="${completed.id}"]`);
    await expect.poll(() => page.locator('tr[data-delivery-id]').count(), WAIT).toBe(2);
    const sentBefore = hits.filter((h) => h.id === completed.id).length;
    expect(sentBefore).toBe(1);
    // The receiver holds its answer, so the delivery stays pending until the test lets it go: the
    // row follows it through GET /admin/v1/webhook-deliveries/{id} meanwhile, and when it lands.
    holdOk = new Promise<void>((resolve) => (releaseOk = resolve));
    const onePath = `/admin/v1/webhook-deliveries/${completed.id}`;
    const follows: Array<{ state: string; attempts: number }> = [];
    page.on('response', async (r) => {
      if (new URL(r.url()).pathname === onePath) follows.push(((await r.json()) as { data: { state: string; attempts: number } }).data);
    });
    const retried = page.waitForResponse((r) => r.url().endsWith(`${onePath}/retry`));
    await row.locator(`[data-redeliver="${completed.id}"]`).click();
    const retryAnswer = await retried;
    expect(retryAnswer.status()).toBe(200);
    expect(((await retryAnswer.json()) as { data: { state: string } }).data.state).toBe('pending');
    await expect.poll(() => row.getAttribute('data-state'), WAIT).toBe('pending');
    expect(await row.getAttribute('data-following')).toBe('true');
    await expect.poll(() => follows.some((d) => d.state === 'pending'), WAIT).toBe(true);
    await expect.poll(() => hits.filter((h) => h.id === completed.id).length, WAIT).toBe(2);
    holdOk = null;
    releaseOk();
    await expect.poll(() => row.getAttribute('data-state'), WAIT).toBe('delivered');
    expect(await row.getAttribute('data-attempts')).toBe('2');
    expect(await row.getAttribute('data-following')).toBeNull();
    expect(follows.at(-1)).toMatchObject({ state: 'delivered', attempts: 2 });
    expect(hits.filter((h) => h.id === completed.id).map((h) => [h.path, h.body.data.id, h.body.data.status])).toEqual([
      ['/ok', keyTaskId, 'completed'],
      ['/ok', keyTaskId, 'completed'],
    ]);
    await row.locator(`[data-attempt-log="${completed.id}"]`).click();
    expect(await page.locator('table.attempts tr[data-attempt]').count()).toBe(2);
    await screenshot(page, 'admin-webhooks');
  });

  it('charts the whole service by day, model, account and channel', async () => {
    await go('#/admin/usage?days=7');
    const from = utcDay(-6);
    const to = utcDay();
    const views = Object.fromEntries(
      await Promise.all(
        (['day', 'model', 'account', 'channel'] as const).map(
          async (g) => [g, (await admin<{ data: UsageView }>(`/admin/v1/usage?from=${from}&to=${to}&group_by=${g}`)).data] as const,
        ),
      ),
    ) as Record<'day' | 'model' | 'account' | 'channel', UsageView>;
    await page.locator('[data-chart="channel"] g.bar').first().waitFor();
    for (const g of ['day', 'model', 'channel'] as const) {
      expect((await bars(page, `[data-chart="${g}"]`)).map((b) => [b.label, b.value])).toEqual(views[g].buckets.map((b) => [b.key, b.spent]));
    }
    // Accounts go by name.
    const names = new Map((await admin<{ data: AdminAccount[] }>('/admin/v1/accounts')).data.map((a) => [a.id, a.name]));
    await expect
      .poll(async () => (await bars(page, '[data-chart="account"]')).map((b) => [b.label, b.value]), WAIT)
      .toEqual(views.account.buckets.map((b) => [names.get(b.key), b.spent]));
    expect((await bars(page, '[data-chart="account"]')).find((b) => b.label === 'Acme')?.value).toBe(keyTaskCost);
    expect((await bars(page, '[data-chart="channel"]')).map((b) => b.label).sort()).toEqual(['local', 'relay']);
    expect(views.day.total.tasks).toBe(4);

    await page.getByRole('button', { name: 'Account', exact: true }).click();
    await page.waitForURL((u) => u.hash === '#/admin/usage?days=7&group=account');
    const acmeRow = page.locator(`table.usage-table[data-group="account"] tr[data-key="${acme.id}"]`);
    expect(await acmeRow.getByRole('link', { name: 'Acme' }).getAttribute('href')).toBe(`#/admin/accounts/${acme.id}`);
    await screenshot(page, 'admin-usage');
    expect(main.problems()).toEqual([]);
    await main.close();
  });

  it('reads well in the dark theme and on a phone', async () => {
    const dark = await openPage(browser, { colorScheme: 'dark' });
    await remember(dark.context, { admin: server.adminToken, key: server.apiKey, language: 'en' });
    await dark.page.goto(`${server.url}/#/admin/channels`);
    await dark.page.locator('tr[data-channel="local"]').waitFor();
    expect(await dark.page.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe('rgb(15, 17, 21)');
    await screenshot(dark.page, 'admin-channels-dark');
    await dark.page.goto(`${server.url}/#/admin/webhooks`);
    await dark.page.locator('tr[data-delivery-id]').first().waitFor();
    await screenshot(dark.page, 'admin-webhooks-dark');
    expect(dark.problems()).toEqual([]);
    await dark.close();

    const phone = await openPage(browser, { viewport: { width: 390, height: 844 } });
    await remember(phone.context, { admin: server.adminToken, key: server.apiKey, language: 'en' });
    await phone.page.goto(`${server.url}/#/admin/accounts/${acme.id}`);
    await phone.page.locator(`tr[data-key-id="${keyId}"]`).waitFor();
    await phone.page.locator('#usage [data-chart="day"] g.bar').first().waitFor();
    expect(await overflowsHorizontally(phone.page)).toBe(false);
    expect(await phone.page.locator('[data-testid="keys"] th.optional').first().isVisible()).toBe(false);
    await screenshot(phone.page, 'admin-account-phone');
    await phone.page.goto(`${server.url}/#/admin/accounts`);
    await phone.page.locator(`tr[data-account-id="${acme.id}"]`).waitFor();
    expect(await overflowsHorizontally(phone.page)).toBe(false);
    await screenshot(phone.page, 'admin-accounts-phone');
    expect(phone.problems()).toEqual([]);
    await phone.close();
  });

  it('pages the accounts list by has_more, fifty at a time', async () => {
    // 50 more accounts make 52: a page of 50, then the last 2 (by id, so the newest).
    for (let n = 1; n <= 50; n++) await admin('/admin/v1/accounts', { body: { name: `Bulk ${String(n).padStart(2, '0')}` } });
    const all = (await admin<{ data: AdminAccount[] }>('/admin/v1/accounts?limit=500')).data.map((a) => a.id);
    expect(all).toHaveLength(52);
    expect(await admin('/admin/v1/accounts?limit=50')).toMatchObject({ has_more: true, next_after: all[49] });

    const opened = await openPage(browser);
    await remember(opened.context, { admin: server.adminToken, language: 'en' });
    const { page: list } = opened;
    const shown = () => list.locator('[data-testid="accounts"] tr[data-account-id]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-account-id')));
    await list.goto(`${server.url}/#/admin/accounts`);
    await expect.poll(shown, WAIT).toEqual(all.slice(0, 50));
    await list.getByTestId('load-more').click();
    await expect.poll(shown, WAIT).toEqual(all);
    expect(await list.getByTestId('load-more').count()).toBe(0);

    // At the end of the list, an account opened here shows at once, last; and only once.
    await list.locator('input[name="name"]').fill('Latecomer');
    await list.getByRole('button', { name: 'Open account' }).click();
    const created = (await list.locator('[data-created-account]').getAttribute('data-created-account'))!;
    await expect.poll(shown, WAIT).toEqual([...all, created]);
    expect(opened.problems()).toEqual([]);
    await opened.close();
  });
});
