import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { SubmitBody } from '../contract/submit.js';
import { ErrorResponse } from '../contract/task-view.js';
import { SubmitResponse, SubmitResponseV20260727, submitAnswer } from '../contract/response-version.js';
import type { ApiContext } from './context.js';
import { callerOf } from './auth.js';

export const videoRoutes =
  (ctx: Pick<ApiContext, 'tasks'>): FastifyPluginAsyncZod =>
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
            'x-apimart-response-version': z
              .string()
              .optional()
              .meta({ description: "answer shape: absent = the seed's, 2026-07-27 = the current APIMart one" }),
          }),
          response: {
            200: z.union([SubmitResponse, SubmitResponseV20260727]),
            400: ErrorResponse,
            401: ErrorResponse,
            402: ErrorResponse,
            409: ErrorResponse,
            413: ErrorResponse,
            429: ErrorResponse,
          },
        },
      },
      async (request, reply) => {
        const key = request.headers['idempotency-key'];
        const { task, replayed } = await ctx.tasks.submit(callerOf(request), request.body, key);
        if (key !== undefined) reply.header('idempotency-replayed', String(replayed));
        return submitAnswer(request.responseVersion, task.id, request.id);
      },
    );
  };
