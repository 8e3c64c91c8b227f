import { describe, expect, it } from 'vitest';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { MODEL_IDS, MODELS, RESOLUTIONS } from '../../src/contract/models.js';
import { SubmitBody } from '../../src/contract/submit.js';
import { modelInputSchema, type JsonSchema } from '../../src/contract/model-schema.js';
import { modelExamples } from '../../src/contract/model-docs.js';

// Strict, as a careful client would compile it: unknown keywords or formats would throw here.
const ajv = new Ajv2020({ strict: true, allowUnionTypes: true });

type Props = Record<string, JsonSchema & { anyOf?: JsonSchema[] }>;
const nonNullBranch = (p: JsonSchema & { anyOf?: JsonSchema[] }) => p.anyOf?.find((b) => b.type !== 'null') ?? p;

describe.each(MODEL_IDS)('the input schema of %s', (id) => {
  const spec = MODELS[id];
  const schema = modelInputSchema(spec);
  const validate = ajv.compile(schema);
  const properties = schema.properties as Props;
  const valid = (body: object) => validate(body);

  it('is draft 2020-12 and has every field of the submit body but model', () => {
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(Object.keys(properties).sort()).toEqual(
      Object.keys(SubmitBody.shape)
        .filter((k) => k !== 'model')
        .sort(),
    );
    expect(schema.required).toBeUndefined();
  });

  it("offers the model's resolutions only", () => {
    expect(nonNullBranch(properties.resolution!).enum).toEqual(spec.resolutions);
    for (const resolution of RESOLUTIONS) expect(valid({ prompt: 'x', resolution }), resolution).toBe(spec.resolutions.includes(resolution));
  });

  it('limits the prompt to the model limit in Unicode characters, or not at all', () => {
    expect(properties.prompt!.maxLength).toBe(spec.promptLimit ?? undefined);
    // 4000 characters of which half are astral: 6000 UTF-16 units, still 4000 characters.
    const atLimit = '😀a'.repeat(2000);
    expect(valid({ prompt: atLimit })).toBe(true);
    expect(valid({ prompt: `${atLimit}b` })).toBe(spec.promptLimit === null);
  });

  it('says in its URL patterns whether asset:// is allowed', () => {
    for (const body of [
      { image_urls: ['asset://asset_1'] },
      { image_with_roles: [{ url: 'asset://asset_1', role: 'reference_image' }] },
      { prompt: 'x', video_urls: ['asset://asset_1'] },
    ]) {
      expect(valid(body), JSON.stringify(body)).toBe(spec.assetUrls);
    }
    expect(valid({ image_urls: ['https://example.com/cat.jpg'] })).toBe(true);
    expect(valid({ image_urls: ['ftp://example.com/cat.jpg'] })).toBe(false);
    expect(valid({ image_urls: ['https://user:pw@example.com/cat.jpg'] })).toBe(false);
    expect(valid({ image_urls: ['asset://not an id'] })).toBe(false);
    expect(valid({ prompt: 'x', callback_url: 'asset://asset_1' })).toBe(false);
  });

  it('states the defaults', () => {
    expect(
      Object.fromEntries(['duration', 'size', 'resolution', 'seed', 'generate_audio', 'return_last_frame'].map((k) => [k, properties[k]!.default])),
    ).toEqual({
      duration: 5,
      size: '16:9',
      resolution: '720p',
      seed: -1,
      generate_audio: false,
      return_last_frame: false,
    });
  });

  it('states the rules between fields', () => {
    const url = (n: number) => `https://example.com/${n}.jpg`;
    expect(valid({})).toBe(false);
    expect(valid({ prompt: ' \n\t' })).toBe(false);
    expect(valid({ prompt: null, image_urls: [url(1)] })).toBe(true);
    expect(valid({ prompt: 'x', image_urls: [url(1)], image_with_roles: [{ url: url(2), role: 'first_frame' }] })).toBe(false);
    expect(valid({ prompt: 'x', image_urls: [], image_with_roles: [{ url: url(2), role: 'first_frame' }] })).toBe(true);
    expect(
      valid({
        image_with_roles: [
          { url: url(1), role: 'first_frame' },
          { url: url(2), role: 'first_frame' },
        ],
      }),
    ).toBe(false);
    expect(valid({ image_with_roles: [{ url: url(1), role: 'last_frame' }] })).toBe(false);
    expect(
      valid({
        image_with_roles: [
          { url: url(1), role: 'first_frame' },
          { url: url(2), role: 'reference_image' },
        ],
      }),
    ).toBe(false);
    expect(valid({ image_with_roles: [{ url: url(1), role: 'first_frame' }], video_urls: ['https://example.com/v.mp4'] })).toBe(false);
    expect(valid({ prompt: 'x', audio_urls: ['https://example.com/a.mp3'] })).toBe(false);
    expect(valid({ prompt: 'x', image_urls: [url(1)], audio_urls: ['https://example.com/a.mp3'] })).toBe(true);
    expect(schema.description).toMatch(/At most 12 reference files in all/);
  });

  it("accepts every example of the model's docs", () => {
    for (const { body } of modelExamples(id, spec)) {
      const { model: _model, ...input } = body;
      expect(valid(input), `${JSON.stringify(input)} ${JSON.stringify(validate.errors)}`).toBe(true);
    }
  });
});
