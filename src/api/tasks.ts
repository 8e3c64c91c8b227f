import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { FastifyRequest } from 'fastify';
import { ApiError } from './api-error.js';
import { LANGUAGES } from '../contract/failures.js';
import { ErrorResponse, TaskListResponse, TaskObjectWithExtensions, TaskResponse } from '../contract/task-view.js';
import { AssetTaskObject } from '../contract/asset-view.js';
import { toTaskExtensions, toTaskObject } from '../tasks/task-object.js';
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
/** `include=request` (README: vidgate extensions); also on GET /admin/v1/accounts/{id}/tasks. */
export const Include = z
  .enum(['request'], { error: () => 'include must be "request"' })
  .optional()
  .meta({
    description:
      'vidgate extension: `request` adds `request` (the submit body as stored, with the seed used: POST it to /v1/videos/generations to run the task again) and `timings` to each task',
  });

/** The largest unix second a bound may name: 9999-12-31T23:59:59Z. */
const MAX_BOUND_SECONDS = 253_402_300_799;
const DAY_MS = 86_400_000;

/** A created_after / created_before value as unix ms: the second (or the UTC day) it names begins at `start`, ends at `end` (exclusive). */
function createdBound(value: string): { start: number; end: number } | null {
  if (/^\d{1,12}$/.test(value)) {
    const seconds = Number(value);
    return seconds <= MAX_BOUND_SECONDS ? { start: seconds * 1000, end: (seconds + 1) * 1000 } : null;
  }
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return null;
  const start = Date.parse(`${value}T00:00:00Z`);
  // Date.parse rolls 2026-02-30 over into March: a real date reads back the same.
  if (Number.isNaN(start) || new Date(start).toISOString().slice(0, 10) !== value) return null;
  return { start, end: start + DAY_MS };
}

const CreatedBound = (name: string, description: string) => {
  const rule = `${name} must be unix seconds (an integer) or a UTC date YYYY-MM-DD`;
  return z
    .string({ error: () => rule })
    .refine((value) => createdBound(value) !== null, { error: () => rule })
    .optional()
    .meta({ description, examples: ['1767225600', '2026-01-01'] });
};

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
  created_after: CreatedBound(
    'created_after',
    'vidgate extension: only tasks created at or after this unix second, or from the start (00:00:00 UTC) of this day',
  ),
  created_before: CreatedBound(
    'created_before',
    'vidgate extension: only tasks created at or before this unix second, or by the end (23:59:59 UTC) of this day, inclusive',
  ),
  include: Include,
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
    // Without `include` the object is exactly the APIMart one; the extensions come last when asked for.
    const viewWith = (request: FastifyRequest, task: TaskRecord, language: (typeof LANGUAGES)[number], include: 'request' | undefined) =>
      include === 'request' ? { ...view(request, task, language), ...toTaskExtensions(task) } : view(request, task, language);

    app.get(
      '/v1/tasks/:task_id',
      {
        schema: {
          summary: 'Get a task',
          tags: ['tasks'],
          security: [{ bearer: [] }],
          params: TaskParams,
          querystring: z.object({ language: Language, include: Include }),
          response: {
            200: z.object({ code: z.literal(200), data: z.union([TaskObjectWithExtensions, AssetTaskObject]) }),
            400: ErrorResponse,
            401: ErrorResponse,
            404: ErrorResponse,
          },
        },
      },
      async (request) => {
        const caller = callerOf(request);
        try {
          const task = await ctx.tasks.get(caller, request.params.task_id);
          return { code: 200 as const, data: viewWith(request, task, request.query.language, request.query.include) };
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
        const { language, limit, include, created_after, created_before, ...filter } = request.query;
        const tasks = await ctx.tasks.list(callerOf(request), {
          ...filter,
          createdFrom: created_after === undefined ? undefined : createdBound(created_after)!.start,
          createdUntil: created_before === undefined ? undefined : createdBound(created_before)!.end,
          limit: limit + 1,
        });
        const page = tasks.slice(0, limit);
        const hasMore = tasks.length > limit;
        return {
          code: 200 as const,
          data: page.map((t) => viewWith(request, t, language, include)),
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
