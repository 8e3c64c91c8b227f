/**
 * Shapes of the admin API (`/admin/v1/…`) and of the usage answers, as the console reads them. The
 * server's OpenAPI document (/openapi.json) is the reference: AdminAccount, AdminKey,
 * AdminLedgerEntry, AdminChannel, AdminQueue, WebhookDelivery, Usage, AdminUsage, Asset, AssetTask.
 */

import type { ListPage } from './types.js';

export interface AdminAccount {
  id: string;
  name: string;
  unlimited: boolean;
  /** USD; 0 for unlimited accounts. */
  balance: number;
  spent: number;
  key_count: number;
  created_at: number;
}

export interface AdminKey {
  id: string;
  account_id: string;
  name: string;
  prefix: string;
  disabled: boolean;
  spend_cap: number | null;
  rpm_limit: number | null;
  in_flight_limit: number | null;
  spent: number;
  in_flight: number;
  callback_url: string | null;
  created_at: number;
  /** Unix seconds of the last task submitted with the key; null when none was. */
  last_used_at: number | null;
}

export interface CreatedKey {
  data: AdminKey;
  /** The secret: in this answer only. */
  api_key: string;
}

export type LedgerKind = 'topup' | 'reserve' | 'settle' | 'refund';

export interface LedgerEntry {
  id: number;
  kind: LedgerKind;
  amount: number;
  balance_after: number | null;
  task_id: string | null;
  key_id: string | null;
  note: string | null;
  created_at: number;
}

export type ChannelState = 'ok' | 'busy' | 'paused';

export type ProviderKind = 'local' | 'ark' | 'apimart' | 'fal' | 'replicate';

/** USD per second, by model, then resolution (`{"doubao-seedance-2.0": {"480p": 0.05}}`). */
export type CostRates = Record<string, Record<string, number>>;

/** A channel's declared upstream cost, in the configuration's shape (README: Routing by cost, daily budgets and margins). */
export interface ChannelCost {
  /** Per output second. */
  per_second: CostRates;
  /** Per input + output second, when the task has a reference video. */
  per_second_with_reference_video: CostRates;
}

/** A channel's upstream cost today (UTC), read from the database: what counts against `daily_budget_usd`. */
export interface ChannelToday {
  /** The UTC date counted, YYYY-MM-DD. */
  date: string;
  /** USD: the upstream cost of its tasks completed today. */
  settled: number;
  /** USD: the expected upstream cost of its unfinished tasks. */
  in_flight: number;
  /** settled + in_flight. */
  spent: number;
  /** daily_budget_usd − spent, at least 0; null without a budget. */
  remaining: number | null;
}

export interface AdminChannel {
  name: string;
  provider: ProviderKind;
  models: '*' | string[];
  priority: number;
  weight: number;
  max_in_flight: number;
  in_flight: { pending: number; processing: number };
  window_seconds: number;
  finished: number;
  completed: number;
  failed: number;
  cancelled: number;
  error_rate: number | null;
  p50_seconds: number | null;
  p95_seconds: number | null;
  sampled: number;
  state: ChannelState;
  state_reason: string | null;
  /** Unix seconds: when a 429 pause ends, or for a spent daily budget the next 00:00 UTC. */
  paused_until: number | null;
  /** Null when the channel declares no cost. */
  cost: ChannelCost | null;
  /** Null: no budget. */
  daily_budget_usd: number | null;
  today: ChannelToday;
}

export interface ChannelList {
  code: 200;
  data: AdminChannel[];
  runs_work: boolean;
}

interface OldestPending {
  oldest_pending_at: number | null;
  oldest_pending_age_seconds: number | null;
}

export interface QueueView extends OldestPending {
  pending: number;
  processing: number;
  by_channel: Array<{ channel: string; pending: number; processing: number } & OldestPending>;
  by_channel_model: Array<{ channel: string; model: string; pending: number; processing: number } & OldestPending>;
}

export type DeliveryState = 'pending' | 'delivered' | 'failed';

export interface WebhookAttempt {
  attempt: number;
  at: number;
  duration_ms: number;
  status: number | null;
  error: string | null;
}

export interface WebhookDelivery {
  id: string;
  account_id: string;
  task_id: string;
  event: 'pending' | 'processing' | 'completed' | 'failed' | 'cancelled';
  url: string;
  state: DeliveryState;
  attempts: number;
  next_attempt_at: number | null;
  last_status: number | null;
  last_error: string | null;
  created_at: number;
  finished_at: number | null;
  attempt_log: WebhookAttempt[];
}

export type DeliveryPage = ListPage<WebhookDelivery, number>;

/** `GET /v1/usage` and `GET /admin/v1/usage`. */
export type UsageGroup = 'day' | 'model' | 'account' | 'channel';

export interface UsageCounts {
  tasks: number;
  completed: number;
  failed: number;
  cancelled: number;
  /** USD charged, net, for the tasks created in the bucket. */
  spent: number;
  output_seconds: number;
}

export interface UsageBucket extends UsageCounts {
  key: string;
}

/**
 * The operator's own figures (`GET /admin/v1/usage` only, never an account's `/v1/usage`): they count
 * only the completed tasks whose channel declares a cost for them; other tasks are in neither.
 */
export interface UsageCosts {
  /** USD the upstreams charged, by the cost their channels declare. */
  upstream_cost: number;
  /** USD kept: each task's price charged minus its upstream cost, summed (negative when the upstream costs more). */
  margin: number;
}

export interface AdminUsageBucket extends UsageBucket, UsageCosts {}

export interface UsageView {
  account_id: string | null;
  from: string;
  to: string;
  start: number;
  end: number;
  group_by: UsageGroup;
  currency: 'USD';
  balance: number | null;
  total: UsageCounts;
  buckets: UsageBucket[];
}

/** `GET /admin/v1/usage`: the same, each bucket and the total with the operator's figures. */
export interface AdminUsageView extends UsageView {
  total: UsageCounts & UsageCosts;
  buckets: AdminUsageBucket[];
}

/** `GET /v1/assets`, `GET /v1/asset-groups`, and the asset review task of `GET /v1/tasks/{id}` (and `GET /v1/asset-reviews`). */
export type AssetType = 'Image' | 'Video' | 'Audio';

export interface Asset {
  id: string;
  url: string;
  name: string;
  type: AssetType;
  status: 'pending' | 'active' | 'failed';
  reason?: string;
  group_id: string;
  project_name: string;
  created: number;
  /** The review task that checked it (GET /v1/tasks/{review_id}). */
  review_id: string;
  /** Signed URL of the reviewed copy (no key needed); null unless active and still stored. */
  preview_url: string | null;
}

export type AssetList = ListPage<Asset>;

/** `GET /v1/asset-groups`: a group with its assets counted by review outcome (approved is `active`). */
export interface AssetGroup {
  id: string;
  name: string;
  /** '' when none was given. */
  description: string;
  project_name: string | null;
  created_at: number;
  counts: { approved: number; failed: number; pending: number };
}

export interface ReviewedAsset {
  asset_id: string;
  asset_url: string;
  name: string;
  status: string;
  reason?: string;
}

export interface AssetReview {
  id: string;
  object: 'seedance.avatar.asset.task';
  status: 'pending' | 'processing' | 'completed' | 'failed';
  progress: number;
  created: number;
  completed?: number;
  group_id: string;
  result?: { usable_assets: ReviewedAsset[]; failed_assets: ReviewedAsset[] };
  error?: { code: string; message: string; type: string };
}

export interface Upload {
  url: string;
  filename: string;
  content_type: string;
  bytes: number;
  created_at: number;
}
