import type { TaskRecord } from '../store/types.js';
import { failureMessage, failureType, type Language } from '../contract/failures.js';
import { microsToUsd } from '../contract/prices.js';
import type { TaskObject, TaskRequestView, TaskTimings } from '../contract/task-view.js';
import type { MediaInput } from '../contract/submit.js';

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

/**
 * The vidgate extensions of `include=request`: the submit body as stored and the task's timings.
 * `request` is a submit body (the contract's field names, defaults applied, the seed the render
 * used), so POSTing it again makes the same task; callback_url stays out (README: vidgate extensions).
 */
export function toTaskExtensions(task: TaskRecord): { request: TaskRequestView; timings: TaskTimings } {
  return { request: requestView(task), timings: timingsOf(task) };
}

function requestView(task: TaskRecord): TaskRequestView {
  const r = task.request;
  const view: TaskRequestView = {
    model: r.model,
    prompt: r.prompt,
    duration: r.duration,
    size: r.size,
    resolution: r.resolution,
    seed: task.seed,
    generate_audio: r.generateAudio,
    return_last_frame: r.returnLastFrame,
  };
  // Read defensively: rows written by earlier versions may lack a field added since.
  const tools = r.tools ?? [];
  if (tools.length > 0) view.tools = tools.map((tool) => ({ type: tool.type }));
  const fields = mediaFields(r.media ?? []);
  if (fields.image_urls.length > 0) view.image_urls = fields.image_urls;
  if (fields.image_with_roles.length > 0) view.image_with_roles = fields.image_with_roles;
  if (fields.video_urls.length > 0) view.video_urls = fields.video_urls;
  if (fields.audio_urls.length > 0) view.audio_urls = fields.audio_urls;
  return view;
}

const MEDIA_FIELD = /^(image_urls|image_with_roles|video_urls|audio_urls)\[(\d+)\](\.url)?$/;

/**
 * The media back in the fields the client used: each input remembers its field (`image_urls[1]`,
 * `image_with_roles[0].url`), so the order and the choice between image_urls and image_with_roles
 * come back as they were sent.
 */
function mediaFields(media: readonly MediaInput[]) {
  type Placed<T> = Array<{ at: number; value: T }>;
  const placed = {
    image_urls: [] as Placed<string>,
    image_with_roles: [] as Placed<{ url: string; role: 'first_frame' | 'last_frame' | 'reference_image' }>,
    video_urls: [] as Placed<string>,
    audio_urls: [] as Placed<string>,
  };
  media.forEach((m, i) => {
    const match = MEDIA_FIELD.exec(m.field);
    const at = match ? Number(match[2]) : i;
    if (m.kind === 'video') placed.video_urls.push({ at, value: m.url });
    else if (m.kind === 'audio') placed.audio_urls.push({ at, value: m.url });
    else if (match?.[1] === 'image_urls') placed.image_urls.push({ at, value: m.url });
    else if (m.role === 'first_frame' || m.role === 'last_frame' || m.role === 'reference_image')
      placed.image_with_roles.push({ at, value: { url: m.url, role: m.role } });
  });
  const ordered = <T>(list: Placed<T>) => list.sort((a, b) => a.at - b.at).map((p) => p.value);
  return {
    image_urls: ordered(placed.image_urls),
    image_with_roles: ordered(placed.image_with_roles),
    video_urls: ordered(placed.video_urls),
    audio_urls: ordered(placed.audio_urls),
  };
}

/** Seconds between two unix-ms times, to the millisecond. */
const seconds = (from: number, to: number) => Math.max(0, to - from) / 1000;

function timingsOf(task: TaskRecord): TaskTimings {
  const { createdAt, startedAt, finishedAt } = task;
  return {
    created: unix(createdAt),
    started: startedAt === null ? null : unix(startedAt),
    finished: finishedAt === null ? null : unix(finishedAt),
    queued_seconds: startedAt !== null ? seconds(createdAt, startedAt) : finishedAt !== null ? seconds(createdAt, finishedAt) : null,
    run_seconds: startedAt !== null && finishedAt !== null ? seconds(startedAt, finishedAt) : null,
  };
}
