import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { notFound } from '../api-error.js';
import { ErrorResponse, TaskObjectWithExtensions } from '../../contract/task-view.js';
import { toTaskExtensions, toTaskObject } from '../../tasks/task-object.js';
import { Include } from '../tasks.js';
import { openAccount, topUpAccount } from '../../billing/accounts.js';
import { type ApiContext, taskViewOptions } from '../context.js';
import { AccountView, LedgerView, accountView, ledgerView } from './views.js';

const AccountParams = z.object({ account_id: z.string().max(64) });
const limitRule = 'limit must be an integer from 1 to 500';
const Page = {
  limit: z.coerce
    .number({ error: () => limitRule })
    .int({ error: () => limitRule })
    .min(1, { error: () => limitRule })
    .max(500, { error: () => limitRule })
    .default(100),
};
const idCursor = (what: string) =>
  z
    .string({ error: () => 'after must be an id' })
    .max(64, { error: () => 'after must be an id of at most 64 characters' })
    .optional()
    .meta({ description: `cursor: \`next_after\` of the previous page (${what})` });
const HasMore = z.boolean().meta({ description: 'whether another page follows: pass `next_after` as `after` for it' });
/** One more row than the page tells whether another page follows. */
const pageOf = <T, C>(rows: readonly T[], limit: number, cursor: (row: T) => C) => {
  const page = rows.slice(0, limit);
  const hasMore = rows.length > limit;
  return { page, has_more: hasMore, next_after: hasMore ? cursor(page[page.length - 1]!) : null };
};
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
          summary: 'List accounts, by id',
          tags,
          querystring: z.object({ ...Page, after: idCursor('accounts with a greater id') }),
          response: {
            200: z.object({ code: z.literal(200), data: z.array(AccountView), has_more: HasMore, next_after: z.string().nullable() }),
            400: ErrorResponse,
            401: ErrorResponse,
          },
        },
      },
      async (request) => {
        const { limit, after } = request.query;
        const { page, ...paging } = pageOf(await ctx.store.listAccounts(limit + 1, after), limit, (a) => a.id);
        return { code: 200 as const, data: page.map(accountView), ...paging };
      },
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
          summary: "An account's money movements, oldest first (order=desc: newest first)",
          description:
            'Pages follow the order: pass `next_after` as `after` for the next one. With `order=asc` (the default) ' +
            '`after` returns entries with a greater id, with `order=desc` entries with a smaller id.',
          tags,
          params: AccountParams,
          querystring: z.object({
            ...Page,
            after: z.coerce
              .number({ error: () => 'after must be a ledger entry id (an integer of at least 0)' })
              .int({ error: () => 'after must be a ledger entry id (an integer of at least 0)' })
              .min(0, { error: () => 'after must be a ledger entry id (an integer of at least 0)' })
              .optional()
              .meta({ description: 'cursor: `next_after` of the previous page; entries after it in the chosen order' }),
            order: z
              .enum(['asc', 'desc'], { error: () => 'order must be asc or desc' })
              .default('asc')
              .meta({ description: 'vidgate extension: asc (oldest first, the default) or desc (newest first)' }),
          }),
          response: {
            200: z.object({ code: z.literal(200), data: z.array(LedgerView), has_more: HasMore, next_after: z.number().int().nullable() }),
            400: ErrorResponse,
            401: ErrorResponse,
            404: ErrorResponse,
          },
        },
      },
      async (request) => {
        await mustExist(request.params.account_id);
        const { limit, after, order } = request.query;
        const entries = await ctx.store.listLedger(request.params.account_id, limit + 1, after, order);
        const { page, ...paging } = pageOf(entries, limit, (e) => e.id);
        return { code: 200 as const, data: page.map(ledgerView), ...paging };
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
            after: idCursor('older tasks'),
            status: z
              .enum(['pending', 'processing', 'completed', 'failed', 'cancelled'], {
                error: () => 'status must be one of pending, processing, completed, failed, cancelled',
              })
              .optional(),
            include: Include,
          }),
          response: {
            200: z.object({ code: z.literal(200), data: z.array(TaskObjectWithExtensions), has_more: HasMore, next_after: z.string().nullable() }),
            400: ErrorResponse,
            401: ErrorResponse,
            404: ErrorResponse,
          },
        },
      },
      async (request) => {
        await mustExist(request.params.account_id);
        const { limit, after, status, include } = request.query;
        const tasks = await ctx.store.listTasks({ accountId: request.params.account_id, limit: limit + 1, after, status });
        const view = taskViewOptions(ctx, request);
        const { page, ...paging } = pageOf(tasks, limit, (t) => t.id);
        // As GET /v1/tasks: the extensions come last, only when asked for.
        const data = page.map((t) => (include === 'request' ? { ...toTaskObject(t, view), ...toTaskExtensions(t) } : toTaskObject(t, view)));
        return { code: 200 as const, data, ...paging };
      },
    );
  };
