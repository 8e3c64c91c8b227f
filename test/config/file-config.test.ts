import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadFileConfig, parseFileConfig } from '../../src/config/file.js';
import { DEFAULT_PRICES } from '../../src/contract/prices.js';
import { costRouting } from '../../src/billing/upstream-cost.js';
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

  describe('routing, cost and daily budgets', () => {
    const channel = (extra: string, models = '"*"') => `channels:\n  - name: relay\n    provider: local\n    models: ${models}\n${extra}`;

    it("reads routing, a cost in the price rows' shape and a budget; routing defaults to priority", () => {
      const text =
        'routing: cost\n' +
        channel(
          '    cost:\n      per_second:\n        doubao-seedance-2.0: { 480p: 0.05, 720p: 0.11 }\n' +
            '      per_second_with_reference_video:\n        doubao-seedance-2.0: { 720p: 0.07 }\n    daily_budget_usd: 50\n',
        );
      const config = parseFileConfig(text, 'vidgate.yaml', {});
      expect(config.routing).toBe('cost');
      expect(config.channels![0]).toMatchObject({
        cost: {
          per_second: { 'doubao-seedance-2.0': { '480p': 0.05, '720p': 0.11 } },
          per_second_with_reference_video: { 'doubao-seedance-2.0': { '720p': 0.07 } },
        },
        daily_budget_usd: 50,
      });
      expect(costRouting(config.channels![0]!)).toEqual({
        cost: { 'doubao-seedance-2.0': { perSecond: { '480p': 50_000, '720p': 110_000 }, perSecondWithVideo: { '720p': 70_000 } } },
        dailyBudgetMicros: 50_000_000,
      });
      expect(parseFileConfig(channel(''), 'vidgate.yaml', {}).routing).toBe('priority');
    });

    it.each([
      [
        channel('    cost:\n      per_second:\n        sora-2: { 480p: 0.05 }\n'),
        /channels\.0\.cost\.per_second\.sora-2: unknown model "sora-2" in the cost of channel relay; the models are doubao-seedance-2\.0, /,
      ],
      [
        channel('    cost:\n      per_second:\n        doubao-seedance-2.0: { 480p: -0.05 }\n'),
        /channels\.0\.cost\.per_second\.doubao-seedance-2\.0\.480p: a cost cannot be negative/,
      ],
      [channel('    cost:\n      per_second:\n        doubao-seedance-2.0: { 480p: cheap }\n'), /480p: a cost is a number of USD per second/],
      [channel('    daily_budget_usd: 10\n'), /channels\.0\.daily_budget_usd: channel relay has a daily_budget_usd but no cost/],
      [channel('    cost:\n      per_second:\n        doubao-seedance-2.0: { 480p: 0.05 }\n    daily_budget_usd: 0\n'), /daily_budget_usd must be more than 0/],
      [
        channel('    cost:\n      per_second:\n        doubao-seedance-2.0: { 540p: 0.05 }\n'),
        /cost\.per_second\.doubao-seedance-2\.0\.540p: unknown resolution "540p"/,
      ],
      [
        channel('    cost:\n      per_second:\n        doubao-seedance-2.0-fast: { 1080p: 0.05 }\n'),
        /doubao-seedance-2\.0-fast has no 1080p \(it offers 480p, 720p\)/,
      ],
      [
        channel('    cost:\n      per_second:\n        doubao-seedance-2.0-mini: { 480p: 0.05 }\n', '[doubao-seedance-2.0]'),
        /channel relay declares a cost for doubao-seedance-2\.0-mini, which it does not serve/,
      ],
      [channel('    cost: {}\n'), /channels\.0\.cost: channel relay: cost declares no rate/],
      [channel('    cost:\n      per_minute: {}\n'), /channels\.0\.cost: Unrecognized key: "per_minute"/],
      [`routing: cheapest\n${channel('')}`, /routing: routing must be priority or cost/],
    ])('refuses %j with a message naming the problem', (text, message) => {
      expect(() => parseFileConfig(text, 'vidgate.yaml', {})).toThrow(message);
    });
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
