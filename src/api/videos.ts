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
        schema: {
          summary: 'Submit a video generation task',
          tags: ['videos'],
          security: [{ bearer: [] }],
          body: SubmitBody,
          response: { 200: SubmitResponse, 400: ErrorResponse, 401: ErrorResponse, 413: ErrorResponse },
        },
      },
      async (request) => {
        const task = await ctx.tasks.submit(callerOf(request), request.body);
        return { code: 200 as const, data: [{ status: 'submitted' as const, task_id: task.id }] };
      },
    );
  };
