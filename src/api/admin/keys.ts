import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { notFound } from '../api-error.js';
import { usdToMicros } from '../../contract/prices.js';
import { ErrorResponse } from '../../contract/task-view.js';
import { CallbackUrl } from '../../contract/submit.js';
import { addKey } from '../../auth/keys.js';
import type { KeyLimits } from '../../store/types.js';
import type { ApiContext } from '../context.js';
import { KeyView, keyView } from './views.js';

const Limits = {
  spend_cap: z.number().min(0).max(1e9).nullable().optional().meta({ description: 'USD this key may spend in all; null = no cap' }),
  rpm_limit: z.number().int().min(1).max(1_000_000).nullable().optional().meta({ description: 'requests per minute; null = default' }),
  in_flight_limit: z.number().int().min(1).max(1_000_000).nullable().optional().meta({ description: 'unfinished tasks at once; null = default' }),
};
type LimitsBody = { spend_cap?: number | null; rpm_limit?: number | null; in_flight_limit?: number | null };

/** Only the limits the body names; null clears one. */
function limitsFrom(body: LimitsBody): Partial<KeyLimits> {
  const limits: Partial<KeyLimits> = {};
  if (body.spend_cap !== undefined) limits.spendCapMicros = body.spend_cap === null ? null : usdToMicros(body.spend_cap);
  if (body.rpm_limit !== undefined) limits.rpmLimit = body.rpm_limit;
  if (body.in_flight_limit !== undefined) limits.inFlightLimit = body.in_flight_limit;
  return limits;
}

export const adminKeyRoutes =
  (ctx: Pick<ApiContext, 'clock' | 'keyCache' | 'store'>): FastifyPluginAsyncZod =>
  async (app) => {
    const tags = ['admin'];

    app.post(
      '/accounts/:account_id/keys',
      {
        schema: {
          summary: 'Create an API key; the secret is in this answer only',
          tags,
          params: z.object({ account_id: z.string().max(64) }),
          body: z.object({
            name: z.string().min(1).max(200).default('key'),
            ...Limits,
            callback_url: CallbackUrl.nullable()
              .optional()
              .meta({ description: "default webhook URL of this key's tasks that name none (as PATCH /keys/{id}); null or absent: none" }),
          }),
          response: { 200: z.object({ code: z.literal(200), data: KeyView, api_key: z.string() }), 400: ErrorResponse, 404: ErrorResponse },
        },
      },
      async (request) => {
        const { account_id } = request.params;
        if (!(await ctx.store.getAccount(account_id))) throw notFound(`account ${account_id} was not found`);
        const created = await addKey(ctx.store, account_id, {
          name: request.body.name,
          now: ctx.clock(),
          limits: limitsFrom(request.body),
          callbackUrl: request.body.callback_url ?? null,
        });
        return { code: 200 as const, data: keyView(created.key), api_key: created.secret };
      },
    );

    app.get(
      '/accounts/:account_id/keys',
      {
        schema: {
          summary: "An account's keys (never their secrets)",
          tags,
          params: z.object({ account_id: z.string().max(64) }),
          response: { 200: z.object({ code: z.literal(200), data: z.array(KeyView) }) },
        },
      },
      async (request) => ({ code: 200 as const, data: (await ctx.store.listApiKeys(request.params.account_id)).map(keyView) }),
    );

    app.patch(
      '/keys/:key_id',
      {
        schema: {
          summary: 'Disable or enable a key, or change its limits or its default callback_url',
          tags,
          params: z.object({ key_id: z.string().max(64) }),
          body: z.object({
            disabled: z.boolean().optional(),
            ...Limits,
            callback_url: CallbackUrl.nullable().optional().meta({ description: "default webhook URL of this key's tasks that name none; null clears it" }),
          }),
          response: { 200: z.object({ code: z.literal(200), data: KeyView }), 400: ErrorResponse, 404: ErrorResponse },
        },
      },
      async (request) => {
        const { key_id } = request.params;
        const updated = await ctx.store.updateApiKey(key_id, {
          disabled: request.body.disabled,
          limits: limitsFrom(request.body),
          callbackUrl: request.body.callback_url,
        });
        if (!updated) throw notFound(`key ${key_id} was not found`);
        ctx.keyCache.clear();
        return { code: 200 as const, data: keyView(updated) };
      },
    );
  };
