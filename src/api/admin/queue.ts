import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ErrorResponse } from '../../contract/task-view.js';
import type { ApiContext } from '../context.js';

const unix = (ms: number | null) => (ms === null ? null : Math.floor(ms / 1000));

const Oldest = {
  oldest_pending_at: z.number().int().nullable().meta({ description: 'unix seconds: creation of the oldest pending task; null when none is pending' }),
  oldest_pending_age_seconds: z.number().int().nullable().meta({ description: 'how long it has waited, in seconds' }),
};

export const QueueView = z
  .object({
    pending: z.number().int().meta({ description: 'tasks not started yet (upstream channels: also those an upstream still queues)' }),
    processing: z.number().int(),
    ...Oldest,
    by_channel: z.array(z.object({ channel: z.string(), pending: z.number().int(), processing: z.number().int(), ...Oldest })),
    by_channel_model: z.array(z.object({ channel: z.string(), model: z.string(), pending: z.number().int(), processing: z.number().int(), ...Oldest })),
  })
  .meta({ id: 'AdminQueue' });

export const adminQueueRoutes =
  (ctx: Pick<ApiContext, 'clock' | 'store'>): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/queue',
      {
        schema: {
          summary: 'Unfinished tasks now: pending and processing, by channel and model, and how long the oldest has waited',
          tags: ['admin'],
          security: [{ admin: [] }],
          response: { 200: z.object({ code: z.literal(200), data: QueueView }), 401: ErrorResponse },
        },
      },
      async () => {
        const rows = await ctx.store.queueDepth();
        const now = ctx.clock();
        const oldest = (at: number | null) => ({
          oldest_pending_at: unix(at),
          oldest_pending_age_seconds: at === null ? null : Math.max(0, Math.floor((now - at) / 1000)),
        });
        const earliest = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.min(a, b));
        const channels = new Map<string, { pending: number; processing: number; at: number | null }>();
        for (const row of rows) {
          const channel = channels.get(row.provider) ?? { pending: 0, processing: 0, at: null };
          channel.pending += row.pending;
          channel.processing += row.processing;
          channel.at = earliest(channel.at, row.oldestPendingAt);
          channels.set(row.provider, channel);
        }
        const all = [...channels.values()];
        return {
          code: 200 as const,
          data: {
            pending: all.reduce((n, c) => n + c.pending, 0),
            processing: all.reduce((n, c) => n + c.processing, 0),
            ...oldest(all.reduce<number | null>((at, c) => earliest(at, c.at), null)),
            by_channel: [...channels].map(([channel, c]) => ({ channel, pending: c.pending, processing: c.processing, ...oldest(c.at) })),
            by_channel_model: rows.map((r) => ({
              channel: r.provider,
              model: r.model,
              pending: r.pending,
              processing: r.processing,
              ...oldest(r.oldestPendingAt),
            })),
          },
        };
      },
    );
  };
