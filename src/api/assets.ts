import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { badRequest, notFound } from './api-error.js';
import { ErrorResponse } from '../contract/task-view.js';
import { AssetTaskObject } from '../contract/asset-view.js';
import { toAssetTaskObject } from '../assets/asset-task-object.js';
import type { AssetGroupSummary, AssetRecord } from '../store/types.js';
import { type ApiContext, publicBase } from './context.js';
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

const AssetFields = z.object({
  id: z.string(),
  url: z.string(),
  name: z.string(),
  type: z.enum(['Image', 'Video', 'Audio']),
  status: z.enum(['pending', 'active', 'failed']),
  reason: z.string().optional(),
  group_id: z.string(),
  project_name: z.string(),
  created: z.number().int(),
});
/** An asset as GET /v1/assets lists it (a vidgate route: APIMart has no asset listing). */
const AssetView = AssetFields.extend({
  review_id: z.string().meta({ description: 'the review task that checked it: GET /v1/tasks/{review_id}' }),
  preview_url: z.string().nullable().meta({
    description:
      'signed URL of the reviewed copy vidgate keeps (no key needed; valid at least 72 h, like upload URLs); null unless the asset is active and its copy is still stored',
  }),
}).meta({ id: 'Asset' });

const AssetGroupView = z
  .object({
    id: z.string().meta({ examples: ['group_01KMCGF6BQGN3X28H3KSR50X5T'] }),
    name: z.string(),
    description: z.string().meta({ description: "as submitted; '' when none was" }),
    project_name: z.string().nullable().meta({ description: 'the project_name of the submit that made the group; null when it gave none' }),
    created_at: z.number().int().meta({ description: 'unix seconds' }),
    counts: z
      .object({ approved: z.number().int(), failed: z.number().int(), pending: z.number().int() })
      .meta({ description: "the group's assets that are not deleted, by review outcome (approved is `active` in GET /v1/assets)" }),
  })
  .meta({ id: 'AssetGroup', description: 'vidgate extension' });

const limitRule = 'limit must be an integer from 1 to 100';
const PageQuery = z.object({
  limit: z.coerce
    .number({ error: () => limitRule })
    .int({ error: () => limitRule })
    .min(1, { error: () => limitRule })
    .max(100, { error: () => limitRule })
    .default(20),
  after: z
    .string({ error: () => 'after must be an id' })
    .max(64, { error: () => 'after must be an id of at most 64 characters' })
    .optional()
    .meta({ description: 'cursor: `next_after` of the previous page; the page then holds older ones' }),
});
const pageOf = <T>(items: readonly T[], limit: number, id: (item: T) => string) => {
  const page = items.slice(0, limit);
  const hasMore = items.length > limit;
  return { page, has_more: hasMore, next_after: hasMore ? id(page[page.length - 1]!) : null };
};

const TYPE_NAME = { image: 'Image', video: 'Video', audio: 'Audio' } as const;
/** The fields every asset view shares (GET /admin/v1/accounts/{id}/assets shows only these). */
export const assetView = (a: AssetRecord): z.infer<typeof AssetFields> => ({
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

const groupView = (g: AssetGroupSummary): z.infer<typeof AssetGroupView> => ({
  id: g.id,
  name: g.name,
  description: g.description,
  project_name: g.projectName,
  created_at: Math.floor(g.createdAt / 1000),
  counts: g.counts,
});

const nameFrom = (url: string) => decodeURIComponent(new URL(url).pathname.split('/').pop() || 'asset').slice(0, 200);

export const assetRoutes =
  (ctx: Pick<ApiContext, 'assets' | 'publicUrl' | 'store'>): FastifyPluginAsyncZod =>
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
        const base = publicBase(ctx, request);
        const data = await Promise.all(
          page.map(async (a) => {
            const preview = await ctx.assets.previewPath(a);
            return { ...assetView(a), review_id: a.reviewId, preview_url: preview === null ? null : base + preview };
          }),
        );
        return { code: 200 as const, data, has_more: assets.length > limit, next_after: assets.length > limit ? page.at(-1)!.id : null };
      },
    );

    app.get(
      '/v1/asset-reviews',
      {
        schema: {
          summary: "The caller's asset reviews, newest first (vidgate extension)",
          description: 'Each is the review task exactly as `GET /v1/tasks/{id}` answers it. Pass `next_after` as `after` for the next page.',
          tags: ['assets'],
          security: [{ bearer: [] }],
          querystring: PageQuery,
          response: {
            200: z.object({
              code: z.literal(200),
              data: z.array(AssetTaskObject),
              has_more: z.boolean(),
              next_after: z.string().nullable().meta({ description: 'pass as `after` for the next page' }),
            }),
            400: ErrorResponse,
            401: ErrorResponse,
          },
        },
      },
      async (request) => {
        const { limit, after } = request.query;
        const reviews = await ctx.store.listAssetReviews(callerOf(request).accountId, limit + 1, after);
        const { page, ...paging } = pageOf(reviews, limit, (r) => r.id);
        const assets = await ctx.store.listAssetsOfReviews(page.map((r) => r.id));
        const byReview = new Map<string, AssetRecord[]>();
        for (const a of assets) byReview.set(a.reviewId, [...(byReview.get(a.reviewId) ?? []), a]);
        return { code: 200 as const, data: page.map((r) => toAssetTaskObject(r, byReview.get(r.id) ?? [])), ...paging };
      },
    );

    app.get(
      '/v1/asset-groups',
      {
        schema: {
          summary: "The caller's asset groups, newest first, with their assets counted (vidgate extension)",
          description: 'A group is made by `POST /v1/seedance2/private-avatar` with `group`; pass its id as `group_id` to add to it.',
          tags: ['assets'],
          security: [{ bearer: [] }],
          querystring: PageQuery,
          response: {
            200: z.object({
              code: z.literal(200),
              data: z.array(AssetGroupView),
              has_more: z.boolean(),
              next_after: z.string().nullable().meta({ description: 'pass as `after` for the next page' }),
            }),
            400: ErrorResponse,
            401: ErrorResponse,
          },
        },
      },
      async (request) => {
        const { limit, after } = request.query;
        const groups = await ctx.store.listAssetGroups(callerOf(request).accountId, limit + 1, after);
        const { page, ...paging } = pageOf(groups, limit, (g) => g.id);
        return { code: 200 as const, data: page.map(groupView), ...paging };
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
