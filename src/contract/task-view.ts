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

export const TaskResponse = z.object({ code: z.literal(200), data: TaskObject }).meta({ id: 'TaskResponse' });
export const TaskListResponse = z
  .object({
    code: z.literal(200),
    data: z.array(TaskObject),
    has_more: z.boolean(),
    next_after: z.string().nullable().meta({ description: 'pass as `after` for the next page' }),
  })
  .meta({ id: 'TaskListResponse' });
export const ErrorResponse = z
  .object({
    error: z.object({ code: z.number().int(), message: z.string(), type: z.string(), param: z.string().optional() }),
  })
  .meta({ id: 'Error' });
