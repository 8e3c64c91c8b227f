import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ErrorResponse } from '../../contract/task-view.js';
import type { ChannelInfo } from '../../providers/registry.js';
import type { ChannelActivity } from '../../store/types.js';
import { budgetSpent, type ChannelSpend, costDeclaration, nextUtcDayStart, spentMicros, utcDayStart } from '../../billing/upstream-cost.js';
import { microsToUsd } from '../../contract/prices.js';
import type { ApiContext } from '../context.js';

const MAX_WINDOW_SECONDS = 7 * 24 * 3600;
/** Run times behind the percentiles: the latest completed tasks of the window, at most this many. */
export const RUN_TIME_SAMPLE = 1000;

const CostRates = z.record(z.string(), z.record(z.string(), z.number()));

const windowRule = `window must be an integer number of seconds from 1 to ${MAX_WINDOW_SECONDS}`;

export const ChannelView = z
  .object({
    name: z.string(),
    provider: z.enum(['local', 'ark', 'apimart', 'fal', 'replicate']),
    models: z.union([z.literal('*'), z.array(z.string())]).meta({ description: "the models it serves; '*' for all" }),
    priority: z.number().meta({ description: 'higher is tried first' }),
    weight: z.number().meta({ description: 'share among channels of equal priority' }),
    max_in_flight: z.number().int().meta({ description: 'tasks one instance holds on it at once (running, or parked on the upstream)' }),
    in_flight: z
      .object({ pending: z.number().int(), processing: z.number().int() })
      .meta({ description: 'its unfinished tasks in the database (every instance); pending includes tasks an upstream still queues' }),
    window_seconds: z.number().int(),
    finished: z.number().int().meta({ description: 'tasks it completed or failed within the window (cancelled ones are counted apart)' }),
    completed: z.number().int(),
    failed: z.number().int(),
    cancelled: z.number().int(),
    error_rate: z.number().nullable().meta({ description: 'failed / finished; null when nothing finished' }),
    p50_seconds: z.number().nullable().meta({ description: 'median time from submit to completion of its completed tasks; null without any' }),
    p95_seconds: z.number().nullable(),
    sampled: z
      .number()
      .int()
      .meta({ description: `completed tasks the percentiles are computed from: the latest ${RUN_TIME_SAMPLE} at most` }),
    state: z.enum(['ok', 'busy', 'paused']).meta({
      description:
        'paused: it takes no new task today because its daily budget is spent (every instance), or this instance starts nothing on ' +
        'it now (its upstream answered HTTP 429 moments ago, or a task whose previous run never ended runs alone here); busy: its unfinished tasks reach max_in_flight, so new ones wait in the queue; ok otherwise. ' +
        'Pauses are what this instance’s dispatcher knows: on an api-only instance (VIDGATE_ROLE=api) the state reflects only the database.',
    }),
    state_reason: z.string().nullable(),
    paused_until: z
      .number()
      .int()
      .nullable()
      .meta({ description: 'unix seconds: when a 429 pause ends, or for a spent daily budget the next 00:00 UTC; null otherwise' }),
    cost: z
      .object({ per_second: CostRates, per_second_with_reference_video: CostRates })
      .nullable()
      .meta({
        description:
          'the upstream cost it declares (README: Configuration, `cost`): USD per output second by model and resolution, and per ' +
          'input + output second with a reference video; null when it declares none',
      }),
    daily_budget_usd: z.number().nullable().meta({ description: 'upstream cost a UTC day may count before it takes no new task; null: no budget' }),
    today: z
      .object({
        date: z.string().meta({ description: 'the UTC date counted', examples: ['2026-12-01'] }),
        settled: z.number().meta({ description: 'USD: the upstream cost of its tasks completed today (UTC)' }),
        in_flight: z.number().meta({ description: 'USD: the expected upstream cost of its unfinished tasks (a reference video counted at its longest)' }),
        spent: z.number().meta({ description: 'settled + in_flight: what counts against daily_budget_usd' }),
        remaining: z.number().nullable().meta({ description: 'daily_budget_usd − spent, at least 0; null without a budget' }),
      })
      .meta({ description: 'its upstream cost today, read from the database (every instance)' }),
  })
  .meta({ id: 'AdminChannel' });
type ChannelView = z.infer<typeof ChannelView>;

/** Nearest rank: the smallest run time that at least `p` of the sample do not exceed. */
function percentile(sortedMs: readonly number[], p: number): number | null {
  if (sortedMs.length === 0) return null;
  const ms = sortedMs[Math.max(0, Math.ceil(p * sortedMs.length) - 1)]!;
  return Math.round(ms) / 1000;
}

function channelView(
  channel: ChannelInfo,
  inFlight: { pending: number; processing: number },
  activity: ChannelActivity | undefined,
  o: { windowSeconds: number; suspectAlone: boolean; spend: ChannelSpend | undefined; now: number },
): ChannelView {
  const completed = activity?.completed ?? 0;
  const failed = activity?.failed ?? 0;
  const finished = completed + failed;
  const runs = [...(activity?.runMs ?? [])].sort((a, b) => a - b);
  const unfinished = inFlight.pending + inFlight.processing;
  let state: ChannelView['state'] = 'ok';
  let reason: string | null = null;
  let pausedUntil = channel.pausedUntil === null ? null : Math.ceil(channel.pausedUntil / 1000);
  const spent = spentMicros(o.spend);
  const budget = channel.dailyBudgetMicros;
  if (budgetSpent(o.spend, budget)) {
    state = 'paused';
    reason = `daily budget spent: ${microsToUsd(spent)} of ${microsToUsd(budget!)} USD today (UTC, tasks in flight counted at their expected cost); new tasks go to other channels until 00:00 UTC`;
    pausedUntil = nextUtcDayStart(o.now) / 1000;
  } else if (channel.pausedUntil !== null) {
    state = 'paused';
    reason = `its upstream answered HTTP 429: this instance submits nothing to it until ${new Date(channel.pausedUntil).toISOString()}`;
  } else if (o.suspectAlone) {
    state = 'paused';
    reason = 'a task whose previous run never ended runs alone on this instance: nothing else starts here until it ends';
  } else if (unfinished >= channel.maxInFlight) {
    state = 'busy';
    reason = `${unfinished} unfinished tasks, max_in_flight ${channel.maxInFlight}: new tasks wait in the queue`;
  }
  return {
    name: channel.name,
    provider: channel.kind,
    models: channel.models,
    priority: channel.priority,
    weight: channel.weight,
    max_in_flight: channel.maxInFlight,
    in_flight: inFlight,
    window_seconds: o.windowSeconds,
    finished,
    completed,
    failed,
    cancelled: activity?.cancelled ?? 0,
    error_rate: finished === 0 ? null : failed / finished,
    p50_seconds: percentile(runs, 0.5),
    p95_seconds: percentile(runs, 0.95),
    sampled: runs.length,
    state,
    state_reason: reason,
    paused_until: pausedUntil,
    cost: channel.cost ? costDeclaration(channel.cost) : null,
    daily_budget_usd: budget === undefined ? null : microsToUsd(budget),
    today: {
      date: new Date(utcDayStart(o.now)).toISOString().slice(0, 10),
      settled: microsToUsd(o.spend?.settledMicros ?? 0),
      in_flight: microsToUsd(o.spend?.inFlightMicros ?? 0),
      spent: microsToUsd(spent),
      remaining: budget === undefined ? null : microsToUsd(Math.max(0, budget - spent)),
    },
  };
}

export const adminChannelRoutes =
  (ctx: Pick<ApiContext, 'channels' | 'clock' | 'store'>): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/channels',
      {
        schema: {
          summary: 'Every configured channel: its load, how it fared lately, and whether it takes work',
          description:
            'One row per channel of the configuration, in its order. `in_flight` is read from the database; the outcomes and run ' +
            'times count the tasks each channel finished within the last `window` seconds (a task moved by failover counts for ' +
            'the channel that finished it).',
          tags: ['admin'],
          security: [{ admin: [] }],
          querystring: z.object({
            window: z.coerce
              .number({ error: () => windowRule })
              .int({ error: () => windowRule })
              .min(1, { error: () => windowRule })
              .max(MAX_WINDOW_SECONDS, { error: () => windowRule })
              .default(3600)
              .meta({ description: 'seconds back from now that the outcomes and run times cover' }),
          }),
          response: {
            200: z.object({
              code: z.literal(200),
              data: z.array(ChannelView),
              runs_work: z.boolean().meta({ description: 'whether this instance runs tasks (false: an api-only instance, which knows only the database)' }),
            }),
            400: ErrorResponse,
            401: ErrorResponse,
          },
        },
      },
      async (request) => {
        const windowSeconds = request.query.window;
        const channels = ctx.channels.list();
        const now = ctx.clock();
        const [unfinished, activity, spend] = await Promise.all([
          ctx.store.countUnfinishedTasks(),
          ctx.store.channelActivity({
            providers: channels.map((c) => c.name),
            since: now - windowSeconds * 1000,
            sampleLimit: RUN_TIME_SAMPLE,
          }),
          ctx.store.channelSpend({ providers: channels.map((c) => c.name), since: utcDayStart(now) }),
        ]);
        const suspectAlone = ctx.channels.runsWork && ctx.channels.suspectRunningAlone();
        const data = channels.map((channel) => {
          const inFlight = { pending: 0, processing: 0 };
          for (const row of unfinished) {
            if (row.provider !== channel.name) continue;
            if (row.status === 'pending') inFlight.pending += Number(row.count);
            if (row.status === 'processing') inFlight.processing += Number(row.count);
          }
          return channelView(
            channel,
            inFlight,
            activity.find((a) => a.provider === channel.name),
            { windowSeconds, suspectAlone, spend: spend.find((s) => s.provider === channel.name), now },
          );
        });
        return { code: 200 as const, data, runs_work: ctx.channels.runsWork };
      },
    );
  };
