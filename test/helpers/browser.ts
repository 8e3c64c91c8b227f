import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { findOnPath } from '../../src/tools/binary-lookup.js';

/**
 * The browser the console's end-to-end tests drive: Debian's Chromium (the test command installs the
 * `chromium` package where it is missing, test/helpers/system-tools.ts), run headless by
 * playwright-core. Playwright's own browser builds are a download, which these machines cannot make.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Where screenshot() writes; test-artifacts/ is git-ignored. */
export const SCREENSHOT_DIR = join(ROOT, 'test-artifacts', 'console');

export const CHROMIUM_ARGS: readonly string[] = [
  // Tests run as root in containers, where Chromium's sandbox cannot start.
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // A muted <video autoplay> plays anyway; this also lets a test start one with sound or via play().
  '--autoplay-policy=no-user-gesture-required',
  // Debian's /etc/chromium.d/dev-shm means to add this where /dev/shm is small (Docker gives 64 MB), but
  // its test breaks when findmnt prints two lines ("[: …: unexpected operator" on stderr) and adds
  // nothing, so Chromium would crash on a small /dev/shm. Shared memory then lives in /tmp.
  '--disable-dev-shm-usage',
];

/** Headless Debian Chromium, found on PATH. */
export async function launchBrowser(opts: { args?: string[] } = {}): Promise<Browser> {
  const executablePath = await findOnPath('chromium');
  if (!executablePath) {
    throw new Error(
      'chromium is not on PATH: the test command installs it (test/helpers/system-tools.ts); or run apt-get install -y --no-install-recommends chromium',
    );
  }
  return chromium.launch({ executablePath, headless: true, args: [...CHROMIUM_ARGS, ...(opts.args ?? [])] });
}

/** A response a test expects: it is not a problem, and neither is the console error Chromium logs for it. */
export interface AllowedResponse {
  /** A substring of the request's URL, or a pattern it matches. */
  url: string | RegExp;
  /** The expected status; any status when left out. */
  status?: number;
}

export interface PageOptions {
  viewport?: { width: number; height: number };
  colorScheme?: 'light' | 'dark';
  /** e.g. 'en-US', 'de-DE': navigator.language and Intl's default. */
  locale?: string;
  /** Expected error responses, e.g. an intentional 400 or `{ url: '/favicon.ico', status: 404 }`. */
  allow?: AllowedResponse[];
}

export interface OpenedPage {
  page: Page;
  context: BrowserContext;
  /**
   * Everything that went wrong so far, one line each: console errors, uncaught exceptions, failed
   * requests and 5xx responses (less those in `allow`). A test ends with `expect(problems()).toEqual([])`.
   */
  problems(): string[];
  /** Closes the page's own browser context. */
  close(): Promise<void>;
}

/** Chromium's console error for a subresource that answered with an HTTP error status. */
const HTTP_ERROR_LOG = /^Failed to load resource: the server responded with a status of (\d+)/;

/**
 * Chromium cancels requests as a matter of course, and reports them failed with net::ERR_ABORTED: a
 * <video> drops its open-ended `Range: bytes=0-` request when it seeks or has buffered enough and
 * asks again for the range it wants; navigating away cancels whatever is still loading (even the
 * unread body of a finished fetch); so do an AbortController and EventSource.close(). None is a
 * failure. A server that breaks a response shows up as a different error (ERR_CONNECTION_RESET,
 * ERR_EMPTY_RESPONSE, ERR_CONTENT_LENGTH_MISMATCH, ERR_INCOMPLETE_CHUNKED_ENCODING, …).
 */
const CANCELLED = 'net::ERR_ABORTED';

/** A fresh browser context and page that records what went wrong in it. */
export async function openPage(browser: Browser, opts: PageOptions = {}): Promise<OpenedPage> {
  const context = await browser.newContext({
    viewport: opts.viewport ?? { width: 1280, height: 800 },
    colorScheme: opts.colorScheme ?? 'light',
    locale: opts.locale ?? 'en-US',
  });
  const page = await context.newPage();
  const allow = opts.allow ?? [];
  const allowed = (url: string, status: number) =>
    allow.some((a) => (typeof a.url === 'string' ? url.includes(a.url) : a.url.test(url)) && (a.status === undefined || a.status === status));
  const found: string[] = [];

  page.on('console', (message) => {
    if (message.type() !== 'error' && message.type() !== 'assert') return;
    const text = message.text();
    const { url } = message.location();
    const httpError = HTTP_ERROR_LOG.exec(text);
    if (httpError && allowed(url, Number(httpError[1]))) return;
    found.push(`console.${message.type()}: ${text}${url ? ` (${url})` : ''}`);
  });
  page.on('pageerror', (error) => found.push(`pageerror: ${error.stack ?? error.message}`));
  page.on('crash', () => found.push('crash: the page crashed'));
  page.on('requestfailed', (request) => {
    const errorText = request.failure()?.errorText ?? 'unknown error';
    if (errorText === CANCELLED) return;
    found.push(`requestfailed: ${request.method()} ${request.url()} (${request.resourceType()}): ${errorText}`);
  });
  page.on('response', (response) => {
    const status = response.status();
    if (status >= 500 && !allowed(response.url(), status)) {
      found.push(`response ${status}: ${response.request().method()} ${response.url()}`);
    }
  });

  return { page, context, problems: () => [...found], close: () => context.close() };
}

/** A full-page PNG at test-artifacts/console/<name>.png; returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  if (!/^[\w.-]+$/.test(name)) throw new Error(`screenshot name ${JSON.stringify(name)}: use letters, digits, '.', '_' and '-'`);
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const file = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

export interface VideoState {
  readyState: number;
  networkState: number;
  paused: boolean;
  currentTime: number;
  duration: number;
  videoWidth: number;
  videoHeight: number;
  /** Frames the element has decoded (getVideoPlaybackQuality). */
  decodedFrames: number;
  src: string;
  error: string | null;
}

/**
 * Resolves once the <video> at `selector` has future data (readyState ≥ HAVE_FUTURE_DATA), has
 * decoded a picture, and its currentTime has moved on from where it first had that: it plays. Fails
 * at once on a media error (e.g. MEDIA_ERR_SRC_NOT_SUPPORTED for a codec the browser lacks), else
 * after `timeoutMs` with the element's state.
 */
export async function waitForVideoPlaying(page: Page, selector: string, opts: { timeoutMs?: number } = {}): Promise<VideoState> {
  const timeout = opts.timeoutMs ?? 15_000;
  try {
    await page.waitForFunction(
      (sel) => {
        const video = document.querySelector(sel);
        if (!(video instanceof HTMLVideoElement)) return false;
        if (video.error) throw new Error(`<video> ${sel}: media error ${video.error.code}: ${video.error.message || '(no message)'}`);
        if (video.readyState < HTMLMediaElement.HAVE_FUTURE_DATA || video.videoWidth === 0) return false;
        // Where currentTime stood when the element first had future data, kept on the element.
        const mark = video as HTMLVideoElement & { __playingFrom?: number };
        if (mark.__playingFrom === undefined) {
          mark.__playingFrom = video.currentTime;
          return false;
        }
        return !video.paused && video.currentTime > mark.__playingFrom;
      },
      selector,
      { timeout },
    );
  } catch (error) {
    const state = await videoState(page, selector).catch(() => null);
    throw new Error(`${(error as Error).message.split('\n')[0]}; the <video> ${selector}: ${state ? JSON.stringify(state) : 'not found'}`, {
      cause: error,
    });
  }
  const state = await videoState(page, selector);
  if (!state) throw new Error(`<video> ${selector} is gone`);
  return state;
}

/** The state of the <video> at `selector`, null when there is none. */
export async function videoState(page: Page, selector: string): Promise<VideoState | null> {
  return page.evaluate((sel) => {
    const video = document.querySelector(sel);
    if (!(video instanceof HTMLVideoElement)) return null;
    return {
      readyState: video.readyState,
      networkState: video.networkState,
      paused: video.paused,
      currentTime: video.currentTime,
      duration: video.duration,
      videoWidth: video.videoWidth,
      videoHeight: video.videoHeight,
      decodedFrames: video.getVideoPlaybackQuality().totalVideoFrames,
      src: video.currentSrc,
      error: video.error ? `${video.error.code}: ${video.error.message}` : null,
    };
  }, selector);
}
