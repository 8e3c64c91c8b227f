import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { MODEL_ALIASES, MODEL_IDS, MODELS, RESOLUTIONS, resolveModel, type ModelId } from '../../src/contract/models.js';
import { MEDIA_URL_FIELDS, modelInputSchema, type JsonSchema } from '../../src/contract/model-schema.js';
import type { MediaKind } from '../../src/contract/submit.js';
import { approveTestAssets } from './approved-assets.js';

/**
 * GET /v1/model-schema (README: Answer versions), and the schema held against the real submit route: bodies
 * generated from each model's input_schema are accepted exactly when the schema (checked by an
 * independent JSON Schema validator) and the rules it only describes accept them, and bodies that
 * break one of its constraints are refused with a 400 naming the field.
 */

const NAMES = [...MODEL_IDS, ...Object.keys(MODEL_ALIASES)];
const ALIAS_OF = Object.fromEntries(Object.entries(MODEL_ALIASES).map(([alias, id]) => [id, alias])) as Record<ModelId, string>;

let t: TestApp;
let assets: Record<MediaKind, string>;
beforeAll(async () => {
  // Hundreds of accepted bodies stay queued (no dispatcher), far past the default in-flight limit.
  t = await startTestApp({ VIDGATE_DEFAULT_IN_FLIGHT: '1000000' }, { runDispatcher: false });
  assets = await approveTestAssets(t.app.store);
});
afterAll(() => t?.close());

const get = (url: string, headers: Record<string, string> = t.auth) => t.app.server.inject({ method: 'GET', url, headers });
const submit = (body: unknown) =>
  t.app.server.inject({
    method: 'POST',
    url: '/v1/videos/generations',
    headers: { ...t.auth, 'content-type': 'application/json' },
    payload: JSON.stringify(body),
  });

describe.each(NAMES)('GET /v1/model-schema?model=%s', (name) => {
  it('answers the input schema of the model, under the name asked for', async () => {
    for (const url of [`/v1/model-schema?model=${name}`, `/v1/model-schema?model=${name}&operation=video_generation`]) {
      const res = await get(url);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toEqual({ model: name, operation: 'video_generation', input_schema: modelInputSchema(resolveModel(name)!) });
    }
  });
});

describe('refusals', () => {
  const KNOWN_NAMES = new RegExp(NAMES.map((n) => n.replace(/\./g, '\\.')).join(', '));
  it.each([
    ['/v1/model-schema', 400, 'model', /model is required/],
    ['/v1/model-schema?model=sora-2', 404, 'model', /model "sora-2" was not found/],
    ['/v1/model-schema?model=sora-2&operation=video_generation', 404, 'model', /was not found/],
  ])('%s → %i naming the known models', async (url, status, param, message) => {
    const res = await get(url);
    expect(res.statusCode).toBe(status);
    expect(res.json().error).toEqual({
      code: status,
      type: status === 404 ? 'not_found_error' : 'invalid_request_error',
      param,
      message: expect.stringMatching(message),
    });
    expect(res.json().error.message).toMatch(KNOWN_NAMES);
  });

  it('an operation other than video_generation is a 400 naming the supported one', async () => {
    const res = await get('/v1/model-schema?model=doubao-seedance-2.0&operation=image_generation');
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toEqual({
      code: 400,
      type: 'invalid_request_error',
      param: 'operation',
      message: 'operation "image_generation" is not supported: use video_generation',
    });
  });

  it('needs an API key', async () => {
    expect((await get('/v1/model-schema?model=doubao-seedance-2.0', {})).statusCode).toBe(401);
  });
});

it('is described in /openapi.json', async () => {
  const doc = (await t.app.server.inject({ method: 'GET', url: '/openapi.json' })).json();
  expect(doc.paths['/v1/model-schema'].get.responses['200'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/ModelSchema' });
  expect(doc.components.schemas.ModelSchema.properties.operation).toMatchObject({ enum: ['video_generation'] });
  expect(doc.paths['/v1/model-schema'].get.parameters.map((p: { name: string }) => p.name).sort()).toEqual(['model', 'operation']);
});

// ---------------------------------------------------------------------------------------------
// Bodies generated from the schema, against the real submit route.

type Schema = JsonSchema & {
  anyOf?: Schema[];
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  maxLength?: number;
  maxItems?: number;
  pattern?: string;
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
};

const ajv = new Ajv2020({ strict: true, allowUnionTypes: true });
const admitsAsset = (schema: Schema) => schema.pattern !== undefined && new RegExp(schema.pattern, 'u').test('asset://asset_1');
const kindOf = (field: string): MediaKind | undefined => MEDIA_URL_FIELDS[field as keyof typeof MEDIA_URL_FIELDS];

const httpUrl = fc
  .tuple(fc.constantFrom('http', 'https'), fc.stringMatching(/^[a-z0-9_-]{1,16}$/), fc.constantFrom('.jpg', '.png', '.mp4', '.wav', ''))
  .map(([scheme, path, ext]) => `${scheme}://example.com/${path}${ext}`);

/** `n` Unicode characters, every other one outside the BMP (two UTF-16 units). */
const characters = (n: number) => Array.from({ length: n }, (_, i) => (i % 2 === 0 ? '😀' : 'a')).join('');

function textOf(maxLength: number | undefined): fc.Arbitrary<string> {
  // Without a limit, prompts go well past the limit of the other models.
  const longest = maxLength ?? 6000;
  return fc.oneof(
    { weight: 6, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
    { weight: 1, arbitrary: fc.constantFrom('', ' ', '\n\t', '\u3000') },
    { weight: 2, arbitrary: fc.integer({ min: longest - 3, max: longest }).map(characters) },
  );
}

function integerOf(min: number, max: number): fc.Arbitrary<number> {
  return fc.oneof(
    fc.constantFrom(min, max),
    fc.integer({ min: Math.max(min, -1000), max: Math.min(max, 1000) }),
    fc.bigInt({ min: BigInt(min), max: BigInt(max) }).map(Number),
  );
}

/** An arbitrary of the values `schema` describes; `field` is the top-level property they belong to. */
function arbitraryOf(schema: Schema, field: string): fc.Arbitrary<unknown> {
  if (schema.anyOf) return fc.oneof(...schema.anyOf.map((branch) => arbitraryOf(branch, field)));
  if (Array.isArray(schema.type)) return fc.oneof(...schema.type.map((type) => arbitraryOf({ ...schema, type }, field)));
  if ('const' in schema) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  switch (schema.type) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer':
      return integerOf(schema.minimum!, schema.maximum!);
    case 'string': {
      if (schema.pattern === undefined) return textOf(schema.maxLength);
      const kind = kindOf(field);
      return kind && admitsAsset(schema) ? fc.oneof(httpUrl, fc.constant(`asset://${assets[kind]}`)) : httpUrl;
    }
    case 'array':
      return fc.array(arbitraryOf(schema.items!, field), { maxLength: schema.maxItems });
    case 'object': {
      const properties = Object.fromEntries(Object.entries(schema.properties!).map(([key, value]) => [key, arbitraryOf(value, field === '' ? key : field)]));
      return fc.record(properties, { requiredKeys: schema.required ?? [] });
    }
  }
  throw new Error(`no generator for ${JSON.stringify(schema)}`);
}

/** A value that meets `schema`: the base of the values that break it in one way. */
function validValueOf(schema: Schema): unknown {
  if (schema.anyOf) return validValueOf(schema.anyOf[0]!);
  if ('const' in schema) return schema.const;
  if (schema.enum) return schema.enum[0];
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  if (type === 'string') return schema.pattern ? 'https://example.com/valid.jpg' : 'a kitten';
  if (type === 'object') return Object.fromEntries(Object.entries(schema.properties!).map(([key, value]) => [key, validValueOf(value)]));
  throw new Error(`no valid value for ${JSON.stringify(schema)}`);
}

/** Values that break `schema` in exactly one of its constraints (type, enum, range, length, count, pattern). */
function breakersOf(schema: Schema): unknown[] {
  if (schema.anyOf) return breakersOf(schema.anyOf.find((branch) => branch.type !== 'null')!);
  const types = Array.isArray(schema.type) ? schema.type : [schema.type];
  const type = types.find((t) => t !== 'null');
  const wrongType = type === 'string' ? 42 : `not a ${type}`;
  if ('const' in schema) return [`${String(schema.const)}-other`, wrongType];
  if (schema.enum) return [`${String(schema.enum[0])}-other`, wrongType];
  switch (type) {
    case 'boolean':
      return ['true', 1];
    case 'integer':
      return [schema.minimum! - 1, schema.maximum! + 1, schema.minimum! + 0.5, String(schema.minimum)];
    case 'string': {
      if (schema.pattern === undefined) return [wrongType, ...(schema.maxLength === undefined ? [] : [characters(schema.maxLength + 1)])];
      const pattern = new RegExp(schema.pattern, 'u');
      const unlike = ['ftp://example.com/a.jpg', 'example.com/a.jpg', 'https://user:pw@example.com/a.jpg', 'asset://not an id', 'asset://asset_1'].filter(
        (url) => !pattern.test(url),
      );
      const tooLong = schema.maxLength === undefined ? [] : [`https://example.com/${'a'.repeat(schema.maxLength)}`];
      return [wrongType, ...unlike, ...tooLong];
    }
    case 'array': {
      const item = validValueOf(schema.items!);
      const tooMany = schema.maxItems === undefined ? [] : [Array.from({ length: schema.maxItems + 1 }, () => item)];
      return [wrongType, ...tooMany, ...breakersOf(schema.items!).map((bad) => [bad])];
    }
    case 'object': {
      const valid = validValueOf(schema) as Record<string, unknown>;
      const broken = Object.entries(schema.properties!).flatMap(([key, value]) => breakersOf(value).map((bad) => ({ ...valid, [key]: bad })));
      const missing = (schema.required ?? []).map((key) => Object.fromEntries(Object.entries(valid).filter(([k]) => k !== key)));
      return [wrongType, ...broken, ...missing];
    }
  }
  throw new Error(`no breakers for ${JSON.stringify(schema)}`);
}

const totalFiles = (body: Record<string, unknown>) =>
  Object.keys(MEDIA_URL_FIELDS).reduce((sum, field) => sum + (Array.isArray(body[field]) ? (body[field] as unknown[]).length : 0), 0);

describe.each(MODEL_IDS)('bodies generated from the input schema of %s', (id) => {
  const schema = modelInputSchema(MODELS[id]) as Schema;
  const validate = ajv.compile(schema);
  /** What the schema says, plus the one rule it can only describe (asset rules hold by construction). */
  const schemaAccepts = (input: Record<string, unknown>) => validate(input) && totalFiles(input) <= 12;
  // Built when a test runs: asset ids exist only after beforeAll.
  const inputs = () => arbitraryOf(schema, '') as fc.Arbitrary<Record<string, unknown>>;
  const names = fc.constantFrom(id, ALIAS_OF[id]);

  it('are accepted by POST /v1/videos/generations exactly when the schema and its stated rules accept them', async () => {
    const seen = { accepted: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(inputs(), names, async (input, model) => {
        const expected = schemaAccepts(input);
        const res = await submit({ model, ...input });
        expect(res.statusCode, `${JSON.stringify(input).slice(0, 600)}\n${res.body}\nschema: ${JSON.stringify(validate.errors)}`).toBe(expected ? 200 : 400);
        seen[expected ? 'accepted' : 'refused'] += 1;
      }),
      { numRuns: 150 },
    );
    // Both sides of the property must have been exercised for it to mean anything.
    expect(seen.accepted).toBeGreaterThan(30);
    expect(seen.refused).toBeGreaterThan(30);
  });

  it('are refused with a 400 naming the field once they break one constraint of the schema', async () => {
    const properties = schema.properties!;
    const breaks = Object.entries(properties).flatMap(([field, property]) => breakersOf(property).map((value) => ({ field, value })));
    // Every field has something to break, and resolutions of other models are among the breakers.
    expect(new Set(breaks.map((b) => b.field))).toEqual(new Set(Object.keys(properties)));
    for (const resolution of RESOLUTIONS.filter((r) => !MODELS[id].resolutions.includes(r))) breaks.push({ field: 'resolution', value: resolution });

    await fc.assert(
      fc.asyncProperty(inputs().filter(schemaAccepts), names, fc.constantFrom(...breaks), async (input, model, { field, value }) => {
        const broken = { ...input, [field]: value };
        expect(validate(broken), JSON.stringify(broken).slice(0, 300)).toBe(false);
        const res = await submit({ model, ...broken });
        expect(res.statusCode, `${field}=${JSON.stringify(value).slice(0, 200)}\n${res.body}`).toBe(400);
        expect(res.json().error).toMatchObject({ code: 400, type: 'invalid_request_error', param: expect.stringMatching(new RegExp(`^${field}`)) });
      }),
      { numRuns: 120 },
    );
  });
});
