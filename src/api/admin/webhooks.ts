import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ApiError, notFound } from '../api-error.js';
import { ErrorResponse } from '../../contract/task-view.js';
import { WebhookDeliveryView } from '../../webhooks/views.js';
import type { ApiContext } from '../context.js';

const unix = (ms: number | null) => (ms === null ? null : Math.floor(ms / 1000));
const AccountParams = z.object({ account_id: z.string().max(64) });
const LogQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  after: z.coerce.number().int().min(1).optional().meta({ description: 'cursor: `next_after` of the previous page' }),
  state: z.enum(['pending', 'delivered', 'failed']).optional(),
  task_id: z.string().max(64).optional(),
});
const LogResponse = z.object({
  code: z.literal(200),
  data: z.array(WebhookDeliveryView),
  has_more: z.boolean(),
  next_after: z.number().int().nullable(),
});
const SecretState = z.object({
  exists: z.boolean(),
  created_at: z.number().int().nullable(),
  previous_valid_until: z.number().int().nullable().meta({ description: 'while a rotation overlaps, the old secret still signs until then' }),
});

export const adminWebhookRoutes =
  (ctx: Pick<ApiContext, 'store' | 'webhooks'>): FastifyPluginAsyncZod =>
  async (app) => {
    const tags = ['admin', 'webhooks'];
    const accountMustExist = async (id: string) => {
      if (!(await ctx.store.getAccount(id))) throw notFound(`account ${id} was not found`);
    };
    const page = async (query: z.infer<typeof LogQuery> & { accountId?: string; taskId?: string }) => {
      const rows = await ctx.webhooks.log({
        accountId: query.accountId,
        taskId: query.taskId ?? query.task_id,
        state: query.state,
        before: query.after,
        limit: query.limit + 1,
      });
      const data = rows.slice(0, query.limit);
      const hasMore = rows.length > query.limit;
      const last = hasMore ? await ctx.store.getWebhookDelivery(data[data.length - 1]!.id) : null;
      return { code: 200 as const, data, has_more: hasMore, next_after: last?.seq ?? null };
    };

    app.post(
      '/accounts/:account_id/webhook-secret',
      {
        schema: {
          summary: "Create or rotate the account's webhook signing secret; the secret is in this answer only",
          description:
            'Signatures follow Standard Webhooks. After a rotation the old secret keeps signing beside the new one for 24 h ' +
            '(`webhook-signature` then carries two `v1,` values) unless `expire_previous=true`.',
          tags,
          params: AccountParams,
          querystring: z.object({ expire_previous: z.enum(['true', 'false']).default('false') }),
          response: {
            200: z.object({ code: z.literal(200), data: SecretState.extend({ secret: z.string().meta({ examples: ['whsec_…'] }) }) }),
            404: ErrorResponse,
          },
        },
      },
      async (request) => {
        await accountMustExist(request.params.account_id);
        const held = await ctx.webhooks.secrets.rotate(request.params.account_id, { expirePrevious: request.query.expire_previous === 'true' });
        return {
          code: 200 as const,
          data: { secret: held.secret, exists: true, created_at: unix(held.createdAt), previous_valid_until: held.previous ? unix(held.previousUntil) : null },
        };
      },
    );

    app.get(
      '/accounts/:account_id/webhook-secret',
      {
        schema: {
          summary: 'Whether the account has a webhook secret (never the secret itself)',
          tags,
          params: AccountParams,
          response: { 200: z.object({ code: z.literal(200), data: SecretState }), 404: ErrorResponse },
        },
      },
      async (request) => {
        await accountMustExist(request.params.account_id);
        const state = await ctx.webhooks.secrets.describe(request.params.account_id);
        return { code: 200 as const, data: { exists: state.exists, created_at: unix(state.createdAt), previous_valid_until: unix(state.previousUntil) } };
      },
    );

    app.get(
      '/accounts/:account_id/webhook-deliveries',
      {
        schema: {
          summary: "An account's webhook deliveries with every attempt, newest first",
          tags,
          params: AccountParams,
          querystring: LogQuery,
          response: { 200: LogResponse, 404: ErrorResponse },
        },
      },
      async (request) => {
        await accountMustExist(request.params.account_id);
        return page({ ...request.query, accountId: request.params.account_id });
      },
    );

    app.get(
      '/tasks/:task_id/webhook-deliveries',
      {
        schema: {
          summary: "A task's webhook deliveries with every attempt, newest first",
          tags,
          params: z.object({ task_id: z.string().max(64) }),
          querystring: LogQuery.omit({ task_id: true }),
          response: { 200: LogResponse, 404: ErrorResponse },
        },
      },
      async (request) => {
        if (!(await ctx.store.getTask(request.params.task_id))) throw notFound(`task ${request.params.task_id} was not found`);
        return page({ ...request.query, taskId: request.params.task_id });
      },
    );

    app.get(
      '/webhook-deliveries',
      {
        schema: {
          summary: 'Every webhook delivery of the service with every attempt, newest first',
          description: 'The log of all accounts (or the one `account_id` names); `POST /webhook-deliveries/{id}/retry` sends one again.',
          tags,
          querystring: LogQuery.extend({ account_id: z.string().max(64).optional().meta({ description: 'only this account' }) }),
          response: { 200: LogResponse, 400: ErrorResponse, 401: ErrorResponse, 404: ErrorResponse },
        },
      },
      async (request) => {
        const { account_id: accountId, ...query } = request.query;
        if (accountId !== undefined) await accountMustExist(accountId);
        return page({ ...query, accountId });
      },
    );

    app.get(
      '/webhook-deliveries/:delivery_id',
      {
        schema: {
          summary: 'One webhook delivery with every attempt, as the lists show it',
          tags,
          params: z.object({
            delivery_id: z
              .string()
              .max(64)
              .meta({ examples: ['msg_2f0c…'] }),
          }),
          response: { 200: z.object({ code: z.literal(200), data: WebhookDeliveryView }), 401: ErrorResponse, 404: ErrorResponse },
        },
      },
      async (request) => {
        const delivery = await ctx.webhooks.one(request.params.delivery_id);
        if (!delivery) throw notFound(`webhook delivery ${request.params.delivery_id} was not found`);
        return { code: 200 as const, data: delivery };
      },
    );

    app.post(
      '/webhook-deliveries/:delivery_id/retry',
      {
        schema: {
          summary: 'Send a delivered or given-up delivery again (same webhook-id, a fresh signature)',
          tags,
          params: z.object({ delivery_id: z.string().max(64) }),
          response: { 200: z.object({ code: z.literal(200), data: WebhookDeliveryView }), 404: ErrorResponse, 409: ErrorResponse },
        },
      },
      async (request) => {
        const id = request.params.delivery_id;
        const delivery = await ctx.webhooks.one(id);
        if (!delivery) throw notFound(`webhook delivery ${id} was not found`);
        if (!(await ctx.webhooks.redeliver(id))) throw new ApiError(409, `webhook delivery ${id} is still pending: it will be tried at next_attempt_at`);
        return { code: 200 as const, data: (await ctx.webhooks.one(id))! };
      },
    );
  };
