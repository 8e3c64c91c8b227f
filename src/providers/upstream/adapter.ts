import type { TaskRequest } from '../../contract/submit.js';
import type { Refusal } from '../types.js';
import type { UpstreamError } from './upstream-error.js';

/** A task's state at the upstream, in vidgate's words (README: Configuration status mapping). */
export interface UpstreamStatus {
  state: 'pending' | 'processing' | 'completed' | 'failed' | 'cancelled';
  videoUrl?: string;
  lastFrameUrl?: string;
  error?: { code: string; message: string };
}

export interface SubmitInput {
  taskId: string;
  request: TaskRequest;
  seed: number;
  /** The upstream's own id for the requested model. */
  upstreamModel: string;
  apiKey: string;
}

/** The few calls that differ between upstream APIs; everything else lives in UpstreamProvider. */
export interface UpstreamAdapter {
  /** Returns the upstream's task id. Throws UpstreamError. */
  submit(input: SubmitInput, signal: AbortSignal): Promise<string>;
  /** Status of one task; undefined when the upstream does not know it. */
  pollOne(id: string, apiKey: string, signal: AbortSignal): Promise<UpstreamStatus | undefined>;
  /**
   * Status of several tasks created with one key; an id missing from the answer is unknown upstream.
   * One task the answer says something unreadable about maps to its own error, not the whole call's.
   */
  pollMany(ids: readonly string[], apiKey: string, signal: AbortSignal): Promise<Map<string, UpstreamStatus | UpstreamError>>;
  /** Best effort; the upstream may refuse once the task runs. */
  cancel(id: string, apiKey: string): Promise<void>;
  /** Most ids one pollMany call may carry. */
  readonly batchSize: number;
  /**
   * A submit repeated with the same task id cannot create a second upstream task (it carries an
   * Idempotency-Key): one whose answer was lost on the way is safe to send again.
   */
  readonly idempotentSubmit: boolean;
  /**
   * Why this upstream cannot do the task (a mode, value or option its API lacks), or null. Asked at
   * routing time, so such a task goes to another channel instead of failing here. Absent: all.
   */
  refusal?(request: TaskRequest): Refusal | null;
}
