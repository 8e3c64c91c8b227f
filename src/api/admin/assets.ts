import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { notFound } from '../api-error.js';
import type { ApiContext } from '../context.js';
import { assetView } from '../assets.js';

export const adminAssetRoutes =
  (ctx: Pick<ApiContext, 'assets' | 'store'>): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/accounts/:account_id/assets',
      {
        schema: {
          summary: "An account's assets",
          tags: ['admin'],
          params: z.object({ account_id: z.string().max(64) }),
          querystring: z.object({ limit: z.coerce.number().int().min(1).max(500).default(100), after: z.string().max(64).optional() }),
        },
      },
      async (request) => ({
        code: 200 as const,
        data: (await ctx.store.listAssets(request.params.account_id, request.query.limit, request.query.after)).map(assetView),
      }),
    );

    app.delete(
      '/assets/:asset_id',
      { schema: { summary: 'Delete any account’s asset', tags: ['admin'], params: z.object({ asset_id: z.string().max(64) }) } },
      async (request) => {
        const asset = await ctx.store.getAsset(request.params.asset_id);
        if (!asset || !(await ctx.assets.remove(asset.accountId, asset.id))) throw notFound(`asset ${request.params.asset_id} was not found`);
        return { code: 200 as const, data: { id: asset.id, deleted: true } };
      },
    );
  };
