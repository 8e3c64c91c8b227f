/**
 * Why the task service refused a request, in its own terms. The API layer alone decides what each
 * means in HTTP (status, Retry-After): src/api/errors.ts.
 */
export type TaskRefusalReason =
  /** The submit's input breaks a rule the service checks itself (assets, idempotency key format, a model no channel serves). */
  | 'invalid_input'
  /** No such task for this caller (another account's task is answered the same way). */
  | 'task_not_found'
  /** Cancel of a task that already finished. */
  | 'already_finished'
  /** The Idempotency-Key was used with another body within the window. */
  | 'idempotency_conflict'
  /** The account's balance is below the task's price. */
  | 'insufficient_balance'
  /** The key's spending cap leaves less than the task's price. */
  | 'key_cap_reached'
  /** The key has as many unfinished tasks as it may. */
  | 'too_many_in_flight'
  /** Every channel that could take the task has spent its daily budget (README: Configuration, `daily_budget_usd`). */
  | 'channels_over_budget';

export class TaskRefused extends Error {
  override name = 'TaskRefused';
  constructor(
    readonly reason: TaskRefusalReason,
    message: string,
    /** The request field or header at fault, when there is one. */
    readonly param?: string,
    /** When trying again may succeed, in seconds (channels_over_budget: the next 00:00 UTC). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}
