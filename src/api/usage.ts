import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ErrorResponse } from '../contract/task-view.js';
import { UsageRangeQuery, UsageView, usageAnswer, usageRange } from '../contract/usage-view.js';
import type { ApiContext } from './context.js';
import { callerOf } from './auth.js';

export const usageRoutes =
  (ctx: Pick<ApiContext, 'clock' | 'store'>): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/v1/usage',
      {
        schema: {
          summary: "The account's usage and spend over a range of days",
          description:
            'Tasks of the calling key’s account created in the range, counted by UTC day of creation or by model, with what they ' +
            'cost (see `spent`). By day, every day of the range is listed, zeros included.',
          tags: ['balance'],
          security: [{ bearer: [] }],
          querystring: z.object({
            ...UsageRangeQuery,
            group_by: z.enum(['day', 'model'], { error: () => 'group_by must be day or model' }).default('day'),
          }),
          response: { 200: z.object({ code: z.literal(200), data: UsageView }), 400: ErrorResponse, 401: ErrorResponse },
        },
      },
      async (request) => {
        const { accountId } = callerOf(request);
        const range = usageRange(request.query, ctx.clock());
        const [account, buckets] = await Promise.all([
          ctx.store.getAccount(accountId),
          ctx.store.usage({ accountId, from: range.start, until: range.end, groupBy: request.query.group_by }),
        ]);
        return {
          code: 200 as const,
          data: usageAnswer({
            accountId,
            range,
            groupBy: request.query.group_by,
            balanceMicros: account!.unlimited ? null : account!.balanceMicros,
            buckets,
          }),
        };
      },
    );
  };
