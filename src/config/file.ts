import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { MODEL_IDS, MODELS, RESOLUTIONS, type ModelId } from '../contract/models.js';
import { DEFAULT_PRICES, usdToMicros, type PriceRow } from '../contract/prices.js';
import { ConfigError } from './env.js';

/**
 * The optional configuration file (`VIDGATE_CONFIG`, YAML or JSON; `${NAME}` is replaced by the
 * environment variable NAME). Everything in it has a default, so the sandbox needs no file.
 */
const usdPerSecond = z.number().min(0).max(1000);
const ResolutionPrices = z.partialRecord(z.enum(RESOLUTIONS), usdPerSecond);
const ModelPrices = z.object({ per_second: ResolutionPrices.optional(), per_second_with_reference_video: ResolutionPrices.optional() }).strict();

/**
 * A channel's upstream cost (README: Configuration, `cost`): USD per second, by rate, then model,
 * then resolution. Which models and resolutions may appear is checked against the channel
 * (`costRules`), so an unknown one is named in words.
 */
const costPerSecond = z
  .number({ error: () => 'a cost is a number of USD per second' })
  .min(0, { error: () => 'a cost cannot be negative' })
  .max(1000, { error: () => 'a cost is at most 1000 USD per second' });
const CostRates = z.record(z.string(), z.record(z.string(), costPerSecond));
const ChannelCost = z.object({ per_second: CostRates.optional(), per_second_with_reference_video: CostRates.optional() }).strict();

const ChannelSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'channel names use letters, digits, _ . - (at most 64)'),
    provider: z.enum(['local', 'ark', 'apimart', 'fal', 'replicate']),
    // fal and replicate default to their public API (README: Configuration); ark and apimart need one.
    base_url: z.url().optional(),
    api_keys: z.array(z.string().min(1)).min(1).optional(),
    // '*' = every model under its own name; a list = those, under their own names; a map = vidgate → upstream id.
    models: z.union([z.literal('*'), z.array(z.enum(MODEL_IDS)).min(1), z.partialRecord(z.enum(MODEL_IDS), z.string().min(1))]).default('*'),
    priority: z.number().int().default(0),
    weight: z.number().int().min(0).default(1),
    max_in_flight: z.number().int().min(1).max(100_000).optional(),
    expected_seconds: z.number().positive().max(86_400).default(120),
    first_poll_ms: z.number().int().min(1).max(600_000).default(2_000),
    max_poll_ms: z.number().int().min(1).max(3_600_000).default(4_000),
    max_poll_errors: z.number().int().min(1).max(1_000).default(10),
    timeout_seconds: z
      .number()
      .positive()
      .max(7 * 86_400)
      .default(7_200),
    request_timeout_seconds: z.number().positive().max(600).default(30),
    cost: ChannelCost.optional(),
    daily_budget_usd: z
      .number({ error: () => 'daily_budget_usd is a number of USD' })
      .positive({ error: () => 'daily_budget_usd must be more than 0' })
      .max(1e9)
      .optional(),
  })
  .strict()
  .superRefine((c, ctx) => costRules(c, ctx))
  .superRefine((c, ctx) => {
    if (c.provider === 'local') return;
    if (!c.base_url && (c.provider === 'ark' || c.provider === 'apimart'))
      ctx.addIssue({ code: 'custom', path: ['base_url'], message: `an ${c.provider} channel needs base_url` });
    if (!c.api_keys) ctx.addIssue({ code: 'custom', path: ['api_keys'], message: `an ${c.provider} channel needs at least one API key` });
    // Their model ids are not vidgate's names: a '*' or a list would send names they do not know.
    if ((c.provider === 'fal' || c.provider === 'replicate') && (c.models === '*' || Array.isArray(c.models))) {
      const message = `a ${c.provider} channel needs models as a map of vidgate model → ${c.provider} model id (e.g. doubao-seedance-2.0: bytedance/seedance-2.0)`;
      ctx.addIssue({ code: 'custom', path: ['models'], message });
    }
  });
export type ChannelConfig = z.infer<typeof ChannelSchema>;

/** A cost names only models the channel serves, at resolutions they offer; a budget needs a cost to count. */
function costRules(
  c: { name: string; models: '*' | readonly string[] | Partial<Record<string, string>>; cost?: z.infer<typeof ChannelCost>; daily_budget_usd?: number },
  ctx: z.RefinementCtx,
): void {
  if (c.daily_budget_usd !== undefined && !c.cost) {
    ctx.addIssue({
      code: 'custom',
      path: ['daily_budget_usd'],
      message: `channel ${c.name} has a daily_budget_usd but no cost: the budget counts the upstream cost the channel declares, so declare its cost`,
    });
  }
  if (!c.cost) return;
  const served: readonly string[] = c.models === '*' ? MODEL_IDS : Array.isArray(c.models) ? c.models : Object.keys(c.models);
  const rates = ['per_second', 'per_second_with_reference_video'] as const;
  if (rates.every((rate) => Object.keys(c.cost![rate] ?? {}).length === 0)) {
    ctx.addIssue({ code: 'custom', path: ['cost'], message: `channel ${c.name}: cost declares no rate; give per_second by model and resolution` });
  }
  for (const rate of rates) {
    for (const [model, byResolution] of Object.entries(c.cost[rate] ?? {})) {
      const path = ['cost', rate, model];
      if (!(MODEL_IDS as readonly string[]).includes(model)) {
        ctx.addIssue({ code: 'custom', path, message: `unknown model "${model}" in the cost of channel ${c.name}; the models are ${MODEL_IDS.join(', ')}` });
        continue;
      }
      if (!served.includes(model)) {
        ctx.addIssue({ code: 'custom', path, message: `channel ${c.name} declares a cost for ${model}, which it does not serve (see its models)` });
        continue;
      }
      const offered = MODELS[model as ModelId].resolutions as readonly string[];
      for (const resolution of Object.keys(byResolution)) {
        if (!(RESOLUTIONS as readonly string[]).includes(resolution)) {
          ctx.addIssue({
            code: 'custom',
            path: [...path, resolution],
            message: `unknown resolution "${resolution}" in the cost of channel ${c.name}; the resolutions are ${RESOLUTIONS.join(', ')}`,
          });
        } else if (!offered.includes(resolution)) {
          ctx.addIssue({ code: 'custom', path: [...path, resolution], message: `${model} has no ${resolution} (it offers ${offered.join(', ')})` });
        }
      }
    }
  }
}

const FileSchema = z
  .object({
    prices: z.partialRecord(z.enum(MODEL_IDS), ModelPrices).default({}),
    /** The operator's credit unit: tasks show `credits_cost` = cost in USD × this (README: Answer versions). */
    credits_per_usd: z.number().positive().max(1e9).default(1),
    /** How a task's channel is chosen (README: Configuration): by priority and weight, or the cheapest healthy one. */
    routing: z.enum(['priority', 'cost'], { error: () => 'routing must be priority or cost' }).default('priority'),
    channels: z
      .array(ChannelSchema)
      .min(1)
      .optional()
      .refine((list) => !list || new Set(list.map((c) => c.name)).size === list.length, 'channel names must be unique'),
  })
  .strict();

export interface FileConfig {
  prices: Readonly<Record<ModelId, PriceRow>>;
  creditsPerUsd: number;
  /** undefined = no file channels: one local channel serves every model. */
  channels: ChannelConfig[] | undefined;
  /** `priority` (the default): highest priority first, by weight among equals; `cost`: the cheapest healthy channel first. */
  routing: 'priority' | 'cost';
}

/** `${NAME}` → process.env.NAME; an unset variable is an error, not an empty string. */
export function substituteEnv(text: string, env: NodeJS.ProcessEnv): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
    const value = env[name];
    if (value === undefined) throw new ConfigError(`the configuration file uses \${${name}}, but ${name} is not set`);
    return value;
  });
}

function toMicros(row: Partial<Record<string, number>> | undefined): Partial<Record<string, number>> {
  return Object.fromEntries(Object.entries(row ?? {}).map(([resolution, usd]) => [resolution, usdToMicros(usd ?? 0)]));
}

export function parseFileConfig(text: string, path: string, env: NodeJS.ProcessEnv = process.env): FileConfig {
  let raw: unknown;
  try {
    raw = path.endsWith('.json') ? JSON.parse(substituteEnv(text, env)) : parseYaml(substituteEnv(text, env));
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`${path} is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}`);
  }
  const parsed = FileSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`).join('; ');
    throw new ConfigError(`${path}: ${problems}`);
  }
  const prices = { ...DEFAULT_PRICES } as Record<ModelId, PriceRow>;
  for (const [model, override] of Object.entries(parsed.data.prices) as Array<[ModelId, z.infer<typeof ModelPrices>]>) {
    prices[model] = {
      perSecond: { ...DEFAULT_PRICES[model].perSecond, ...toMicros(override.per_second) },
      perSecondWithVideo: { ...DEFAULT_PRICES[model].perSecondWithVideo, ...toMicros(override.per_second_with_reference_video) },
    };
  }
  return { prices, creditsPerUsd: parsed.data.credits_per_usd, channels: parsed.data.channels, routing: parsed.data.routing };
}

export async function loadFileConfig(path: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<FileConfig> {
  if (!path) return { prices: DEFAULT_PRICES, creditsPerUsd: 1, channels: undefined, routing: 'priority' };
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read VIDGATE_CONFIG ${path}: ${(err as Error).message}`);
  }
  return parseFileConfig(text, path, env);
}
