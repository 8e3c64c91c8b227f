import { z } from 'zod';
import type { ModelSpec } from './models.js';
import { ASSET_URL, MAX_URL_LENGTH, MEDIA_COUNT_LIMITS, SUBMIT_DEFAULTS, SubmitBody } from './submit.js';

/**
 * The input JSON Schema of one model (README: Answer versions): the submit body the server validates with
 * (`SubmitBody`, the same zod object behind /openapi.json) without `model`, narrowed to what this
 * model accepts, with the rules between fields stated in JSON Schema wherever JSON Schema can say
 * them. A body valid against it passes the submit rules, except for what it can only describe
 * (the 12-file total, asset ownership), which `description` lists.
 */

export const MODEL_OPERATIONS = ['video_generation'] as const;
export type ModelOperation = (typeof MODEL_OPERATIONS)[number];

export type JsonSchema = { [keyword: string]: unknown };

/** Media fields whose entries are URLs, and the kind of asset an asset:// entry there must be. */
export const MEDIA_URL_FIELDS = { image_urls: 'image', image_with_roles: 'image', video_urls: 'video', audio_urls: 'audio' } as const;
export type MediaUrlField = keyof typeof MEDIA_URL_FIELDS;

/**
 * A syntax check, not the whole URL grammar: scheme, a host of letters, digits, dots and hyphens,
 * an optional port, then printable ASCII. Stricter than the server (no IPv6 literals, no raw
 * non-ASCII) so that a URL the pattern admits is one the server's URL parser admits too.
 */
const HTTP_URL = 'https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:[/?#][!-~]*)?';
const ASSET_URL_BODY = ASSET_URL.source.replace(/^\^/, '').replace(/\$$/, '').replaceAll('\\/', '/');
export const HTTP_URL_PATTERN = `^${HTTP_URL}$`;
export const HTTP_OR_ASSET_URL_PATTERN = `^(?:${HTTP_URL}|${ASSET_URL_BODY})$`;

/** A rule of README: Submit rules that relates several fields; `schema` says it in JSON Schema where that is possible. */
export interface FieldRule {
  text: string;
  schema?: JsonSchema;
}

const given = (field: string): JsonSchema => ({
  type: 'object',
  required: [field],
  properties: { [field]: { type: 'array', minItems: 1 } },
});
const withRole = (role: string | readonly string[]): JsonSchema => ({
  type: 'object',
  required: ['role'],
  properties: { role: typeof role === 'string' ? { const: role } : { enum: [...role] } },
});
const rolesArray = (schema: JsonSchema): JsonSchema => ({
  type: 'object',
  required: ['image_with_roles'],
  properties: { image_with_roles: { type: 'array', ...schema } },
});

/** The rules between fields, in the order the docs list them. */
export function fieldRules(spec: ModelSpec): FieldRule[] {
  const rules: FieldRule[] = [
    {
      text: '`prompt` is required, and not blank, unless `image_urls`, `image_with_roles` or `video_urls` gives an image or a video.',
      schema: {
        anyOf: [
          { type: 'object', required: ['prompt'], properties: { prompt: { type: 'string', pattern: '\\S' } } },
          given('image_urls'),
          given('image_with_roles'),
          given('video_urls'),
        ],
      },
    },
    {
      text: '`image_urls` and `image_with_roles` are never both given: send one of them.',
      schema: { not: { allOf: [given('image_urls'), given('image_with_roles')] } },
    },
    {
      text: '`image_with_roles` has at most one `first_frame` and at most one `last_frame`.',
      schema: {
        type: 'object',
        properties: {
          // The field may be null (absent); strict validators want `contains` under an array type.
          image_with_roles: {
            anyOf: [
              { type: 'null' },
              {
                type: 'array',
                allOf: [
                  { type: 'array', contains: withRole('first_frame'), minContains: 0, maxContains: 1 },
                  { type: 'array', contains: withRole('last_frame'), minContains: 0, maxContains: 1 },
                ],
              },
            ],
          },
        },
      },
    },
    {
      text: 'A `last_frame` needs a `first_frame`.',
      // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then, not a thenable
      schema: { if: rolesArray({ contains: withRole('last_frame') }), then: rolesArray({ contains: withRole('first_frame') }) },
    },
    {
      text: 'A `first_frame` or `last_frame` does not mix with `reference_image` entries, `video_urls` or `audio_urls`.',
      schema: {
        if: rolesArray({ contains: withRole(['first_frame', 'last_frame']) }),
        // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then, not a thenable
        then: {
          allOf: [rolesArray({ not: { contains: withRole('reference_image') } }), { not: { anyOf: [given('video_urls'), given('audio_urls')] } }],
        },
      },
    },
    {
      text: '`audio_urls` needs at least one reference image (`image_urls`, or `image_with_roles` with role `reference_image`) or reference video (`video_urls`).',
      // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then, not a thenable
      schema: { if: given('audio_urls'), then: { anyOf: [given('video_urls'), given('image_urls'), rolesArray({ contains: withRole('reference_image') })] } },
    },
    { text: `At most ${MEDIA_COUNT_LIMITS.total} reference files in all: images, videos and audio files together.` },
  ];
  if (spec.assetUrls) {
    rules.push({
      text: "An `asset://<id>` entry names an approved asset of the caller's own account, of the field's kind: an image in `image_urls` and `image_with_roles`, a video in `video_urls`, an audio file in `audio_urls`.",
    });
  }
  return rules;
}

/** The branch of a nullish property that is not `null`: where the narrowing goes. */
function valueBranch(property: JsonSchema): JsonSchema {
  const branches = property.anyOf as JsonSchema[] | undefined;
  return branches?.find((branch) => branch.type !== 'null') ?? property;
}

function urlEntry(spec: ModelSpec, field: MediaUrlField): JsonSchema {
  return {
    type: 'string',
    maxLength: MAX_URL_LENGTH,
    pattern: spec.assetUrls ? HTTP_OR_ASSET_URL_PATTERN : HTTP_URL_PATTERN,
    description: spec.assetUrls
      ? `http(s):// URL, or asset://<id> of an approved ${MEDIA_URL_FIELDS[field]} asset of your account`
      : `http(s):// URL; asset:// URLs are not accepted by ${spec.id}`,
  };
}

/** JSON Schema (draft 2020-12) of the submit body of `spec`, `model` left out. */
export function modelInputSchema(spec: ModelSpec): JsonSchema {
  const schema = z.toJSONSchema(SubmitBody.omit({ model: true }), { target: 'draft-2020-12', io: 'input' }) as JsonSchema;
  const properties = schema.properties as Record<string, JsonSchema>;

  const prompt = properties.prompt!;
  if (spec.promptLimit === null) {
    prompt.description = `${prompt.description}; no length limit on ${spec.id}`;
  } else {
    // JSON Schema counts characters as Unicode code points, as the server does.
    prompt.maxLength = spec.promptLimit;
    prompt.description = `${prompt.description}; at most ${spec.promptLimit} Unicode characters`;
  }
  properties.resolution = {
    description: `Output resolution; ${spec.id} offers ${spec.resolutions.join(', ')}`,
    anyOf: [{ type: 'string', enum: [...spec.resolutions] }, { type: 'null' }],
  };
  for (const [field, value] of Object.entries(SUBMIT_DEFAULTS)) properties[field]!.default = value;

  for (const field of ['image_urls', 'video_urls', 'audio_urls'] as const) valueBranch(properties[field]!).items = urlEntry(spec, field);
  const roleItem = valueBranch(properties.image_with_roles!).items as { properties: Record<string, JsonSchema> };
  roleItem.properties.url = urlEntry(spec, 'image_with_roles');
  valueBranch(properties.callback_url!).pattern = HTTP_URL_PATTERN;

  const rules = fieldRules(spec);
  const onlyDescribed = rules.filter((rule) => !rule.schema).map((rule) => `- ${rule.text}`);
  return {
    $schema: schema.$schema,
    title: `${spec.id} video_generation input`,
    description: [
      `The body of POST /v1/videos/generations for ${spec.id}, without "model". Unknown fields are ignored; null counts as absent.`,
      'Rules this schema can only describe:',
      ...onlyDescribed,
    ].join('\n'),
    type: 'object',
    properties,
    allOf: rules.filter((rule) => rule.schema).map((rule) => ({ description: rule.text, ...rule.schema })),
  };
}
