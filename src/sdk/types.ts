/**
 * Shapes of the APIMart Seedance 2.0 API as the SDK sees them (README: API–3). Written out here rather
 * than imported, so the SDK does not depend on the server's code.
 */

export const MODEL_IDS = [
  'doubao-seedance-2.0',
  'doubao-seedance-2.0-fast',
  'doubao-seedance-2.0-face',
  'doubao-seedance-2.0-fast-face',
  'doubao-seedance-2.0-mini',
] as const;
export const MODEL_ALIASES = ['seedance-2.0', 'seedance-2.0-fast', 'seedance-2.0-face', 'seedance-2.0-fast-face', 'seedance-2.0-mini'] as const;
export type ModelId = (typeof MODEL_IDS)[number];
export type ModelName = ModelId | (typeof MODEL_ALIASES)[number];

export const RESOLUTIONS = ['480p', '720p', '1080p', '4k'] as const;
export type Resolution = (typeof RESOLUTIONS)[number];

export const SIZES = ['16:9', '9:16', '1:1', '4:3', '3:4', '21:9', 'adaptive'] as const;
export type Size = (typeof SIZES)[number];

export const IMAGE_ROLES = ['first_frame', 'last_frame', 'reference_image'] as const;
export type ImageRole = (typeof IMAGE_ROLES)[number];

/** The body of `POST /v1/videos/generations`: the seed's fields, by their wire names. */
export interface GenerateParams {
  model: ModelName;
  /** Required unless an image or video reference is given; ≤ 4000 characters (no limit on -mini). */
  prompt?: string;
  /** Seconds, integer 4–15; default 5. */
  duration?: number;
  /** Default 16:9. */
  size?: Size;
  /** One of the model's resolutions; default 720p. */
  resolution?: Resolution;
  /** Integer −1…4294967295; −1 or absent = random. */
  seed?: number;
  generate_audio?: boolean;
  return_last_frame?: boolean;
  tools?: Array<{ type: 'web_search' }>;
  /** ≤ 9 http(s):// or asset:// URLs. One image alone is the first frame; otherwise references. */
  image_urls?: string[];
  /** ≤ 9; never together with image_urls. */
  image_with_roles?: Array<{ url: string; role: ImageRole }>;
  /** ≤ 3 reference videos. */
  video_urls?: string[];
  /** ≤ 3 reference audio files; need an image or video reference. */
  audio_urls?: string[];
}

/** One element of the submit answer's `data` (an array on APIMart and vidgate, an object on some hosts). */
export interface Submission {
  task_id: string;
  status: 'submitted';
  /** The host answered from an earlier submit with the same Idempotency-Key (`Idempotency-Replayed: true`). */
  replayed: boolean;
}

export type TaskStatus = 'pending' | 'processing' | 'completed' | 'failed' | 'cancelled';
export const TERMINAL_STATUSES: ReadonlySet<TaskStatus> = new Set(['completed', 'failed', 'cancelled']);

export interface TaskVideo {
  /** Always an array here, although some hosts send a single string. */
  url: string[];
  /** Unix seconds. */
  expires_at?: number;
}

/** `data` of `GET /v1/tasks/{id}` (README: API). */
export interface Task {
  id: string;
  status: TaskStatus;
  /** 0–100; never goes down. */
  progress: number;
  /** Unix seconds. */
  created: number;
  /** Seconds the task is expected to take. */
  estimated_time?: number;
  /** Unix seconds; only when completed. */
  completed?: number;
  /** Seconds from submit to completion; only when completed. */
  actual_time?: number;
  result?: { videos: TaskVideo[]; last_frame_url?: string };
  /** Only when failed. */
  error?: { code: string; message: string; type: string };
  /** USD. */
  cost?: number;
}

export interface TaskPage {
  data: Task[];
  has_more: boolean;
  /** Pass as `after` to get the next page; null on the last one. */
  next_after: string | null;
}

export interface Upload {
  /** Signed URL, valid 72 h; usable in image_urls / image_with_roles. */
  url: string;
  filename: string;
  content_type: string;
  bytes: number;
  /** Unix seconds. */
  created_at: number;
}

export interface Balance {
  success: boolean;
  /** USD; −1 when unlimited. */
  remain_balance: number;
  used_balance: number;
  unlimited_quota: boolean;
}

export interface Model {
  id: string;
  aliases?: string[];
  description?: string;
  resolutions?: string[];
  durations?: { min: number; max: number; default: number };
  sizes?: string[];
  features?: { asset_urls: boolean; prompt_limit: number | null };
  pricing?: { unit: string; per_second: Record<string, number>; per_second_with_reference_video?: Record<string, number> };
}

export interface Download {
  path: string;
  bytes: number;
  content_type: string | null;
  /** Where the bytes came from: the task's signed result URL, or `GET /v1/tasks/{id}/content`. */
  source: 'result_url' | 'content';
}
