import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { MODEL_IDS, RESOLUTIONS, type ModelId } from '../contract/models.js';
import { DEFAULT_PRICES, usdToMicros, type PriceRow } from '../contract/prices.js';
import { ConfigError } from './env.js';

/**
 * The optional configuration file (`VIDGATE_CONFIG`, YAML or JSON; `${NAME}` is replaced by the
 * environment variable NAME). Everything in it has a default, so the sandbox needs no file.
 */
const usdPerSecond = z.number().min(0).max(1000);
const ResolutionPrices = z.partialRecord(z.enum(RESOLUTIONS), usdPerSecond);
const ModelPrices = z
  .object({ per_second: ResolutionPrices.optional(), per_second_with_reference_video: ResolutionPrices.optional() })
  .strict();

const FileSchema = z
  .object({
    prices: z.partialRecord(z.enum(MODEL_IDS), ModelPrices).default({}),
    channels: z.array(z.unknown()).optional(),
  })
  .strict();

export interface FileConfig {
  prices: Readonly<Record<ModelId, PriceRow>>;
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
  if (parsed.data.channels?.length) {
    throw new ConfigError(`${path}: channels are not supported by this version yet; every model is served by the local renderer`);
  }
  const prices = { ...DEFAULT_PRICES } as Record<ModelId, PriceRow>;
  for (const [model, override] of Object.entries(parsed.data.prices) as Array<[ModelId, z.infer<typeof ModelPrices>]>) {
    prices[model] = {
      perSecond: { ...DEFAULT_PRICES[model].perSecond, ...toMicros(override.per_second) },
      perSecondWithVideo: { ...DEFAULT_PRICES[model].perSecondWithVideo, ...toMicros(override.per_second_with_reference_video) },
    };
  }
  return { prices };
}

export async function loadFileConfig(path: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<FileConfig> {
  if (!path) return { prices: DEFAULT_PRICES };
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read VIDGATE_CONFIG ${path}: ${(err as Error).message}`);
  }
  return parseFileConfig(text, path, env);
}
