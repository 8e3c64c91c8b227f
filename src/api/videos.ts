import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { SubmitBody } from '../contract/submit.js';
import { ErrorResponse, SubmitResponse } from '../contract/task-view.js';
import type { ApiContext } from './context.js';
import { callerOf } from './auth.js';

export const videoRoutes = (ctx: ApiContext): FastifyPluginAsyncZod =>
  async (app) => {
    app.post(
      '/v1/videos/generations',
      {
        config: { rateBucket: 'create' },
        schema: {
          summary: 'Submit a video generation task',
          tags: ['videos'],
          security: [{ bearer: [] }],
          body: SubmitBody,
          headers: z.object({
            'idempotency-key': z.string().optional().meta({ description: 'same key + same body within 24 h → the same task, charged once' }),
          }),
          response: {
            200: SubmitResponse,
            400: ErrorResponse,
            401: ErrorResponse,
            402: ErrorResponse,
            409: ErrorResponse,
            413: ErrorResponse,
            429: ErrorResponse,
          },
        },
      },
      async (request) => {
        const task = await ctx.tasks.submit(callerOf(request), request.body, request.headers['idempotency-key']);
        return { code: 200 as const, data: [{ status: 'submitted' as const, task_id: task.id }] };
      },
    );
  };
