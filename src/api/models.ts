import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { MODEL_ALIASES, MODEL_IDS, MODELS, resolveModel, type ModelId, type ModelSpec } from '../contract/models.js';
import { microsToUsd } from '../contract/prices.js';
import { SIZES } from '../contract/sizes.js';
import { ApiError, badRequest } from './api-error.js';
import { modelDocMarkdown } from '../contract/model-docs.js';
import { MODEL_OPERATIONS, modelInputSchema } from '../contract/model-schema.js';
import { ErrorResponse } from '../contract/task-view.js';
import { publicBase, type ApiContext } from './context.js';

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

const ModelDocumentation = z
  .object({
    object: z.literal('model.documentation'),
    model: z.string().meta({ description: 'the name asked for: a model id or one of its aliases' }),
    doc_url: z.string().meta({ description: 'this document as JSON, on this server' }),
    markdown_url: z.string().meta({ description: 'the Markdown alone (text/markdown), on this server' }),
    markdown: z.string().meta({ description: "the model's parameter reference, generated from the rules and prices this server enforces" }),
    fetched_at: z.number().int().meta({ description: 'when the Markdown was generated, unix seconds' }),
    cache_ttl_seconds: z.number().int().meta({ description: 'how long a client may keep it' }),
    stale: z.boolean().meta({ description: 'always false: the document is generated, never served from an outdated copy' }),
  })
  .meta({ id: 'ModelDocumentation' });

const ModelSchema = z
  .object({
    model: z.string().meta({ description: 'the name asked for: a model id or one of its aliases' }),
    operation: z.enum(MODEL_OPERATIONS),
    input_schema: z
      .record(z.string(), z.unknown())
      .meta({ description: 'JSON Schema (draft 2020-12) of the submit body without "model", narrowed to this model' }),
  })
  .meta({ id: 'ModelSchema' });

const ModelQuery = z.object({
  model: z.string().optional().meta({ description: 'a model id or alias, e.g. doubao-seedance-2.0' }),
});

/**
 * The docs only change when the operator restarts with other prices; an hour keeps clients from
 * asking on every request while a restart with new prices shows within the hour.
 */
export const MODEL_DOCS_CACHE_TTL_SECONDS = 3600;

const ACCEPTED_NAMES = [...MODEL_IDS, ...Object.keys(MODEL_ALIASES)];

function modelAsked(name: string | undefined): ModelSpec {
  if (!name) throw badRequest(`model is required: one of ${ACCEPTED_NAMES.join(', ')}`, 'model');
  const spec = resolveModel(name);
  if (!spec) throw new ApiError(404, `model "${name}" was not found: use one of ${ACCEPTED_NAMES.join(', ')}`, { param: 'model' });
  return spec;
}

const usdRow = (row: Partial<Record<string, number>>) =>
  Object.fromEntries(Object.entries(row).map(([resolution, micros]) => [resolution, microsToUsd(micros ?? 0)]));

export const modelRoutes =
  (ctx: Pick<ApiContext, 'clock' | 'prices' | 'publicUrl'>): FastifyPluginAsyncZod =>
  async (app) => {
    const prices = ctx.prices;
    const markdownFor = (name: string, spec: ModelSpec, baseUrl: string) => modelDocMarkdown({ name, spec, prices: prices.table[spec.id], baseUrl });

    app.get(
      '/v1/model-docs',
      {
        schema: {
          summary: "A model's parameter reference (Markdown in JSON)",
          tags: ['models'],
          security: [{ bearer: [] }],
          querystring: ModelQuery,
          response: { 200: ModelDocumentation, 400: ErrorResponse, 401: ErrorResponse, 404: ErrorResponse },
        },
      },
      async (request, reply) => {
        const name = request.query.model;
        const spec = modelAsked(name);
        const base = publicBase(ctx, request);
        const path = encodeURIComponent(name!);
        reply.header('cache-control', `private, max-age=${MODEL_DOCS_CACHE_TTL_SECONDS}`);
        return {
          object: 'model.documentation' as const,
          model: name!,
          doc_url: `${base}/v1/model-docs?model=${path}`,
          markdown_url: `${base}/v1/model-docs/${path}.md`,
          markdown: markdownFor(name!, spec, base),
          fetched_at: Math.floor(ctx.clock() / 1000),
          cache_ttl_seconds: MODEL_DOCS_CACHE_TTL_SECONDS,
          stale: false,
        };
      },
    );

    app.get(
      '/v1/model-docs/:file',
      {
        schema: {
          summary: "A model's parameter reference as text/markdown",
          tags: ['models'],
          security: [{ bearer: [] }],
          params: z.object({ file: z.string().meta({ description: 'the model id or alias followed by .md, e.g. doubao-seedance-2.0.md' }) }),
          response: {
            200: { description: 'the Markdown of GET /v1/model-docs', content: { 'text/markdown': { schema: z.string() } } },
            401: ErrorResponse,
            404: ErrorResponse,
          },
        },
      },
      async (request, reply) => {
        const { file } = request.params;
        if (!file.endsWith('.md')) throw new ApiError(404, `no route GET /v1/model-docs/${file}: ask for /v1/model-docs/<model>.md`);
        const name = file.slice(0, -'.md'.length);
        const spec = modelAsked(name);
        return reply
          .type('text/markdown; charset=utf-8')
          .header('cache-control', `private, max-age=${MODEL_DOCS_CACHE_TTL_SECONDS}`)
          .send(markdownFor(name, spec, publicBase(ctx, request)));
      },
    );

    app.get(
      '/v1/model-schema',
      {
        schema: {
          summary: "A model's input JSON Schema",
          tags: ['models'],
          security: [{ bearer: [] }],
          querystring: ModelQuery.extend({
            operation: z
              .string()
              .optional()
              .meta({ description: `what the schema is for; only ${MODEL_OPERATIONS.join(', ')} (the default)` }),
          }),
          response: { 200: ModelSchema, 400: ErrorResponse, 401: ErrorResponse, 404: ErrorResponse },
        },
      },
      async (request) => {
        const { model: name, operation = 'video_generation' } = request.query;
        const spec = modelAsked(name);
        if (!(MODEL_OPERATIONS as readonly string[]).includes(operation)) {
          throw badRequest(`operation "${operation}" is not supported: use ${MODEL_OPERATIONS.join(', ')}`, 'operation');
        }
        return { model: name!, operation: 'video_generation' as const, input_schema: modelInputSchema(spec) };
      },
    );

    app.get(
      '/v1/models',
      {
        schema: {
          summary: 'Models with their capabilities and prices',
          tags: ['models'],
          security: [{ bearer: [] }],
          response: { 200: ModelList, 401: ErrorResponse },
        },
      },
      async () => ({
        code: 200 as const,
        data: (Object.keys(MODELS) as ModelId[]).map((id) => {
          const spec = MODELS[id];
          const row = prices.table[id];
          return {
            id,
            aliases: Object.entries(MODEL_ALIASES)
              .filter(([, target]) => target === id)
              .map(([alias]) => alias),
            description: spec.description,
            resolutions: [...spec.resolutions],
            durations: { min: 4, max: 15, default: 5 },
            sizes: [...SIZES],
            features: { asset_urls: spec.assetUrls, prompt_limit: spec.promptLimit },
            pricing: {
              unit: 'USD per second of output' as const,
              per_second: usdRow(row.perSecond),
              per_second_with_reference_video: usdRow(row.perSecondWithVideo),
            },
          };
        }),
      }),
    );
  };
