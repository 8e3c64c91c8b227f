import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ApiContext } from './context.js';

const Health = z.object({ status: z.string(), checks: z.record(z.string(), z.string()).optional() });

export const healthRoutes =
  (ctx: Pick<ApiContext, 'readiness'>): FastifyPluginAsyncZod =>
  async (app) => {
    app.get('/healthz', { schema: { summary: 'Liveness', tags: ['operations'], response: { 200: Health } } }, async () => ({ status: 'ok' }));
    app.get(
      '/readyz',
      {
        schema: { summary: 'Readiness: database, renderer, free disk space, not shutting down', tags: ['operations'], response: { 200: Health, 503: Health } },
      },
      async (_request, reply) => {
        const { ready, checks } = await ctx.readiness();
        return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks });
      },
    );
  };
