import { describe, expect, it } from 'vitest';
import { MODEL_ALIASES, MODEL_IDS, RESOLUTIONS, resolveModel } from '../../src/contract/models.js';
import { DEFAULT_PRICES, type PriceRow } from '../../src/contract/prices.js';
import { ASPECTS, pixelSize } from '../../src/contract/sizes.js';
import { checkSubmitRules, SubmitBody, type TaskRequest } from '../../src/contract/submit.js';
import { modelDocMarkdown, STATED_MEDIA_RULES } from '../../src/contract/model-docs.js';
import { checkFile, checkTotals } from '../../src/media/media-rules.js';
import type { MediaProbe, PreparedMedia } from '../../src/media/types.js';
import type { MediaKind } from '../../src/contract/submit.js';

const NAMES = [...MODEL_IDS, ...Object.keys(MODEL_ALIASES)];
const BASE = 'https://vidgate.example';

const docFor = (name: string, prices?: PriceRow) => {
  const spec = resolveModel(name)!;
  return modelDocMarkdown({ name, spec, prices: prices ?? DEFAULT_PRICES[spec.id], baseUrl: BASE });
};

/** The JSON request bodies of the Examples section, as a reader would copy them. */
function examplesOf(markdown: string): unknown[] {
  const section = markdown.slice(markdown.indexOf('\n## Examples'));
  return [...section.matchAll(/```json\n([\s\S]*?)\n```/g)].map((m) => JSON.parse(m[1]!));
}

/** What the submit route does before a task exists, apart from the account's asset lookup. */
const submitChecks = (body: unknown): TaskRequest => checkSubmitRules(SubmitBody.parse(body));

/** A section of the Markdown, from its heading to the next one of the same level. */
const section = (markdown: string, heading: string) => {
  const start = markdown.indexOf(`\n## ${heading}\n`);
  expect(start, heading).toBeGreaterThan(-1);
  const end = markdown.indexOf('\n## ', start + 1);
  return markdown.slice(start, end === -1 ? undefined : end);
};

describe.each(NAMES)('the docs of %s', (name) => {
  const spec = resolveModel(name)!;
  const markdown = docFor(name);
  const examples = examplesOf(markdown);

  it('has request examples that pass the submit validation and rules', () => {
    expect(examples.length).toBeGreaterThanOrEqual(12);
    for (const body of examples) {
      expect(body).toMatchObject({ model: name });
      expect(() => submitChecks(body), JSON.stringify(body)).not.toThrow();
    }
  });

  it('shows an example of every mode the model supports, asset references only where allowed', () => {
    const requests = examples.map(submitChecks);
    const some = (test: (r: TaskRequest) => boolean) => requests.some(test);
    const roles = (r: TaskRequest) => r.media.map((m) => m.role);
    expect(
      some((r) => r.media.length === 0 && !r.generateAudio && r.tools.length === 0),
      'text to video',
    ).toBe(true);
    expect(
      some((r) => roles(r).join() === 'first_frame'),
      'first frame',
    ).toBe(true);
    expect(
      some((r) => roles(r).join() === 'first_frame,last_frame'),
      'first and last frame',
    ).toBe(true);
    expect(
      some((r) => roles(r).length > 1 && roles(r).every((role) => role === 'reference_image')),
      'reference images',
    ).toBe(true);
    expect(
      some((r) => roles(r).join() === 'reference_video'),
      'reference video',
    ).toBe(true);
    expect(
      some((r) => roles(r).includes('reference_audio')),
      'reference audio',
    ).toBe(true);
    expect(some((r) => r.media.some((m) => m.assetId !== null))).toBe(spec.assetUrls);
    expect(
      some((r) => r.generateAudio),
      'generate_audio',
    ).toBe(true);
    expect(
      some((r) => r.returnLastFrame),
      'return_last_frame',
    ).toBe(true);
    expect(
      some((r) => r.tools.some((tool) => tool.type === 'web_search')),
      'web_search',
    ).toBe(true);
    expect(
      some((r) => r.requestedSeed >= 0),
      'seed',
    ).toBe(true);
    expect(
      some((r) => r.resolution === spec.resolutions.at(-1)),
      'highest resolution',
    ).toBe(true);
    expect(requests.every((r) => r.model === spec.id)).toBe(true);
  });

  it("lists the model's resolutions with their pixel sizes, and no other resolution", () => {
    const sizes = section(markdown, 'Output sizes');
    for (const resolution of RESOLUTIONS) {
      const row = `| ${resolution} | ${ASPECTS.map((a) => `${pixelSize(resolution, a).width}×${pixelSize(resolution, a).height}`).join(' | ')} |`;
      expect(sizes.includes(row), `${resolution} row`).toBe(spec.resolutions.includes(resolution));
    }
    expect(section(markdown, 'At a glance')).toContain(`| resolutions | ${spec.resolutions.map((r) => `\`${r}\``).join(', ')} (default \`720p\`) |`);
  });

  it('states the prompt limit, asset rule, durations and reference counts of the model', () => {
    const glance = section(markdown, 'At a glance');
    expect(glance).toContain(spec.promptLimit === null ? '| prompt limit | none |' : `| prompt limit | ${spec.promptLimit} Unicode characters |`);
    expect(glance).toContain(spec.assetUrls ? '| asset:// URLs | yes' : '| asset:// URLs | no |');
    expect(glance).toContain('| duration | 4–15 s, default 5 |');
    expect(glance).toContain('≤ 9 images, ≤ 3 videos, ≤ 3 audio files, ≤ 12 in all');
    const parameters = section(markdown, 'Parameters');
    expect(parameters).toContain(spec.assetUrls ? 'or `asset://<id>` of an approved asset of your account' : `\`asset://\` URLs are refused on ${spec.id}`);
    expect(section(markdown, 'Rules between fields')).toContain('A `last_frame` needs a `first_frame`.');
  });

  it('shows the default prices of the model at each of its resolutions', () => {
    const prices = section(markdown, 'Prices');
    const row = DEFAULT_PRICES[spec.id];
    for (const resolution of spec.resolutions) {
      const usd = (micros: number) => `$${Number((micros / 1e6).toFixed(6))}`;
      expect(prices).toContain(
        `| ${resolution} | ${usd(row.perSecond[resolution]!)} | ${usd(row.perSecondWithVideo[resolution]!)} | ${usd(row.perSecond[resolution]! * 5)} |`,
      );
    }
    expect(prices.match(/^\| (480p|720p|1080p|4k) \|/gm)).toHaveLength(spec.resolutions.length);
  });
});

it('shows the prices it is given (operator overrides), not the defaults', () => {
  const prices: PriceRow = { perSecond: { '480p': 11_000, '720p': 1_234_567 }, perSecondWithVideo: { '480p': 7_000, '720p': 999_999 } };
  const markdown = docFor('doubao-seedance-2.0-mini', prices);
  expect(markdown).toContain('| 720p | $1.234567 | $0.999999 | $6.172835 |');
  expect(markdown).toContain('| 480p | $0.011 | $0.007 | $0.055 |');
  expect(markdown).not.toContain('$0.071');
});

it('answers an alias with the alias in every example and names the canonical model', () => {
  const markdown = docFor('seedance-2.0-face');
  expect(markdown.startsWith('# doubao-seedance-2.0-face\n')).toBe(true);
  expect(markdown).toContain('an alias of `doubao-seedance-2.0-face`');
  expect(examplesOf(markdown).every((body) => (body as { model: string }).model === 'seedance-2.0-face')).toBe(true);
  expect(markdown).toContain(`curl ${BASE}/v1/videos/generations`);
});

describe('the media rules the docs state are the ones the media checks apply', () => {
  const MB = 1024 * 1024;
  /** Files that pass every rule; each check moves one value to a stated limit or just past it. */
  const PASSING: Readonly<Record<MediaKind, MediaProbe>> = {
    image: { format: 'png', mime: 'image/png', bytes: 1000, width: 1000, height: 1000, hasVideo: false, hasAudio: false },
    video: { format: 'mp4', mime: 'video/mp4', bytes: 1000, width: 1248, height: 704, fps: 24, durationSec: 5, hasVideo: true, hasAudio: false },
    audio: { format: 'mp3', mime: 'audio/mpeg', bytes: 1000, durationSec: 5, hasVideo: false, hasAudio: true },
  };
  const probe = (kind: MediaKind, over: Partial<MediaProbe> = {}): MediaProbe => ({ ...PASSING[kind], ...over });
  const fileOk = (kind: MediaKind, over: Partial<MediaProbe>) => {
    try {
      checkFile(kind, probe(kind, over));
      return true;
    } catch {
      return false;
    }
  };
  const prepared = (kind: MediaKind, over: Partial<MediaProbe>, i: number): PreparedMedia => ({
    input: {
      kind,
      role: kind === 'video' ? 'reference_video' : 'reference_audio',
      url: `https://example.com/${i}`,
      field: `${kind}_urls[${i}]`,
      assetId: null,
    },
    path: `/nowhere/${i}`,
    probe: probe(kind, over),
  });
  const totalsOk = (kind: MediaKind, files: Array<Partial<MediaProbe>>) => {
    try {
      checkTotals(files.map((over, i) => prepared(kind, over, i)));
      return true;
    } catch {
      return false;
    }
  };
  const { image, video, audio } = STATED_MEDIA_RULES;

  it('images: formats, size, sides and aspect', () => {
    for (const format of image.formats) expect(fileOk('image', { format }), format).toBe(true);
    expect(fileOk('image', { format: 'avif' })).toBe(false);
    expect(fileOk('image', { bytes: image.belowMegabytesEach * MB - 1 })).toBe(true);
    expect(fileOk('image', { bytes: image.belowMegabytesEach * MB })).toBe(false);
    expect(fileOk('image', { width: image.side.min, height: image.side.min })).toBe(true);
    expect(fileOk('image', { width: image.side.min - 1, height: image.side.min })).toBe(false);
    expect(fileOk('image', { width: image.side.max, height: image.side.max })).toBe(true);
    expect(fileOk('image', { width: image.side.max + 1, height: image.side.max })).toBe(false);
    expect(fileOk('image', { width: image.aspect.min * 1000, height: 1000 })).toBe(true);
    expect(fileOk('image', { width: image.aspect.min * 1000 - 10, height: 1000 })).toBe(false);
    expect(fileOk('image', { width: image.aspect.max * 1000, height: 1000 })).toBe(true);
    expect(fileOk('image', { width: image.aspect.max * 1000 + 10, height: 1000 })).toBe(false);
  });

  it('videos: formats, pixels per frame, frame rate, total size and duration', () => {
    for (const format of video.formats) expect(fileOk('video', { format }), format).toBe(true);
    expect(fileOk('video', { format: 'webm' })).toBe(false);
    expect(fileOk('video', { width: 640, height: video.pixelsPerFrame.min / 640 })).toBe(true);
    expect(fileOk('video', { width: 639, height: video.pixelsPerFrame.min / 640 })).toBe(false);
    expect(fileOk('video', { width: 1112, height: video.pixelsPerFrame.max / 1112 })).toBe(true);
    expect(fileOk('video', { width: 1113, height: video.pixelsPerFrame.max / 1112 })).toBe(false);
    expect(fileOk('video', { fps: video.fps.min })).toBe(true);
    expect(fileOk('video', { fps: video.fps.min - 0.5 })).toBe(false);
    expect(fileOk('video', { fps: video.fps.max })).toBe(true);
    expect(fileOk('video', { fps: video.fps.max + 0.5 })).toBe(false);
    const half = (video.belowMegabytesInAll * MB) / 2;
    expect(totalsOk('video', [{ bytes: half }, { bytes: half - 1 }])).toBe(true);
    expect(totalsOk('video', [{ bytes: half }, { bytes: half }])).toBe(false);
    expect(totalsOk('video', [{ durationSec: video.secondsInAll.above }])).toBe(false);
    expect(totalsOk('video', [{ durationSec: 1 }, { durationSec: video.secondsInAll.above - 1 + 0.01 }])).toBe(true);
    expect(totalsOk('video', [{ durationSec: 10 }, { durationSec: video.secondsInAll.below - 10 - 0.01 }])).toBe(true);
    expect(totalsOk('video', [{ durationSec: 10 }, { durationSec: video.secondsInAll.below - 10 }])).toBe(false);
  });

  it('audio: formats, total size and duration', () => {
    for (const format of audio.formats) expect(fileOk('audio', { format }), format).toBe(true);
    expect(fileOk('audio', { format: 'ogg' })).toBe(false);
    const half = (audio.belowMegabytesInAll * MB) / 2;
    expect(totalsOk('audio', [{ bytes: half }, { bytes: half - 1 }])).toBe(true);
    expect(totalsOk('audio', [{ bytes: half }, { bytes: half }])).toBe(false);
    expect(totalsOk('audio', [{ durationSec: 10 }, { durationSec: audio.maxSecondsInAll - 10 }])).toBe(true);
    // The check allows a tenth of a second of encoder padding beyond the stated limit, no more.
    expect(totalsOk('audio', [{ durationSec: 10 }, { durationSec: audio.maxSecondsInAll - 10 + 0.2 }])).toBe(false);
  });
});
