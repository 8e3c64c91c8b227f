import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { badRequest, notFound } from './api-error.js';
import { ErrorResponse } from '../contract/task-view.js';
import type { AssetRecord } from '../store/types.js';
import type { ApiContext } from './context.js';
import { callerOf } from './auth.js';

const KINDS = { Image: 'image', Video: 'video', Audio: 'audio' } as const;
const httpUrl = z
  .string()
  .max(4096)
  .refine((u) => /^https?:\/\//i.test(u), { error: 'asset URLs must be http(s) URLs' });

const ReviewBody = z
  .object({
    group: z.object({ name: z.string().min(1).max(200), description: z.string().max(2000).default('') }).optional(),
    group_id: z.string().max(64).optional(),
    project_name: z.string().max(200).default(''),
    asset_type: z.enum(['Image', 'Video', 'Audio'], { error: () => 'asset_type must be Image, Video or Audio' }),
    assets: z
      .array(z.object({ url: httpUrl, name: z.string().min(1).max(200).optional() }), { error: () => 'assets must be an array of {url, name}' })
      .min(1, { error: () => 'assets needs at least one entry' })
      .max(20, { error: () => 'assets allows at most 20 entries' })
      .optional(),
    url: httpUrl.optional(),
    name: z.string().min(1).max(200).optional(),
  })
  .meta({ id: 'AssetReviewRequest' });

const AssetView = z
  .object({
    id: z.string(),
    url: z.string(),
    name: z.string(),
    type: z.enum(['Image', 'Video', 'Audio']),
    status: z.enum(['pending', 'active', 'failed']),
    reason: z.string().optional(),
    group_id: z.string(),
    project_name: z.string(),
    created: z.number().int(),
  })
  .meta({ id: 'Asset' });

const TYPE_NAME = { image: 'Image', video: 'Video', audio: 'Audio' } as const;
export const assetView = (a: AssetRecord): z.infer<typeof AssetView> => ({
  id: a.id,
  url: `asset://${a.id}`,
  name: a.name,
  type: TYPE_NAME[a.kind],
  status: a.status === 'approved' ? 'active' : a.status,
  ...(a.reason ? { reason: a.reason } : {}),
  group_id: a.groupId,
  project_name: a.projectName,
  created: Math.floor(a.createdAt / 1000),
});

const nameFrom = (url: string) => decodeURIComponent(new URL(url).pathname.split('/').pop() || 'asset').slice(0, 200);

export const assetRoutes =
  (ctx: Pick<ApiContext, 'assets' | 'store'>): FastifyPluginAsyncZod =>
  async (app) => {
    app.post(
      '/v1/seedance2/private-avatar',
      {
        config: { rateBucket: 'create' },
        schema: {
          summary: 'Submit assets for review; poll the returned task at GET /v1/tasks/{id}',
          tags: ['assets'],
          security: [{ bearer: [] }],
          body: ReviewBody,
          response: {
            200: z.object({
              code: z.literal(200),
              data: z.object({ id: z.string(), object: z.string(), status: z.string(), progress: z.number(), model: z.string() }),
            }),
            400: ErrorResponse,
          },
        },
      },
      async (request) => {
        const caller = callerOf(request);
        const body = request.body;
        if (!body.group === !body.group_id) throw badRequest('send either group {name, description} or group_id', body.group ? 'group_id' : 'group');
        if (body.group_id) {
          const group = await ctx.store.getAssetGroup(body.group_id);
          if (!group || group.accountId !== caller.accountId) throw badRequest(`group_id ${body.group_id} was not found`, 'group_id');
        }
        if (!body.assets === !body.url) throw badRequest('send either assets [{url, name}] or a single url', body.assets ? 'url' : 'assets');
        const items = body.assets ?? [{ url: body.url!, name: body.name }];
        const review = await ctx.assets.submitReview({
          accountId: caller.accountId,
          group: body.group_id ? { id: body.group_id } : { name: body.group!.name, description: body.group!.description },
          projectName: body.project_name,
          kind: KINDS[body.asset_type],
          assets: items.map((a) => ({ url: a.url, name: a.name ?? nameFrom(a.url) })),
        });
        return {
          code: 200 as const,
          data: { id: review.id, object: 'seedance.avatar.asset.task', status: 'processing', progress: 10, model: 'doubao-seedance-2.0' },
        };
      },
    );

    app.get(
      '/v1/assets',
      {
        schema: {
          summary: "The caller's assets",
          tags: ['assets'],
          security: [{ bearer: [] }],
          querystring: z.object({ limit: z.coerce.number().int().min(1).max(100).default(50), after: z.string().max(64).optional() }),
          response: { 200: z.object({ code: z.literal(200), data: z.array(AssetView), has_more: z.boolean(), next_after: z.string().nullable() }) },
        },
      },
      async (request) => {
        const { limit, after } = request.query;
        const assets = await ctx.store.listAssets(callerOf(request).accountId, limit + 1, after);
        const page = assets.slice(0, limit);
        return { code: 200 as const, data: page.map(assetView), has_more: assets.length > limit, next_after: assets.length > limit ? page.at(-1)!.id : null };
      },
    );

    app.delete(
      '/v1/assets/:asset_id',
      {
        schema: {
          summary: 'Delete an asset; tasks that have not started yet can no longer use it',
          tags: ['assets'],
          security: [{ bearer: [] }],
          params: z.object({ asset_id: z.string().max(64) }),
          response: { 200: z.object({ code: z.literal(200), data: z.object({ id: z.string(), deleted: z.literal(true) }) }), 404: ErrorResponse },
        },
      },
      async (request) => {
        const { asset_id } = request.params;
        if (!(await ctx.assets.remove(callerOf(request).accountId, asset_id))) throw notFound(`asset ${asset_id} was not found`);
        return { code: 200 as const, data: { id: asset_id, deleted: true as const } };
      },
    );
  };
