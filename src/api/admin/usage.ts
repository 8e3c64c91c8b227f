import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { notFound } from '../api-error.js';
import { ErrorResponse } from '../../contract/task-view.js';
import { AdminUsageView, adminUsageAnswer, UsageRangeQuery, usageRange } from '../../contract/usage-view.js';
import type { ApiContext } from '../context.js';

export const adminUsageRoutes =
  (ctx: Pick<ApiContext, 'clock' | 'store'>): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/usage',
      {
        schema: {
          summary: 'Usage and spend of the whole service, or of one account, over a range of days',
          description:
            'The answer of `GET /v1/usage`, for every account (or the one `account_id` names), also grouped by account (the key is ' +
            'the account id) or by channel (the channel that holds or finished the task). Each bucket and the total also carry the ' +
            'operator’s own figures, which `GET /v1/usage` never shows: `upstream_cost` (what the upstreams charged for the completed ' +
            'tasks, by the cost their channels declare) and `margin` (price charged minus that cost, summed).',
          tags: ['admin'],
          security: [{ admin: [] }],
          querystring: z.object({
            ...UsageRangeQuery,
            group_by: z.enum(['day', 'model', 'account', 'channel'], { error: () => 'group_by must be day, model, account or channel' }).default('day'),
            account_id: z.string().max(64).optional().meta({ description: 'only this account' }),
          }),
          response: { 200: z.object({ code: z.literal(200), data: AdminUsageView }), 400: ErrorResponse, 401: ErrorResponse, 404: ErrorResponse },
        },
      },
      async (request) => {
        const { account_id: accountId, group_by: groupBy } = request.query;
        const range = usageRange(request.query, ctx.clock());
        let balanceMicros: number | null;
        if (accountId === undefined) balanceMicros = await ctx.store.limitedBalanceMicros();
        else {
          const account = await ctx.store.getAccount(accountId);
          if (!account) throw notFound(`account ${accountId} was not found`);
          balanceMicros = account.unlimited ? null : account.balanceMicros;
        }
        const buckets = await ctx.store.usage({ accountId, from: range.start, until: range.end, groupBy });
        return { code: 200 as const, data: adminUsageAnswer({ accountId: accountId ?? null, range, groupBy, balanceMicros, buckets }) };
      },
    );
  };
