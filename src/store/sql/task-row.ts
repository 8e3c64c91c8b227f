import type { TaskRecord } from '../task-queue-store.js';

/** A tasks row as both SQL stores keep it: JSON in text columns, flags as 0/1, times in unix ms. */

export interface TaskRow {
  id: string;
  account_id: string;
  key_id: string;
  status: TaskRecord['status'];
  progress: number;
  request: string;
  seed: number;
  provider: string;
  estimated_seconds: number;
  cost_micros: number;
  reserved_micros: number;
  upstream_cost_micros: number | null;
  margin_micros: number | null;
  provider_state: string | null;
  attempts: number;
  interrupted_runs: number;
  interrupted_alone: number;
  lease_owner: string | null;
  lease_expires_at: number | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  result: string | null;
  error: string | null;
  results_collected: number;
  callback_url: string | null;
}

export const toTask = (row: TaskRow): TaskRecord => ({
  id: row.id,
  accountId: row.account_id,
  keyId: row.key_id,
  status: row.status,
  progress: row.progress,
  request: JSON.parse(row.request),
  seed: row.seed,
  provider: row.provider,
  providerState: row.provider_state ? JSON.parse(row.provider_state) : null,
  estimatedSeconds: row.estimated_seconds,
  costMicros: row.cost_micros,
  reservedMicros: row.reserved_micros,
  upstreamCostMicros: row.upstream_cost_micros ?? null,
  marginMicros: row.margin_micros ?? null,
  attempts: row.attempts,
  interruptedRuns: row.interrupted_runs,
  interruptedAlone: row.interrupted_alone,
  leaseOwner: row.lease_owner,
  leaseExpiresAt: row.lease_expires_at,
  createdAt: row.created_at,
  startedAt: row.started_at,
  finishedAt: row.finished_at,
  result: row.result ? JSON.parse(row.result) : null,
  error: row.error ? JSON.parse(row.error) : null,
  resultsCollected: row.results_collected === 1,
  callbackUrl: row.callback_url,
});
