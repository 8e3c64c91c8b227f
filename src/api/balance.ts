import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { microsToUsd } from '../contract/prices.js';
import { ErrorResponse } from '../contract/task-view.js';
import type { ApiContext } from './context.js';
import { callerOf } from './auth.js';

const BalanceResponse = z
  .object({
    success: z.literal(true),
    remain_balance: z.number().meta({ description: 'USD; -1 when unlimited' }),
    used_balance: z.number().meta({ description: 'USD spent so far (running tasks included)' }),
    unlimited_quota: z.boolean(),
  })
  .meta({ id: 'Balance' });
type Balance = z.infer<typeof BalanceResponse>;

const answer = (remain: number | null, used: number): Balance => ({
  success: true,
  remain_balance: remain === null ? -1 : microsToUsd(remain),
  used_balance: microsToUsd(used),
  unlimited_quota: remain === null,
});

export const balanceRoutes =
  (ctx: Pick<ApiContext, 'store'>): FastifyPluginAsyncZod =>
  async (app) => {
    const schema = (summary: string) => ({
      summary,
      tags: ['balance'],
      security: [{ bearer: [] }],
      response: { 200: BalanceResponse, 401: ErrorResponse },
    });

    app.get('/v1/user/balance', { schema: schema("The account's balance") }, async (request) => {
      const account = (await ctx.store.getAccount(callerOf(request).accountId))!;
      return answer(account.unlimited ? null : account.balanceMicros, account.spentMicros);
    });

    // A key with a spending cap sees what is left of its cap (never more than the account holds).
    app.get('/v1/balance', { schema: schema("This API key's balance") }, async (request) => {
      const caller = callerOf(request);
      const [account, key] = await Promise.all([ctx.store.getAccount(caller.accountId), ctx.store.getApiKey(caller.keyId)]);
      const accountLeft = account!.unlimited ? null : account!.balanceMicros;
      const cap = key!.limits.spendCapMicros;
      const keyLeft = cap === null ? null : Math.max(0, cap - key!.spentMicros);
      const remain = keyLeft === null ? accountLeft : accountLeft === null ? keyLeft : Math.min(keyLeft, accountLeft);
      return answer(remain, key!.spentMicros);
    });
  };
