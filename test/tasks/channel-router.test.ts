import { describe, expect, it } from 'vitest';
import { ProviderRegistry, type Routing } from '../../src/providers/registry.js';
import type { Provider } from '../../src/providers/types.js';
import { ChannelRouter, type ChannelSpendReader, type RoutingMode } from '../../src/tasks/channel-router.js';
import { type ChannelSpend, costTable, upstreamCostMicros, utcDayStart } from '../../src/billing/upstream-cost.js';
import { checkSubmitRules } from '../../src/contract/submit.js';
import type { ModelId } from '../../src/contract/models.js';

const SD_480 = checkSubmitRules({ model: 'doubao-seedance-2.0', prompt: 'route me', resolution: '480p', duration: 4 });
const SD_720 = checkSubmitRules({ model: 'doubao-seedance-2.0', prompt: 'route me', resolution: '720p', duration: 5 });
const WITH_VIDEO = checkSubmitRules({
  model: 'doubao-seedance-2.0',
  prompt: 'route me',
  resolution: '480p',
  duration: 4,
  video_urls: ['https://media.example/clip.mp4'],
});

/** A channel that is never run: only its name, size and pause matter here. */
class Channel implements Provider {
  paused: number | null = null;
  constructor(
    readonly name: string,
    readonly concurrency = 10,
  ) {}
  estimateSeconds(): number {
    return 1;
  }
  pausedUntil(): number | null {
    return this.paused;
  }
  async run(): Promise<never> {
    throw new Error('not run in these tests');
  }
}

interface Spec {
  name: string;
  priority?: number;
  weight?: number;
  /** USD per second at 480p / 720p of doubao-seedance-2.0. */
  cost?: { '480p'?: number; '720p'?: number; video480p?: number };
  budgetUsd?: number;
  models?: ModelId[];
  concurrency?: number;
}

function setup(specs: Spec[], mode: RoutingMode, spend: Record<string, Partial<ChannelSpend>> = {}) {
  const registry = new ProviderRegistry();
  const channels = new Map<string, Channel>();
  for (const s of specs) {
    const channel = new Channel(s.name, s.concurrency);
    channels.set(s.name, channel);
    const perSecond = Object.fromEntries(Object.entries(s.cost ?? {}).filter(([k]) => k !== 'video480p'));
    const table = s.cost
      ? costTable({
          per_second: { 'doubao-seedance-2.0': perSecond },
          ...(s.cost.video480p === undefined ? {} : { per_second_with_reference_video: { 'doubao-seedance-2.0': { '480p': s.cost.video480p } } }),
        })
      : undefined;
    const routing: Routing = {
      models: s.models ? new Set(s.models) : '*',
      priority: s.priority ?? 0,
      weight: s.weight ?? 1,
      ...(table ? { cost: table } : {}),
      ...(s.budgetUsd === undefined ? {} : { dailyBudgetMicros: Math.round(s.budgetUsd * 1e6) }),
    };
    registry.register(channel, routing, 'ark');
  }
  const reads: Array<{ providers: readonly string[]; since: number }> = [];
  const reader: ChannelSpendReader = {
    channelSpend: async (q) => {
      reads.push(q);
      return q.providers.map((provider) => ({ provider, settledMicros: 0, inFlightMicros: 0, unfinished: 0, ...spend[provider] }));
    },
  };
  const now = Date.parse('2026-06-01T15:00:00Z');
  const router = new ChannelRouter({ registry, mode, spend: reader, clock: () => now });
  const pick = async (request = SD_480, tried: string[] = []) => (await router.choose(request, tried)).provider?.name;
  return { router, channels, reads, pick, now };
}

/** Which channels `times` decisions went to. */
async function spread(pick: () => Promise<string | undefined>, times = 200): Promise<Set<string | undefined>> {
  const seen = new Set<string | undefined>();
  for (let i = 0; i < times; i++) seen.add(await pick());
  return seen;
}

describe('expected upstream cost', () => {
  const table = costTable({
    per_second: { 'doubao-seedance-2.0': { '480p': 0.05 } },
    per_second_with_reference_video: { 'doubao-seedance-2.0': { '480p': 0.03 } },
  });
  it('is the price book formula on the declared rates, null where nothing is declared', () => {
    expect(upstreamCostMicros(table, SD_480, null)).toBe(200_000);
    expect(upstreamCostMicros(table, SD_720, null)).toBeNull();
    expect(upstreamCostMicros(undefined, SD_480, null)).toBeNull();
    // With a reference video: input + output seconds; the longest input (15.2 s) until it was probed.
    expect(upstreamCostMicros(table, WITH_VIDEO, null)).toBe(Math.round(30_000 * (15.2 + 4)));
    expect(upstreamCostMicros(table, WITH_VIDEO, 3)).toBe(30_000 * 7);
  });
});

describe('routing: cost', () => {
  const specs: Spec[] = [
    { name: 'dear', priority: 10, cost: { '480p': 0.05, '720p': 0.1 } },
    { name: 'cheap', priority: 0, cost: { '480p': 0.03 } },
    { name: 'unpriced', priority: 20 },
  ];

  it('takes the cheapest channel for the task; a declared cost goes before none, whatever the priority', async () => {
    const { pick, router } = setup(specs, 'cost');
    expect(await pick(SD_480)).toBe('cheap');
    expect(await router.choose(SD_480)).toMatchObject({ upstreamCostMicros: 120_000, overBudget: [] });
    // cheap declares nothing at 720p: dear's declared cost wins over cheap's and unpriced's unknown one.
    expect(await pick(SD_720)).toBe('dear');
    // A reference video is priced by its own rate: neither declares one, so the highest priority takes it.
    expect(await pick(WITH_VIDEO)).toBe('unpriced');
  });

  it('goes on to the next cheapest that the task has not tried (failover)', async () => {
    const { pick } = setup(specs, 'cost');
    expect(await pick(SD_480, ['cheap'])).toBe('dear');
    expect(await pick(SD_480, ['cheap', 'dear'])).toBe('unpriced');
    expect(await pick(SD_480, ['cheap', 'dear', 'unpriced'])).toBeUndefined();
  });

  it('breaks ties of cost by priority, then shares by weight', async () => {
    const same = { '480p': 0.04 };
    const byPriority = setup(
      [
        { name: 'low', priority: 1, cost: same },
        { name: 'high', priority: 5, cost: same },
      ],
      'cost',
    );
    expect(await spread(byPriority.pick, 50)).toEqual(new Set(['high']));
    const byWeight = setup(
      [
        { name: 'a', weight: 3, cost: same },
        { name: 'b', weight: 1, cost: same },
        { name: 'never', weight: 0, cost: same },
      ],
      'cost',
    );
    expect(await spread(byWeight.pick)).toEqual(new Set(['a', 'b']));
  });

  it('skips unhealthy channels (paused after a 429, busy at max_in_flight) while a healthy one is left', async () => {
    const paused = setup(specs, 'cost');
    paused.channels.get('cheap')!.paused = Date.now() + 2000;
    expect(await paused.pick()).toBe('dear');
    const busy = setup(specs, 'cost', { cheap: { unfinished: 10 }, dear: { unfinished: 9 } });
    expect(await busy.pick()).toBe('dear');
    // Nobody healthy: the cheapest still takes it (it waits in that channel's queue, or fails over).
    const allBusy = setup(specs, 'cost', { cheap: { unfinished: 10 }, dear: { unfinished: 10 }, unpriced: { unfinished: 10 } });
    expect(await allBusy.pick()).toBe('cheap');
  });
});

describe('daily budgets', () => {
  const specs: Spec[] = [
    { name: 'cheap', cost: { '480p': 0.03 }, budgetUsd: 1 },
    { name: 'dear', priority: 10, cost: { '480p': 0.05 } },
  ];

  it('a channel whose spend today (completed + in flight) reaches its budget takes nothing, in either mode', async () => {
    for (const mode of ['cost', 'priority'] as const) {
      const under = setup(specs, mode, { cheap: { settledMicros: 500_000, inFlightMicros: 499_999 } });
      expect(await under.pick()).toBe(mode === 'cost' ? 'cheap' : 'dear');
      // In flight counts at its expected cost: 0.5 completed + 0.5 expected = the budget.
      const reached = setup(specs, mode, { cheap: { settledMicros: 500_000, inFlightMicros: 500_000 } });
      expect(await reached.router.choose(SD_480)).toMatchObject({ provider: { name: 'dear' }, overBudget: ['cheap'] });
      // Counted from the start of the UTC day.
      expect(reached.reads[0]!.since).toBe(utcDayStart(reached.now));
      expect(reached.reads[0]!.since).toBe(Date.parse('2026-06-01T00:00:00Z'));
    }
  });

  it('when every channel able to take the task spent its budget, none is chosen and the spent ones are named', async () => {
    const { router } = setup([{ name: 'only', cost: { '480p': 0.03 }, budgetUsd: 1 }], 'cost', { only: { settledMicros: 2_000_000 } });
    expect(await router.choose(SD_480)).toEqual({ provider: undefined, upstreamCostMicros: null, overBudget: ['only'] });
  });
});

describe('routing: priority', () => {
  it('is the registry’s own rule: cost, pauses and loads change nothing, and nothing is read without a budget', async () => {
    const { pick, channels, reads, router } = setup(
      [
        { name: 'dear', priority: 10, cost: { '480p': 0.5 } },
        { name: 'cheap', priority: 0, cost: { '480p': 0.01 } },
      ],
      'priority',
      { dear: { unfinished: 1000 } },
    );
    channels.get('dear')!.paused = Date.now() + 2000;
    expect(await spread(pick, 20)).toEqual(new Set(['dear']));
    expect(await pick(SD_480, ['dear'])).toBe('cheap');
    expect(reads).toEqual([]);
    // The expected cost is still recorded, for the margin.
    expect((await router.choose(SD_480)).upstreamCostMicros).toBe(2_000_000);
  });

  it('shares by weight among equal priorities, as before', async () => {
    const { pick } = setup(
      [
        { name: 'a', priority: 1 },
        { name: 'b', priority: 1 },
        { name: 'low', priority: 0 },
      ],
      'priority',
    );
    expect(await spread(pick)).toEqual(new Set(['a', 'b']));
  });
});
