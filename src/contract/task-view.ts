import { z } from 'zod';

/** Response shapes of the task API. They document it (OpenAPI); tasks/task-object.ts builds them from stored tasks. */
export const TaskObject = z
  .object({
    id: z.string().meta({ examples: ['task_01KMCGF6BQGN3X28H3KSR50X5T'] }),
    status: z.enum(['pending', 'processing', 'completed', 'failed', 'cancelled']),
    progress: z.number().int().min(0).max(100),
    created: z.number().int().meta({ description: 'unix seconds' }),
    estimated_time: z.number().int().meta({ description: 'seconds' }),
    completed: z.number().int().optional().meta({ description: 'unix seconds; only when completed' }),
    actual_time: z.number().int().optional().meta({ description: 'seconds from submit to completion; only when completed' }),
    result: z
      .object({
        videos: z.array(z.object({ url: z.array(z.string()), expires_at: z.number().int() })),
        last_frame_url: z.string().optional(),
      })
      .optional(),
    error: z.object({ code: z.string(), message: z.string(), type: z.string() }).optional(),
    cost: z.number().meta({ description: 'USD' }),
    credits_cost: z.number().meta({ description: "the same charge in the operator's credit unit (credits_per_usd, default 1 credit = 1 USD)" }),
  })
  .meta({ id: 'Task' });
export type TaskObject = z.infer<typeof TaskObject>;

/**
 * vidgate extensions of the task object, only with `include=request` (README: API): the submit body
 * as vidgate stored it — a valid body for POST /v1/videos/generations, defaults applied, the seed the
 * render used — and when the task was queued, started and finished.
 */
const media = (description: string) => z.array(z.string()).optional().meta({ description });
export const TaskRequestView = z
  .object({
    model: z.string().meta({ description: 'the canonical model id (an alias given at submit is resolved)' }),
    prompt: z.string(),
    duration: z.number().int(),
    size: z.string(),
    resolution: z.string(),
    seed: z
      .number()
      .int()
      .meta({ description: 'the seed the render used (a random one when the submit sent -1 or none): submitting this body again renders the same video' }),
    generate_audio: z.boolean(),
    return_last_frame: z.boolean(),
    tools: z
      .array(z.object({ type: z.literal('web_search') }))
      .optional()
      .meta({ description: 'only when web search was asked for' }),
    image_urls: media('as submitted; absent when none'),
    image_with_roles: z
      .array(z.object({ url: z.string(), role: z.enum(['first_frame', 'last_frame', 'reference_image']) }))
      .optional()
      .meta({ description: 'as submitted; absent when none' }),
    video_urls: media('as submitted; absent when none'),
    audio_urls: media('as submitted; absent when none'),
  })
  .meta({
    id: 'TaskRequest',
    description: 'vidgate extension (include=request): the submit body as stored, a valid body for POST /v1/videos/generations; callback_url is never shown',
  });
export type TaskRequestView = z.infer<typeof TaskRequestView>;

export const TaskTimings = z
  .object({
    created: z.number().int().meta({ description: 'unix seconds: submitted' }),
    started: z.number().int().nullable().meta({ description: 'unix seconds: turned processing; null until then' }),
    finished: z.number().int().nullable().meta({ description: 'unix seconds: completed, failed or cancelled; null until then' }),
    queued_seconds: z
      .number()
      .nullable()
      .meta({ description: 'seconds from submit to start (to the end, for a task that ended without starting), to the millisecond; null while queued' }),
    run_seconds: z.number().nullable().meta({ description: 'seconds from start to the end, to the millisecond; null until both are known' }),
  })
  .meta({ id: 'TaskTimings', description: 'vidgate extension (include=request)' });
export type TaskTimings = z.infer<typeof TaskTimings>;

/** The task object of GET /v1/tasks/{id} and GET /v1/tasks: exactly `Task`, plus the extensions when asked for. */
export const TaskObjectWithExtensions = TaskObject.extend({
  request: TaskRequestView.optional(),
  timings: TaskTimings.optional(),
}).meta({ id: 'TaskWithExtensions', description: 'the task object; `request` and `timings` only with include=request' });
export type TaskObjectWithExtensions = z.infer<typeof TaskObjectWithExtensions>;

export const TaskResponse = z.object({ code: z.literal(200), data: TaskObject }).meta({ id: 'TaskResponse' });
export const TaskListResponse = z
  .object({
    code: z.literal(200),
    data: z.array(TaskObjectWithExtensions),
    has_more: z.boolean(),
    next_after: z.string().nullable().meta({ description: 'pass as `after` for the next page' }),
  })
  .meta({ id: 'TaskListResponse' });
export const ErrorResponse = z
  .object({
    error: z.object({ code: z.number().int(), message: z.string(), type: z.string(), param: z.string().optional() }),
  })
  .meta({ id: 'Error' });
