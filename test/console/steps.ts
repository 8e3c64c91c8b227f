import type { BrowserContext, Page } from 'playwright-core';
import { ffmpeg } from '../helpers/media-tools.js';

/** Steps the console suites share: calling the API as a client would, reading charts, making media. */

export interface Answer<T = unknown> {
  status: number;
  body: T;
}

/** One API call with a bearer token, from the test (not the browser). */
export async function api<T = { data: unknown }>(
  base: string,
  path: string,
  token: string,
  init: { method?: string; body?: unknown } = {},
): Promise<Answer<T>> {
  const res = await fetch(`${base}${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: { authorization: `Bearer ${token}`, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  return { status: res.status, body: (await res.json().catch(() => null)) as T };
}

/** The smallest real render: 4 s at 480p on the -fast model (the local channel). */
export const TINY_TASK = { model: 'doubao-seedance-2.0-fast', prompt: 'a paper boat on a pond', resolution: '480p', duration: 4, seed: 7 } as const;

export async function submit(base: string, key: string, body: Record<string, unknown> = TINY_TASK): Promise<string> {
  const answer = await api<{ data: Array<{ task_id: string }> }>(base, '/v1/videos/generations', key, { body });
  if (answer.status !== 200) throw new Error(`submit answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  return answer.body.data[0]!.task_id;
}

/**
 * Credentials (and optionally the language) in the console's storage before any page script runs,
 * as a returning visitor has them; only where nothing is stored yet, so a page's own changes stay.
 */
export async function remember(context: BrowserContext, values: { key?: string; admin?: string; language?: 'en' | 'zh' }): Promise<void> {
  await context.addInitScript((v) => {
    const pairs: Array<[string, string | undefined]> = [
      ['vidgate.key', v.key],
      ['vidgate.admin', v.admin],
      ['vidgate.language', v.language],
    ];
    for (const [name, value] of pairs) if (value && localStorage.getItem(name) === null) localStorage.setItem(name, value);
  }, values);
}

export interface ShownBar {
  label: string;
  value: number;
  title: string;
}

/** The bars of the chart inside `scope`, as the SVG shows them (data-* and the <title> a reader hears). */
export async function bars(page: Page, scope: string): Promise<ShownBar[]> {
  return page.locator(`${scope} g.bar`).evaluateAll((groups) =>
    groups.map((g) => ({
      label: g.getAttribute('data-label') ?? '',
      value: Number(g.getAttribute('data-value')),
      title: g.querySelector('title')?.textContent ?? '',
    })),
  );
}

/** A PNG of `width`×`height` made with the same ffmpeg the server uses. */
export async function makeImage(path: string, width: number, height: number): Promise<string> {
  await ffmpeg(['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=s=${width}x${height}:r=1`, '-frames:v', '1', path]);
  return path;
}

/** Whether the page is wider than its viewport (something does not fit a phone). */
export const overflowsHorizontally = (page: Page): Promise<boolean> =>
  page.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth + 1);

/** `YYYY-MM-DD` of a UTC day, `days` from now. */
export const utcDay = (days = 0): string => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);

/** "$0.2112" as the console writes USD in English. */
export function usdText(amount: number): string {
  const digits = amount !== 0 && Math.abs(amount) < 0.01 ? 4 : 2;
  return new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: digits, maximumFractionDigits: 4 }).format(amount);
}

/** How long a poll waits for the server or the page to catch up (expect.poll's own default is 1 s). */
export const WAIT = { timeout: 15_000 } as const;
