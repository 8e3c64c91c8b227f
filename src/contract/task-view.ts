import { z } from 'zod';
import type { TaskRecord } from '../store/types.js';
import { failureMessage, failureType, type Language } from './failures.js';
import { microsToUsd } from './prices.js';

/** Response shapes of SPEC §2. They document the API; handlers build them with the functions below. */
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
    credits_cost: z.number().meta({ description: 'the same charge in the operator\'s credit unit (credits_per_usd, default 1 credit = 1 USD)' }),
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

const unix = (ms: number) => Math.floor(ms / 1000);
/** Micro-USD to credits, rounded to 6 decimals like `cost`. */
const creditsOf = (micros: number, perUsd: number) => Math.round(micros * perUsd) / 1e6;

export interface ViewOptions {
  language: Language;
  /** Absolute signed URL of a stored result file. */
  fileUrl: (key: string, expiresAt: number) => string;
  /** The operator's credits per USD (PriceBook.creditsPerUsd). */
  creditsPerUsd: number;
}

export function toTaskObject(task: TaskRecord, o: ViewOptions): TaskObject {
  const view: TaskObject = {
    id: task.id,
    status: task.status,
    progress: task.status === 'completed' ? 100 : task.progress,
    created: unix(task.createdAt),
    estimated_time: task.estimatedSeconds,
    cost: microsToUsd(task.costMicros),
    credits_cost: creditsOf(task.costMicros, o.creditsPerUsd),
  };
  if (task.status === 'completed' && task.result && task.finishedAt !== null) {
    const { video, lastFrame, expiresAt } = task.result;
    view.completed = unix(task.finishedAt);
    view.actual_time = Math.max(0, Math.round((task.finishedAt - task.createdAt) / 1000));
    view.result = {
      videos: [{ url: [o.fileUrl(video.key, expiresAt)], expires_at: unix(expiresAt) }],
      ...(lastFrame ? { last_frame_url: o.fileUrl(lastFrame.key, expiresAt) } : {}),
    };
  }
  if ((task.status === 'failed' || task.status === 'cancelled') && task.error) {
    view.error = { code: task.error.code, message: failureMessage(task.error, o.language), type: failureType(task.error.code) };
  }
  return view;
}
