import { MODEL_ALIASES, type ModelSpec, type Resolution } from './models.js';
import { MAX_REFERENCE_VIDEO_SECONDS, microsToUsd, type PriceRow } from './prices.js';
import { ASPECTS, OUTPUT_FPS, pixelSize, SIZES } from './sizes.js';
import { DURATION_SECONDS, IMAGE_ROLES, MAX_CALLBACK_URL_LENGTH, MAX_SEED, MAX_URL_LENGTH, MEDIA_COUNT_LIMITS, SUBMIT_DEFAULTS } from './submit.js';
import { fieldRules } from './model-schema.js';

/**
 * The parameter reference of one model as Markdown (README: Answer versions), vidgate's own text, built from the
 * catalog, submit rules, sizes and prices the server enforces, so it cannot drift from them.
 */

/**
 * README: Media as the docs state it. The media rules keep their limits private, so
 * test/contract/model-docs.test.ts holds these numbers against what src/media/media-rules.ts does.
 */
export const STATED_MEDIA_RULES = {
  maxRedirects: 3,
  image: { formats: ['jpeg', 'png', 'webp', 'bmp', 'tiff', 'gif'], belowMegabytesEach: 30, side: { min: 300, max: 6000 }, aspect: { min: 0.4, max: 2.5 } },
  video: {
    formats: ['mp4', 'mov'],
    belowMegabytesInAll: 50,
    pixelsPerFrame: { min: 409_600, max: 927_408 },
    fps: { min: 24, max: 60 },
    secondsInAll: { above: 1.8, below: 15.2 },
  },
  audio: { formats: ['mp3', 'wav'], belowMegabytesInAll: 15, maxSecondsInAll: 15 },
} as const;

export interface ModelExample {
  title: string;
  /** Why one would send it; one sentence. */
  note: string;
  body: Record<string, unknown>;
}

const IMAGE = (name: string) => `https://example.com/${name}`;
/** Stands for the id of an asset that passed review (POST /v1/seedance2/private-avatar). */
export const EXAMPLE_ASSET_ID = 'asset_YOUR_APPROVED_ID';

/** One request per mode the model supports; `model` is the name the docs were asked for. */
export function modelExamples(name: string, spec: ModelSpec): ModelExample[] {
  const top = spec.resolutions[spec.resolutions.length - 1]!;
  const examples: ModelExample[] = [
    {
      title: 'Text to video',
      note: 'Only a prompt: the video is made from the text.',
      body: { model: name, prompt: 'A kitten yawning at the camera', resolution: '720p', size: '16:9', duration: 5 },
    },
    {
      title: 'Image to video (first frame)',
      note: 'One ordinary image and no video or audio: the image is the first frame.',
      body: { model: name, prompt: 'The kitten stands up and walks toward the camera', image_urls: [IMAGE('cat.jpg')], duration: 5 },
    },
    {
      title: 'First and last frame',
      note: 'The video starts on the first image and ends on the second.',
      body: {
        model: name,
        prompt: 'The street turns from day to night',
        image_with_roles: [
          { url: IMAGE('day.jpg'), role: 'first_frame' },
          { url: IMAGE('night.jpg'), role: 'last_frame' },
        ],
        duration: 6,
      },
    },
    {
      title: 'Reference images',
      note: 'Two or more images (or roles `reference_image`) guide subjects and style; none is a fixed frame.',
      body: {
        model: name,
        prompt: 'The teapot from image 1 pours tea into the cup from image 2',
        image_urls: [IMAGE('teapot.jpg'), IMAGE('cup.jpg')],
        size: '1:1',
      },
    },
    {
      title: 'Reference video',
      note: 'The reference video is the motion and camera base.',
      body: { model: name, prompt: 'Repaint the clip in a watercolour style', video_urls: [IMAGE('reference.mp4')] },
    },
    {
      title: 'Reference audio',
      note: 'Audio needs an image or video reference beside it; it becomes the soundtrack.',
      body: {
        model: name,
        prompt: 'The presenter speaks to the camera',
        video_urls: [IMAGE('presenter.mp4')],
        audio_urls: [IMAGE('speech.wav')],
        duration: 10,
      },
    },
    {
      title: 'Images, video and audio together',
      note: 'Every reference kind at once, up to 12 files in all.',
      body: {
        model: name,
        prompt: 'First-person advert: the hand from video 1 lifts the drink from image 2, to the music of audio 1',
        image_urls: [IMAGE('drink_1.jpg'), IMAGE('drink_2.jpg')],
        video_urls: [IMAGE('hand.mp4')],
        audio_urls: [IMAGE('music.mp3')],
        generate_audio: true,
        duration: 11,
      },
    },
  ];
  if (spec.assetUrls) {
    examples.push({
      title: 'Approved asset as reference',
      note: `Replace ${EXAMPLE_ASSET_ID} with an asset of your account that passed review; an asset image is always a reference image.`,
      body: { model: name, prompt: 'The character walks along a sunny street', image_urls: [`asset://${EXAMPLE_ASSET_ID}`], resolution: '720p' },
    });
  }
  examples.push(
    {
      title: 'Generated audio',
      note: 'The video gets a generated soundtrack; quoted dialogue is spoken.',
      body: { model: name, prompt: 'An old man looks up and says: "The rain is coming back tonight."', generate_audio: true },
    },
    {
      title: 'Return the last frame',
      note: 'The task result also carries `last_frame_url`, a PNG to start the next clip from.',
      body: { model: name, prompt: 'The kitten keeps walking toward the camera', image_urls: [IMAGE('last_frame_of_previous.png')], return_last_frame: true },
    },
    {
      title: 'Web search',
      note: 'The model may look things up on the web while it plans the video.',
      body: { model: name, prompt: "A short weather report for today's forecast in Lisbon", tools: [{ type: 'web_search' }] },
    },
    {
      title: 'Fixed seed',
      note: 'The same request with the same seed gives the same result on the local renderer, and a similar one upstream.',
      body: { model: name, prompt: 'Waves rolling onto a black sand beach', seed: 42 },
    },
    {
      title: `Widest and sharpest (${top}, 21:9)`,
      note: `The largest output ${spec.id} makes.`,
      body: { model: name, prompt: 'A city at night seen from a drone, slow pan', resolution: top, size: '21:9', duration: 15 },
    },
  );
  return examples;
}

const usd = (micros: number) => `$${Number(microsToUsd(micros).toFixed(6))}`;
const grouped = (n: number) => n.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
const json = (value: unknown) => ['```json', JSON.stringify(value, null, 2), '```'].join('\n');
const table = (head: string[], rows: string[][]) =>
  [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n');
const list = (values: readonly string[]) => values.map((v) => `\`${v}\``).join(', ');

export interface ModelDocInput {
  /** The name the docs were asked for: the model id or one of its aliases. */
  name: string;
  spec: ModelSpec;
  /** The prices in force on this server (operator overrides included). */
  prices: PriceRow;
  /** Where this server is reached, for the request line and the curl example. */
  baseUrl: string;
}

export function modelDocMarkdown({ name, spec, prices, baseUrl }: ModelDocInput): string {
  const aliases = Object.entries(MODEL_ALIASES)
    .filter(([, id]) => id === spec.id)
    .map(([alias]) => alias);
  const examples = modelExamples(name, spec);
  const media = STATED_MEDIA_RULES;
  const urlRule = spec.assetUrls
    ? `\`http://\` or \`https://\` (at most ${MAX_URL_LENGTH} characters, no user:password), or \`asset://<id>\` of an approved asset of your account`
    : `\`http://\` or \`https://\` (at most ${MAX_URL_LENGTH} characters, no user:password); \`asset://\` URLs are refused on ${spec.id}`;
  const promptRule = spec.promptLimit === null ? 'no length limit on this model' : `at most ${spec.promptLimit} Unicode characters`;

  const parameters = table(
    ['parameter', 'type', 'required', 'default', 'allowed values and limits'],
    [
      [
        '`model`',
        'string',
        'yes',
        '—',
        `\`${name}\`${name === spec.id ? '' : ` (alias of \`${spec.id}\`)`}; also ${list([spec.id, ...aliases].filter((n) => n !== name))}`,
      ],
      ['`prompt`', 'string', 'unless an image or video is given', '—', `what the video shows; ${promptRule}`],
      ['`duration`', 'integer', 'no', `${SUBMIT_DEFAULTS.duration}`, `seconds, ${DURATION_SECONDS.min} to ${DURATION_SECONDS.max}`],
      [
        '`size`',
        'string',
        'no',
        `\`${SUBMIT_DEFAULTS.size}\``,
        `${list(SIZES)}; \`adaptive\` takes the ratio nearest the first image (or first video), 16:9 without media`,
      ],
      ['`resolution`', 'string', 'no', `\`${SUBMIT_DEFAULTS.resolution}\``, `${list(spec.resolutions)} on this model`],
      ['`seed`', 'integer', 'no', `${SUBMIT_DEFAULTS.seed} (random)`, `−1 to ${MAX_SEED}; −1 or absent picks one at random`],
      ['`generate_audio`', 'boolean', 'no', `${SUBMIT_DEFAULTS.generate_audio}`, 'adds a generated AAC stereo soundtrack'],
      [
        '`return_last_frame`',
        'boolean',
        'no',
        `${SUBMIT_DEFAULTS.return_last_frame}`,
        'adds `result.last_frame_url`: a PNG of the last frame at the video size',
      ],
      ['`tools`', 'array of objects', 'no', '—', '`[{"type":"web_search"}]`: web search, at most once'],
      [
        '`image_urls`',
        'array of strings',
        'no',
        '—',
        `at most ${MEDIA_COUNT_LIMITS.image_urls} image URLs; one ordinary image with no video or audio is the first frame, otherwise every entry is a reference image`,
      ],
      ['`image_with_roles`', 'array of `{url, role}`', 'no', '—', `at most ${MEDIA_COUNT_LIMITS.image_with_roles}; \`role\` one of ${list(IMAGE_ROLES)}`],
      ['`video_urls`', 'array of strings', 'no', '—', `at most ${MEDIA_COUNT_LIMITS.video_urls} reference video URLs`],
      ['`audio_urls`', 'array of strings', 'no', '—', `at most ${MEDIA_COUNT_LIMITS.audio_urls} reference audio URLs`],
      [
        '`callback_url`',
        'string',
        'no',
        "the key's default, if any",
        `absolute \`http(s)://\` URL without credentials, at most ${MAX_CALLBACK_URL_LENGTH} characters; receives the task on every status change (signed)`,
      ],
    ],
  );

  const sizes = table(
    ['resolution', ...ASPECTS],
    spec.resolutions.map((resolution) => [
      resolution,
      ...ASPECTS.map((aspect) => {
        const p = pixelSize(resolution, aspect);
        return `${p.width}×${p.height}`;
      }),
    ]),
  );

  const offered = spec.resolutions.filter((r): r is Resolution => prices.perSecond[r] !== undefined);
  const priceTable = table(
    ['resolution', 'per second', 'per second with reference video*', `${SUBMIT_DEFAULTS.duration} s video`],
    offered.map((r) => {
      const withVideo = prices.perSecondWithVideo[r];
      return [r, usd(prices.perSecond[r]!), withVideo === undefined ? '—' : usd(withVideo), usd(prices.perSecond[r]! * SUBMIT_DEFAULTS.duration)];
    }),
  );

  const exampleSections = examples.map((example) => [`### ${example.title}`, '', example.note, '', json(example.body)].join('\n'));
  const first = examples[0]!.body;

  return [
    `# ${spec.id}`,
    '',
    `${spec.description}.`,
    '',
    name === spec.id
      ? `Also accepted as ${list(aliases)}.`
      : `Asked for as \`${name}\`, an alias of \`${spec.id}\`; both names are accepted and tasks record \`${spec.id}\`.`,
    'This reference is generated by the server from the rules and prices it enforces.',
    '',
    '## At a glance',
    '',
    table(
      ['', ''],
      [
        ['resolutions', `${list(spec.resolutions)} (default \`${SUBMIT_DEFAULTS.resolution}\`)`],
        ['duration', `${DURATION_SECONDS.min}–${DURATION_SECONDS.max} s, default ${SUBMIT_DEFAULTS.duration}`],
        ['sizes', list(SIZES)],
        ['prompt limit', spec.promptLimit === null ? 'none' : `${spec.promptLimit} Unicode characters`],
        ['asset:// URLs', spec.assetUrls ? 'yes, approved assets of your account' : 'no'],
        [
          'references',
          `≤ ${MEDIA_COUNT_LIMITS.image_urls} images, ≤ ${MEDIA_COUNT_LIMITS.video_urls} videos, ≤ ${MEDIA_COUNT_LIMITS.audio_urls} audio files, ≤ ${MEDIA_COUNT_LIMITS.total} in all`,
        ],
        ['output', `MP4 (H.264, ${OUTPUT_FPS} fps, ${OUTPUT_FPS} × duration frames); AAC stereo when audio is generated or given`],
      ],
    ),
    '',
    '## Request',
    '',
    `\`POST ${baseUrl}/v1/videos/generations\` with \`Authorization: Bearer <API key>\` and a JSON body. An optional`,
    '`Idempotency-Key` header makes retries safe: the same key and body within 24 h give the same task, charged once.',
    'The answer is `{"code":200,"data":[{"status":"submitted","task_id":"task_…"}]}`; follow the task at',
    '`GET /v1/tasks/{task_id}` (or its `/events` stream) until it is `completed` or `failed`.',
    '',
    '```bash',
    `curl ${baseUrl}/v1/videos/generations \\`,
    "  -H 'Authorization: Bearer <API key>' -H 'Content-Type: application/json' \\",
    `  -d '${JSON.stringify(first)}'`,
    '```',
    '',
    '## Parameters',
    '',
    parameters,
    '',
    `Media URLs are ${urlRule}. Unknown fields are ignored, \`null\` counts as absent, and a known field of the wrong type is a 400.`,
    `The same rules as a JSON Schema: \`GET ${baseUrl}/v1/model-schema?model=${name}\`.`,
    '',
    '## Rules between fields',
    '',
    'Checked at submit; a body that breaks one is answered 400 with `param` naming the field, and no task is created.',
    '',
    ...fieldRules(spec).map((rule) => `- ${rule.text}`),
    '',
    '## Output sizes',
    '',
    `Pixels by \`resolution\` and \`size\` on ${spec.id}; \`adaptive\` picks one of these columns.`,
    '',
    sizes,
    '',
    '## Media rules',
    '',
    'Checked when the task runs, not at submit: a file that breaks one fails the task with `error.code` `invalid_media`',
    '(`media_fetch_failed` when it cannot be downloaded), naming the field, and the task is refunded in full.',
    '',
    `- Fetching: http and https only. Every address, after DNS and on each of at most ${media.maxRedirects} redirects, must be public: no loopback, private, link-local, CGNAT, multicast, reserved or unspecified addresses. Local images can be hosted with \`POST /v1/uploads/images\`.`,
    `- Images: ${media.image.formats.join(', ')}; under ${media.image.belowMegabytesEach} MB each; each side ${media.image.side.min}–${media.image.side.max} px; width ÷ height ${media.image.aspect.min}–${media.image.aspect.max}.`,
    `- Videos: ${media.video.formats.join(', ')}; under ${media.video.belowMegabytesInAll} MB in all; more than ${media.video.secondsInAll.above} s and less than ${media.video.secondsInAll.below} s in all; ${grouped(media.video.pixelsPerFrame.min)}–${grouped(media.video.pixelsPerFrame.max)} pixels per frame (480p to 720p); ${media.video.fps.min}–${media.video.fps.max} fps.`,
    `- Audio: ${media.audio.formats.join(', ')}; under ${media.audio.belowMegabytesInAll} MB and at most ${media.audio.maxSecondsInAll} s in all.`,
    '',
    '## Prices',
    '',
    `USD per second of output on this server, whichever provider renders it:`,
    '',
    priceTable,
    '',
    `\\* With a reference video the task is billed on input video seconds plus output seconds. Submit reserves the price`,
    `(with a reference video, as if it lasted ${MAX_REFERENCE_VIDEO_SECONDS} s), completion settles to the exact price, and a failed or`,
    'cancelled task is refunded in full.',
    '',
    '## Examples',
    '',
    `Each body is a complete request for \`POST /v1/videos/generations\`; media URLs must point at files that meet the media rules.`,
    '',
    exampleSections.join('\n\n'),
    '',
  ].join('\n');
}
