import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { MODEL_ALIASES, MODELS, type ModelId } from '../contract/models.js';
import { microsToUsd } from '../contract/prices.js';
import { SIZES } from '../contract/sizes.js';
import type { PriceBook } from '../billing/price-book.js';
import { ErrorResponse } from '../contract/task-view.js';

const ModelList = z
  .object({
    code: z.literal(200),
    data: z.array(
      z.object({
        id: z.string(),
        aliases: z.array(z.string()),
        description: z.string(),
        resolutions: z.array(z.string()),
        durations: z.object({ min: z.number(), max: z.number(), default: z.number() }),
        sizes: z.array(z.string()),
        features: z.object({ asset_urls: z.boolean(), prompt_limit: z.number().nullable() }),
        pricing: z.object({
          unit: z.literal('USD per second of output'),
          per_second: z.record(z.string(), z.number()),
          per_second_with_reference_video: z.record(z.string(), z.number()).meta({ description: 'billed on input video seconds + output seconds' }),
        }),
      }),
    ),
  })
  .meta({ id: 'ModelList' });

const usdRow = (row: Partial<Record<string, number>>) =>
  Object.fromEntries(Object.entries(row).map(([resolution, micros]) => [resolution, microsToUsd(micros ?? 0)]));

export const modelRoutes = (prices: PriceBook): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/v1/models',
      { schema: { summary: 'Models with their capabilities and prices', tags: ['models'], security: [{ bearer: [] }], response: { 200: ModelList, 401: ErrorResponse } } },
      async () => ({
        code: 200 as const,
        data: (Object.keys(MODELS) as ModelId[]).map((id) => {
          const spec = MODELS[id];
          const row = prices.table[id];
          return {
            id,
            aliases: Object.entries(MODEL_ALIASES).filter(([, target]) => target === id).map(([alias]) => alias),
            description: spec.description,
            resolutions: [...spec.resolutions],
            durations: { min: 4, max: 15, default: 5 },
            sizes: [...SIZES],
            features: { asset_urls: spec.assetUrls, prompt_limit: spec.promptLimit },
            pricing: { unit: 'USD per second of output' as const, per_second: usdRow(row.perSecond), per_second_with_reference_video: usdRow(row.perSecondWithVideo) },
          };
        }),
      }),
    );
  };
