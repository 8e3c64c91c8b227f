import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { MODEL_ALIASES, MODEL_IDS, resolveModel } from '../../src/contract/models.js';
import { EXAMPLE_ASSET_ID } from '../../src/contract/model-docs.js';
import { approveTestAssets } from './approved-assets.js';

/** GET /v1/model-docs and /v1/model-docs/{model}.md (README: Answer versions) through the real server. */

const NAMES = [...MODEL_IDS, ...Object.keys(MODEL_ALIASES)];
const KNOWN_NAMES = new RegExp(NAMES.map((n) => n.replace(/\./g, '\\.')).join(', '));

let t: TestApp;
let imageAsset: string;
beforeAll(async () => {
  // Every example is submitted for real and stays queued (no dispatcher).
  t = await startTestApp({ VIDGATE_DEFAULT_IN_FLIGHT: '10000' }, { runDispatcher: false });
  imageAsset = (await approveTestAssets(t.app.store)).image;
});
afterAll(() => t?.close());

const get = (url: string, headers: Record<string, string> = t.auth) => t.app.server.inject({ method: 'GET', url, headers });
const examplesOf = (markdown: string) => [...markdown.slice(markdown.indexOf('\n## Examples')).matchAll(/```json\n([\s\S]*?)\n```/g)].map((m) => m[1]!);

describe.each(NAMES)('GET /v1/model-docs?model=%s', (name) => {
  it('answers the documentation object with the name asked for and URLs on this server', async () => {
    const before = Math.floor(Date.now() / 1000);
    const res = await get(`/v1/model-docs?model=${encodeURIComponent(name)}`);
    expect(res.statusCode, res.body).toBe(200);
    const doc = res.json();
    expect(Object.keys(doc).sort()).toEqual(['cache_ttl_seconds', 'doc_url', 'fetched_at', 'markdown', 'markdown_url', 'model', 'object', 'stale']);
    expect(doc).toMatchObject({
      object: 'model.documentation',
      model: name,
      doc_url: `http://localhost:80/v1/model-docs?model=${name}`,
      markdown_url: `http://localhost:80/v1/model-docs/${name}.md`,
      stale: false,
    });
    expect(doc.fetched_at).toBeGreaterThanOrEqual(before);
    expect(doc.fetched_at).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
    expect(doc.cache_ttl_seconds).toBeGreaterThan(0);
    expect(res.headers['cache-control']).toBe(`private, max-age=${doc.cache_ttl_seconds}`);
    expect(doc.markdown.startsWith(`# ${resolveModel(name)!.id}\n`)).toBe(true);

    const markdown = await get(new URL(doc.markdown_url).pathname);
    expect(markdown.statusCode).toBe(200);
    expect(markdown.headers['content-type']).toBe('text/markdown; charset=utf-8');
    expect(markdown.body).toBe(doc.markdown);
  });

  it('has examples that a real submit accepts', async () => {
    const markdown = (await get(`/v1/model-docs?model=${name}`)).json().markdown as string;
    const examples = examplesOf(markdown);
    expect(examples.length).toBeGreaterThanOrEqual(12);
    for (const example of examples) {
      const payload = example.replace(`asset://${EXAMPLE_ASSET_ID}`, `asset://${imageAsset}`);
      const res = await t.app.server.inject({
        method: 'POST',
        url: '/v1/videos/generations',
        headers: { ...t.auth, 'content-type': 'application/json' },
        payload,
      });
      expect(res.statusCode, `${payload}\n${res.body}`).toBe(200);
    }
  });
});

describe('refusals', () => {
  it.each([
    ['/v1/model-docs', 400, 'invalid_request_error', /model is required/],
    ['/v1/model-docs?model=', 400, 'invalid_request_error', /model is required/],
    ['/v1/model-docs?model=sora-2', 404, 'not_found_error', /model "sora-2" was not found/],
    ['/v1/model-docs?model=DOUBAO-SEEDANCE-2.0', 404, 'not_found_error', /was not found/],
    ['/v1/model-docs/sora-2.md', 404, 'not_found_error', /model "sora-2" was not found/],
  ])('%s → %i in the envelope, naming the known models', async (url, status, type, message) => {
    const res = await get(url);
    expect(res.statusCode).toBe(status);
    const { error } = res.json();
    expect(error).toEqual({ code: status, type, param: 'model', message: expect.stringMatching(message) });
    expect(error.message).toMatch(KNOWN_NAMES);
  });

  it('a file that is not <model>.md is a 404', async () => {
    const res = await get('/v1/model-docs/doubao-seedance-2.0.txt');
    expect(res.statusCode).toBe(404);
    expect(res.json().error).toMatchObject({ code: 404, type: 'not_found_error' });
  });

  it('needs an API key', async () => {
    for (const url of ['/v1/model-docs?model=doubao-seedance-2.0', '/v1/model-docs/doubao-seedance-2.0.md']) {
      const res = await get(url, {});
      expect(res.statusCode).toBe(401);
      expect(res.json().error).toMatchObject({ code: 401, type: 'authentication_error' });
    }
  });
});

it('is described in /openapi.json', async () => {
  const doc = (await t.app.server.inject({ method: 'GET', url: '/openapi.json' })).json();
  expect(doc.paths['/v1/model-docs'].get.responses['200'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/ModelDocumentation' });
  expect(Object.keys(doc.components.schemas.ModelDocumentation.properties).sort()).toEqual([
    'cache_ttl_seconds',
    'doc_url',
    'fetched_at',
    'markdown',
    'markdown_url',
    'model',
    'object',
    'stale',
  ]);
  expect(doc.paths['/v1/model-docs/{file}'].get.responses['200'].content).toHaveProperty('text/markdown');
});

describe('with operator prices and a public URL', () => {
  let configured: TestApp;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vidgate-model-docs-'));
    const config = join(dir, 'vidgate.yaml');
    await writeFile(
      config,
      'prices:\n  doubao-seedance-2.0-fast:\n    per_second:\n      720p: 0.5\n    per_second_with_reference_video:\n      480p: 0.0125\n',
    );
    configured = await startTestApp({ VIDGATE_CONFIG: config, VIDGATE_PUBLIC_URL: 'https://videos.example.org/' }, { runDispatcher: false });
  });
  afterAll(async () => {
    await configured?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('shows the prices in force and links to the public URL', async () => {
    const res = await configured.app.server.inject({ method: 'GET', url: '/v1/model-docs?model=seedance-2.0-fast', headers: configured.auth });
    const doc = res.json();
    expect(doc.doc_url).toBe('https://videos.example.org/v1/model-docs?model=seedance-2.0-fast');
    expect(doc.markdown_url).toBe('https://videos.example.org/v1/model-docs/seedance-2.0-fast.md');
    // 720p per second overridden, 480p with reference video overridden, the rest the defaults.
    expect(doc.markdown).toContain('| 720p | $0.5 | $0.068672 | $2.5 |');
    expect(doc.markdown).toContain('| 480p | $0.0528 | $0.0125 | $0.264 |');
    expect(doc.markdown).toContain('curl https://videos.example.org/v1/videos/generations');
  });
});
