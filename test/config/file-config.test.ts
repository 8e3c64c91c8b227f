import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadFileConfig, parseFileConfig } from '../../src/config/file.js';
import { DEFAULT_PRICES } from '../../src/contract/prices.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';

let t: TestApp | undefined;
let dir: string | undefined;
afterEach(async () => {
  await t?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  t = undefined;
  dir = undefined;
});

describe('configuration file', () => {
  it('overrides some prices and keeps the defaults for the rest', () => {
    const { prices } = parseFileConfig('prices:\n  doubao-seedance-2.0:\n    per_second:\n      720p: 0.2\n', 'vidgate.yaml');
    expect(prices['doubao-seedance-2.0'].perSecond).toEqual({ ...DEFAULT_PRICES['doubao-seedance-2.0'].perSecond, '720p': 200_000 });
    expect(prices['doubao-seedance-2.0'].perSecondWithVideo).toEqual(DEFAULT_PRICES['doubao-seedance-2.0'].perSecondWithVideo);
    expect(prices['doubao-seedance-2.0-fast']).toEqual(DEFAULT_PRICES['doubao-seedance-2.0-fast']);
  });

  it('reads JSON too and substitutes ${NAME} from the environment', () => {
    const text = '{"prices":{"doubao-seedance-2.0-mini":{"per_second":{"480p":${MINI_PRICE}}}}}';
    const { prices } = parseFileConfig(text, 'vidgate.json', { MINI_PRICE: '0.01' });
    expect(prices['doubao-seedance-2.0-mini'].perSecond['480p']).toBe(10_000);
  });

  it.each([
    ['prices:\n  sora: {}\n', /prices: Unrecognized key: "sora"/],
    ['prices:\n  doubao-seedance-2.0:\n    per_second:\n      720p: -1\n', /per_second\.720p/],
    ['prices:\n  doubao-seedance-2.0:\n    per_minute: {}\n', /per_minute/],
    ['price: {}\n', /price/],
    ['prices: [oops\n', /not valid YAML/],
    ['prices:\n  doubao-seedance-2.0:\n    per_second:\n      720p: ${UNSET_PRICE}\n', /UNSET_PRICE is not set/],
    ['channels:\n  - name: ark\n', /channels\.0\.provider/],
    ['channels:\n  - name: ark\n    provider: ark\n', /an ark channel needs base_url.*at least one API key/],
    ['channels:\n  - { name: a, provider: local }\n  - { name: a, provider: local }\n', /channel names must be unique/],
  ])('refuses %j with a message naming the problem', (text, message) => {
    expect(() => parseFileConfig(text, 'vidgate.yaml', {})).toThrow(message);
  });

  it('a missing file is a clear error', async () => {
    await expect(loadFileConfig('/nonexistent/vidgate.yaml')).rejects.toThrow(/cannot read VIDGATE_CONFIG \/nonexistent\/vidgate.yaml/);
  });

  it('prices from the file are what submit reserves and /v1/models shows', async () => {
    dir = await mkdtemp(join(tmpdir(), 'vidgate-conf-'));
    const file = join(dir, 'vidgate.yaml');
    await writeFile(file, 'prices:\n  doubao-seedance-2.0:\n    per_second:\n      480p: 0.5\n');
    t = await startTestApp({ VIDGATE_CONFIG: file }, { runDispatcher: false });
    const id = await t.submit({ model: 'doubao-seedance-2.0', prompt: 'x', resolution: '480p', duration: 4 });
    expect((await t.app.store.getTask(id))!.costMicros).toBe(2_000_000);
    const models = (await t.app.server.inject({ method: 'GET', url: '/v1/models', headers: t.auth })).json().data;
    expect(models[0].pricing.per_second['480p']).toBe(0.5);
  });
});
