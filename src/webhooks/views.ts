import { z } from 'zod';
import type { WebhookAttempt, WebhookDelivery } from '../store/types.js';

const unix = (ms: number | null) => (ms === null ? null : Math.floor(ms / 1000));

export const WebhookAttemptView = z
  .object({
    attempt: z.number().int(),
    at: z.number().int().meta({ description: 'unix seconds' }),
    duration_ms: z.number().int(),
    status: z.number().int().nullable().meta({ description: "the receiver's HTTP status; null when it gave none" }),
    error: z.string().nullable(),
  })
  .meta({ id: 'WebhookAttempt' });

export const WebhookDeliveryView = z
  .object({
    id: z.string().meta({ description: 'the webhook-id header: one per event, the same on every retry' }),
    account_id: z.string(),
    task_id: z.string(),
    event: z.enum(['pending', 'processing', 'completed', 'failed', 'cancelled']).meta({ description: 'the status the event announces' }),
    url: z.string(),
    state: z.enum(['pending', 'delivered', 'failed']).meta({ description: 'pending: queued or retrying; failed: given up' }),
    attempts: z.number().int(),
    next_attempt_at: z.number().int().nullable(),
    last_status: z.number().int().nullable(),
    last_error: z.string().nullable(),
    created_at: z.number().int(),
    finished_at: z.number().int().nullable(),
    attempt_log: z.array(WebhookAttemptView),
  })
  .meta({ id: 'WebhookDelivery' });
export type WebhookDeliveryView = z.infer<typeof WebhookDeliveryView>;

export function deliveryView(d: WebhookDelivery, attempts: readonly WebhookAttempt[]): WebhookDeliveryView {
  return {
    id: d.id,
    account_id: d.accountId,
    task_id: d.taskId,
    event: d.event,
    url: d.url,
    state: d.state,
    attempts: d.attempts,
    next_attempt_at: d.state === 'pending' ? unix(d.nextAttemptAt) : null,
    last_status: d.lastStatus,
    last_error: d.lastError,
    created_at: unix(d.createdAt)!,
    finished_at: unix(d.finishedAt),
    attempt_log: attempts
      .filter((a) => a.deliverySeq === d.seq)
      .map((a) => ({ attempt: a.attempt, at: unix(a.startedAt)!, duration_ms: a.durationMs, status: a.statusCode, error: a.error })),
  };
}
