/**
 * The vidgate SDK: a typed client for vidgate and any APIMart-compatible Seedance 2.0 API.
 *
 *   import { createClient } from 'vidgate/sdk';
 *   const client = createClient({ baseURL: 'http://localhost:3000', apiKey: process.env.VIDGATE_API_KEY });
 *   const { task_id } = await client.videos.generate({ model: 'doubao-seedance-2.0', prompt: 'A kitten yawning at the camera' });
 *   const task = await client.tasks.wait(task_id, { onProgress: (t) => console.log(t.status, t.progress) });
 *   if (task.status === 'completed') await client.tasks.download(task_id, 'kitten.mp4');
 *
 * It depends on nothing of the server.
 */
export { createClient, DEFAULT_BASE_URL, type ClientOptions, type VidgateClient } from './client.js';
export { VidgateError, VidgateValidationError, VidgateConnectionError, VidgateTimeoutError, type VidgateErrorType } from './errors.js';
export { validateGenerateParams, canonicalModel, MAX_SEED } from './validation.js';
export { normalizeTask, type Tasks, type GetOptions, type ListOptions, type WaitOptions, type DownloadOptions, type Language } from './tasks.js';
export type { Videos, GenerateOptions } from './videos.js';
export { UPLOAD_MAX_BYTES, type Uploads, type ImageInput, type UploadOptions } from './uploads.js';
export {
  MODEL_IDS,
  MODEL_ALIASES,
  RESOLUTIONS,
  SIZES,
  IMAGE_ROLES,
  TERMINAL_STATUSES,
  type ModelId,
  type ModelName,
  type Resolution,
  type Size,
  type ImageRole,
  type GenerateParams,
  type Submission,
  type Task,
  type TaskStatus,
  type TaskVideo,
  type TaskPage,
  type Upload,
  type Balance,
  type Model,
  type Download,
} from './types.js';
