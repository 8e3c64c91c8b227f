import type { TaskRecord } from '../store/types.js';
import { failureMessage, failureType, type Language } from '../contract/failures.js';
import { microsToUsd } from '../contract/prices.js';
import type { TaskObject } from '../contract/task-view.js';

/** A stored task as the API shows it (GET /v1/tasks/{id}, lists, live events, webhook bodies). */
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
