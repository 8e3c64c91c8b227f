import type { FastifyPluginAsync } from 'fastify';
import type { Metrics } from '../observability/metrics.js';

/** Prometheus scrape endpoint; counts, no secrets, so it is open like /healthz (firewall it if you must). */
export const metricsRoutes =
  (metrics: Metrics): FastifyPluginAsync =>
  async (app) => {
    app.get('/metrics', { schema: { summary: 'Prometheus metrics', tags: ['operations'] } }, async (_request, reply) => {
      reply.header('content-type', metrics.registry.contentType);
      return metrics.registry.metrics();
    });
  };
