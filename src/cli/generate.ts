import { stat } from 'node:fs/promises';
import { validateGenerateParams, type GenerateParams, type ImageRole, type Resolution, type Size, type VidgateClient } from '../sdk/index.js';
import { CliUsageError, EXIT, clientFrom, formatBytes, formatDuration, info, out, printJson, type ActionContext, type ConnectionOptions } from './output.js';
import { downloadProgress, taskProgress } from './progress.js';

export interface GenerateCliOptions extends ConnectionOptions {
  model: string;
  resolution?: string;
  size?: string;
  duration?: number;
  seed?: number;
  audio?: boolean;
  lastFrame?: boolean;
  webSearch?: boolean;
  image?: string[];
  firstFrame?: string;
  lastFrameImage?: string;
  referenceImage?: string[];
  video?: string[];
  audioRef?: string[];
  wait?: boolean;
  out?: string;
  timeout?: number;
  idempotencyKey?: string;
}

const URL_LIKE = /^[a-z][a-z0-9+.-]*:\/\//i;

/** A media argument: a URL is sent as is; anything else must be a local image file, uploaded first. */
interface MediaArg {
  flag: string;
  value: string;
  local: boolean;
}

async function imageArg(flag: string, value: string): Promise<MediaArg> {
  if (URL_LIKE.test(value)) return { flag, value, local: false };
  const info = await stat(value).catch(() => null);
  if (!info?.isFile()) throw new CliUsageError(`${flag} ${value}: no such file (give an image file, or an http(s):// or asset:// URL)`);
  return { flag, value, local: true };
}

function urlArg(flag: string, value: string): string {
  if (!URL_LIKE.test(value)) throw new CliUsageError(`${flag} ${value}: give an http(s):// or asset:// URL (only images can be uploaded from files)`);
  return value;
}

export async function generateCommand(prompt: string | undefined, o: GenerateCliOptions, ctx: ActionContext): Promise<number> {
  const client = clientFrom(o);
  const [videos, audios] = [o.video ?? [], o.audioRef ?? []];
  const images = await Promise.all((o.image ?? []).map((v) => imageArg('--image', v)));
  const roles: Array<MediaArg & { role: ImageRole }> = [];
  if (o.firstFrame) roles.push({ ...(await imageArg('--first-frame', o.firstFrame)), role: 'first_frame' });
  if (o.lastFrameImage) roles.push({ ...(await imageArg('--last-frame-image', o.lastFrameImage)), role: 'last_frame' });
  for (const v of o.referenceImage ?? []) roles.push({ ...(await imageArg('--reference-image', v)), role: 'reference_image' });

  const params = (url: (m: MediaArg, i: number) => string): GenerateParams => ({
    model: o.model as GenerateParams['model'],
    ...(prompt !== undefined ? { prompt } : {}),
    ...(o.duration !== undefined ? { duration: o.duration } : {}),
    ...(o.size !== undefined ? { size: o.size as Size } : {}),
    ...(o.resolution !== undefined ? { resolution: o.resolution as Resolution } : {}),
    ...(o.seed !== undefined ? { seed: o.seed } : {}),
    ...(o.audio ? { generate_audio: true } : {}),
    ...(o.lastFrame ? { return_last_frame: true } : {}),
    ...(o.webSearch ? { tools: [{ type: 'web_search' as const }] } : {}),
    ...(images.length ? { image_urls: images.map(url) } : {}),
    ...(roles.length ? { image_with_roles: roles.map((m, i) => ({ url: url(m, images.length + i), role: m.role })) } : {}),
    ...(videos.length ? { video_urls: videos.map((v) => urlArg('--video', v)) } : {}),
    ...(audios.length ? { audio_urls: audios.map((v) => urlArg('--audio-ref', v)) } : {}),
  });

  // Check the rules before uploading anything: local files stand in as placeholder URLs.
  validateGenerateParams(params((m, i) => (m.local ? `https://upload.invalid/${i}` : m.value)));
  const uploaded = new Map<string, string>();
  for (const m of [...images, ...roles]) {
    if (!m.local || uploaded.has(m.value)) continue;
    if (!o.json) info(`uploading ${m.value}…`);
    uploaded.set(m.value, (await client.uploads.image(m.value, { signal: ctx.signal })).url);
  }
  ctx.onInterrupt = 'interrupted while submitting: a task may have been created; see vidgate tasks list';
  const submission = await client.videos.generate(
    params((m) => (m.local ? uploaded.get(m.value)! : m.value)),
    { signal: ctx.signal, ...(o.idempotencyKey ? { idempotencyKey: o.idempotencyKey } : {}) },
  );
  const id = submission.task_id;
  info(`task ${id} submitted`);

  if (!o.wait && !o.out) {
    if (o.json) printJson(submission);
    else {
      out(id);
      info(`follow it with: vidgate tasks wait ${id}`);
    }
    return EXIT.ok;
  }
  return waitAndFinish(client, id, o, ctx);
}

/** Waits with a progress bar, then downloads to `--out` if asked; prints the outcome. */
export async function waitAndFinish(
  client: VidgateClient,
  id: string,
  o: { out?: string; json?: boolean; timeout?: number },
  ctx: ActionContext,
): Promise<number> {
  ctx.onInterrupt = `interrupted: task ${id} keeps running; resume with: vidgate tasks wait ${id}${o.out ? ` --out ${o.out}` : ''}`;
  const progress = taskProgress(id);
  ctx.cleanup.push(() => progress.stop());
  const task = await client.tasks.wait(id, {
    signal: ctx.signal,
    onProgress: (t) => progress.update(t),
    ...(o.timeout !== undefined ? { timeout: o.timeout * 1000 } : {}),
  });
  progress.stop();

  if (task.status !== 'completed') {
    if (o.json) printJson(task);
    const why = task.error ? `: ${task.error.code}: ${task.error.message}` : '';
    info(`task ${id} ${task.status}${why}`);
    return EXIT.taskFailed;
  }
  const took = task.actual_time !== undefined ? ` in ${formatDuration(task.actual_time)}` : '';
  info(`task ${id} completed${took}${task.cost !== undefined ? `, cost $${task.cost}` : ''}`);

  if (!o.out) {
    if (o.json) printJson(task);
    else out(task.result?.videos[0]?.url[0] ?? '');
    return EXIT.ok;
  }
  ctx.onInterrupt = `interrupted: task ${id} is completed; download it with: vidgate tasks download ${id} ${o.out}`;
  const file = await downloadWithProgress(client, id, o.out, 'video', ctx);
  if (o.json) printJson({ ...task, output: file.path });
  else out(file.path);
  return EXIT.ok;
}

export async function downloadWithProgress(client: VidgateClient, id: string, path: string, variant: 'video' | 'last_frame', ctx: ActionContext) {
  const bar = downloadProgress();
  ctx.cleanup.push(() => bar.stop());
  const file = await client.tasks.download(id, path, { variant, signal: ctx.signal, onProgress: (received, total) => bar.update(received, total) });
  bar.stop();
  info(`saved ${file.path} (${formatBytes(file.bytes)})`);
  return file;
}
