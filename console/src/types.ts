/** The API's shapes as the console reads them (the server's OpenAPI at /openapi.json is the reference). */

export type TaskStatus = 'pending' | 'processing' | 'completed' | 'failed' | 'cancelled';

export interface TaskRequest {
  model: string;
  prompt?: string;
  resolution?: string;
  duration?: number;
  size?: string;
  image_urls?: string[];
  image_with_roles?: Array<{ url: string; role: string }>;
  video_urls?: string[];
  audio_urls?: string[];
  generate_audio?: boolean;
  return_last_frame?: boolean;
  web_search?: boolean;
  /** `[{"type":"web_search"}]` when web search was asked for (the contract's field; `web_search` is not one). */
  tools?: Array<{ type: string }>;
  seed?: number;
  [field: string]: unknown;
}

export interface Task {
  id: string;
  status: TaskStatus;
  progress: number;
  created: number;
  estimated_time: number;
  completed?: number;
  actual_time?: number;
  result?: { videos: Array<{ url: string[]; expires_at: number }>; last_frame_url?: string };
  error?: { code: string; message: string; type: string };
  cost: number;
  credits_cost: number;
  /** With include=request. */
  request?: TaskRequest;
  timings?: { created: number; started: number | null; finished: number | null; queued_seconds: number | null; run_seconds: number | null };
}

/** One page of a paged list (tasks, assets, reviews, the admin lists): while `has_more`, `next_after` goes back as `after`. */
export interface ListPage<T, C = string> {
  data: T[];
  has_more: boolean;
  next_after: C | null;
}

export type TaskList = ListPage<Task>;

export interface Model {
  id: string;
  aliases: string[];
  description: string;
  resolutions: string[];
  durations: { min: number; max: number; default: number };
  sizes: string[];
  features: { asset_urls: boolean; prompt_limit: number | null };
  pricing: { unit: string; per_second: Record<string, number>; per_second_with_reference_video: Record<string, number> };
}

export interface Balance {
  remain_balance: number;
  used_balance: number;
  unlimited_quota: boolean;
  [field: string]: unknown;
}
