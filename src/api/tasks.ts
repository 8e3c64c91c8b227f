import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { FastifyRequest } from 'fastify';
import { ApiError } from './api-error.js';
import { LANGUAGES } from '../contract/failures.js';
import { ErrorResponse, TaskListResponse, TaskObject, TaskResponse } from '../contract/task-view.js';
import { AssetTaskObject } from '../contract/asset-view.js';
import { toTaskObject } from '../tasks/task-object.js';
import { toAssetTaskObject } from '../assets/asset-task-object.js';
import type { TaskRecord } from '../store/types.js';
import { type ApiContext, taskViewOptions } from './context.js';
import { callerOf } from './auth.js';
import { sendStoredFile } from './signed-file.js';

const TaskParams = z.object({
  task_id: z
    .string()
    .max(64)
    .meta({ examples: ['task_01KMCGF6BQGN3X28H3KSR50X5T'] }),
});
const Language = z
  .enum(LANGUAGES, { error: () => `language must be one of ${LANGUAGES.join(', ')}` })
  .default('en')
  .meta({ description: 'language of error.message' });
const ListQuery = z.object({
  status: z
    .enum(['pending', 'processing', 'completed', 'failed', 'cancelled'], {
      error: () => 'status must be one of pending, processing, completed, failed, cancelled',
    })
    .optional(),
  model: z.string().max(64).optional(),
  limit: z.coerce
    .number({ error: () => 'limit must be an integer from 1 to 100' })
    .int({ error: () => 'limit must be an integer from 1 to 100' })
    .min(1, { error: () => 'limit must be an integer from 1 to 100' })
    .max(100, { error: () => 'limit must be an integer from 1 to 100' })
    .default(20),
  after: z.string().max(64).optional().meta({ description: 'task id cursor: return tasks older than this one' }),
  language: Language,
});
const ContentQuery = z.object({
  variant: z.enum(['video', 'last_frame'], { error: () => 'variant must be video or last_frame' }).default('video'),
});

export const taskRoutes =
  (ctx: Pick<ApiContext, 'prices' | 'publicUrl' | 'resultLinks' | 'storage' | 'store' | 'tasks'>): FastifyPluginAsyncZod =>
  async (app) => {
    const view = (request: FastifyRequest, task: TaskRecord, language: (typeof LANGUAGES)[number]) =>
      toTaskObject(task, taskViewOptions(ctx, request, language));

    app.get(
      '/v1/tasks/:task_id',
      {
        schema: {
          summary: 'Get a task',
          tags: ['tasks'],
          security: [{ bearer: [] }],
          params: TaskParams,
          querystring: z.object({ language: Language }),
          response: { 200: z.object({ code: z.literal(200), data: z.union([TaskObject, AssetTaskObject]) }), 401: ErrorResponse, 404: ErrorResponse },
        },
      },
      async (request) => {
        const caller = callerOf(request);
        try {
          const task = await ctx.tasks.get(caller, request.params.task_id);
          return { code: 200 as const, data: view(request, task, request.query.language) };
        } catch (err) {
          // Not a video task: it may be an asset review (README: Assets), polled at the same route.
          const review = await ctx.store.getAssetReview(request.params.task_id);
          if (!review || review.accountId !== caller.accountId) throw err;
          return { code: 200 as const, data: toAssetTaskObject(review, await ctx.store.listReviewAssets(review.id)) };
        }
      },
    );

    app.get(
      '/v1/tasks',
      {
        schema: {
          summary: "List the caller's tasks, newest first",
          tags: ['tasks'],
          security: [{ bearer: [] }],
          querystring: ListQuery,
          response: { 200: TaskListResponse, 400: ErrorResponse, 401: ErrorResponse },
        },
      },
      async (request) => {
        const { language, limit, ...filter } = request.query;
        const tasks = await ctx.tasks.list(callerOf(request), { ...filter, limit: limit + 1 });
        const page = tasks.slice(0, limit);
        const hasMore = tasks.length > limit;
        return {
          code: 200 as const,
          data: page.map((t) => view(request, t, language)),
          has_more: hasMore,
          next_after: hasMore ? page[page.length - 1]!.id : null,
        };
      },
    );

    app.post(
      '/v1/tasks/:task_id/cancel',
      {
        schema: {
          summary: 'Cancel a pending or processing task; its price is refunded in full',
          tags: ['tasks'],
          security: [{ bearer: [] }],
          params: TaskParams,
          response: { 200: TaskResponse, 401: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse },
        },
      },
      async (request) => {
        const task = await ctx.tasks.cancel(callerOf(request), request.params.task_id);
        return { code: 200 as const, data: view(request, task, 'en') };
      },
    );

    app.get(
      '/v1/tasks/:task_id/content',
      {
        schema: {
          summary: 'Download the result (Range requests supported)',
          tags: ['tasks'],
          security: [{ bearer: [] }],
          params: TaskParams,
          querystring: ContentQuery,
          response: { 401: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse },
        },
      },
      async (request, reply) => {
        const task = await ctx.tasks.get(callerOf(request), request.params.task_id);
        if (task.status !== 'completed' || !task.result) {
          throw new ApiError(409, `task ${task.id} is ${task.status}: content is available once it is completed`);
        }
        if (task.resultsCollected) throw new ApiError(404, `the result of task ${task.id} expired and was deleted`);
        const file = request.query.variant === 'video' ? task.result.video : task.result.lastFrame;
        if (!file) throw new ApiError(404, `task ${task.id} has no last frame: submit with return_last_frame true`);
        const name = `${task.id}${file.contentType === 'image/png' ? '.png' : '.mp4'}`;
        reply.header('content-disposition', `inline; filename="${name}"`);
        return sendStoredFile(reply, {
          files: ctx.storage.files,
          key: ctx.storage.fileKey(file.key),
          gone: `the result of task ${task.id} is no longer stored`,
        });
      },
    );
  };
