import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { notFound } from '../api-error.js';
import { ErrorResponse, TaskObject } from '../../contract/task-view.js';
import { toTaskObject } from '../../tasks/task-object.js';
import { openAccount, topUpAccount } from '../../billing/accounts.js';
import { type ApiContext, taskViewOptions } from '../context.js';
import { AccountView, LedgerView, accountView, ledgerView } from './views.js';

const AccountParams = z.object({ account_id: z.string().max(64) });
const Page = { limit: z.coerce.number().int().min(1).max(500).default(100) };
const usdAmount = (what: string) =>
  z
    .number({ error: () => `${what} must be a number of USD` })
    .min(0, { error: () => `${what} cannot be negative` })
    .max(1e9);

export const adminAccountRoutes =
  (ctx: Pick<ApiContext, 'clock' | 'prices' | 'publicUrl' | 'resultLinks' | 'store'>): FastifyPluginAsyncZod =>
  async (app) => {
    const tags = ['admin'];
    const mustExist = async (id: string) => {
      const account = await ctx.store.getAccount(id);
      if (!account) throw notFound(`account ${id} was not found`);
      return account;
    };

    app.post(
      '/accounts',
      {
        schema: {
          summary: 'Open an account (unlimited quota unless a balance is given)',
          tags,
          body: z.object({ name: z.string().min(1).max(200), balance: usdAmount('balance').optional() }),
          response: { 200: z.object({ code: z.literal(200), data: AccountView }), 400: ErrorResponse, 401: ErrorResponse },
        },
      },
      async (request) => {
        const account = await openAccount(ctx.store, { name: request.body.name, balanceUsd: request.body.balance, now: ctx.clock() });
        return { code: 200 as const, data: accountView(account) };
      },
    );

    app.get(
      '/accounts',
      {
        schema: {
          summary: 'List accounts',
          tags,
          querystring: z.object({ ...Page, after: z.string().max(64).optional() }),
          response: { 200: z.object({ code: z.literal(200), data: z.array(AccountView) }), 401: ErrorResponse },
        },
      },
      async (request) => ({
        code: 200 as const,
        data: (await ctx.store.listAccounts(request.query.limit, request.query.after)).map(accountView),
      }),
    );

    app.get(
      '/accounts/:account_id',
      {
        schema: {
          summary: 'One account',
          tags,
          params: AccountParams,
          response: { 200: z.object({ code: z.literal(200), data: AccountView }), 404: ErrorResponse },
        },
      },
      async (request) => ({ code: 200 as const, data: accountView(await mustExist(request.params.account_id)) }),
    );

    app.post(
      '/accounts/:account_id/topups',
      {
        schema: {
          summary: 'Add money to an account',
          tags,
          params: AccountParams,
          body: z.object({ amount: usdAmount('amount').refine((v) => v > 0, { error: 'amount must be more than 0' }), note: z.string().max(500).optional() }),
          response: { 200: z.object({ code: z.literal(200), data: AccountView }), 400: ErrorResponse, 404: ErrorResponse },
        },
      },
      async (request) => {
        await topUpAccount(ctx.store, request.params.account_id, request.body.amount, request.body.note ?? null, ctx.clock());
        return { code: 200 as const, data: accountView(await mustExist(request.params.account_id)) };
      },
    );

    app.get(
      '/accounts/:account_id/ledger',
      {
        schema: {
          summary: "An account's money movements, oldest first",
          tags,
          params: AccountParams,
          querystring: z.object({ ...Page, after: z.coerce.number().int().min(0).optional() }),
          response: { 200: z.object({ code: z.literal(200), data: z.array(LedgerView) }), 404: ErrorResponse },
        },
      },
      async (request) => {
        await mustExist(request.params.account_id);
        const entries = await ctx.store.listLedger(request.params.account_id, request.query.limit, request.query.after);
        return { code: 200 as const, data: entries.map(ledgerView) };
      },
    );

    app.get(
      '/accounts/:account_id/tasks',
      {
        schema: {
          summary: "An account's tasks, newest first",
          tags,
          params: AccountParams,
          querystring: z.object({
            ...Page,
            after: z.string().max(64).optional(),
            status: z.enum(['pending', 'processing', 'completed', 'failed', 'cancelled']).optional(),
          }),
          response: { 200: z.object({ code: z.literal(200), data: z.array(TaskObject) }), 404: ErrorResponse },
        },
      },
      async (request) => {
        await mustExist(request.params.account_id);
        const tasks = await ctx.store.listTasks({ accountId: request.params.account_id, ...request.query });
        const view = taskViewOptions(ctx, request);
        return { code: 200 as const, data: tasks.map((t) => toTaskObject(t, view)) };
      },
    );
  };
