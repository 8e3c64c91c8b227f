import { Readable } from 'node:stream';
import fastifyMultipart from '@fastify/multipart';
import type { FastifyError, FastifyRequest, FastifySchemaCompiler } from 'fastify';
import { type FastifyPluginAsyncZod, validatorCompiler } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  INPUT_REFERENCE,
  inputReferenceOf,
  OpenAIErrorResponse,
  OpenAIVideo,
  OpenAIVideoCreateBody,
  OpenAIVideoDeleted,
  OpenAIVideoList,
  openAIErrorBody,
  parseVideoCreate,
  toSubmitBody,
  toVideoObject,
} from '../contract/openai-video.js';
import { UPLOAD_MAX_BYTES, type StoredUpload } from '../storage/upload-storage.js';
import type { TaskRecord } from '../store/types.js';
import { TaskRefused } from '../tasks/errors.js';
import { ApiError, badRequest } from './api-error.js';
import { callerOf } from './auth.js';
import { type ApiContext, publicBase } from './context.js';
import { toApiError } from './errors.js';
import { sendStoredFile } from './signed-file.js';
import { asUploadError } from './uploads.js';

/**
 * The OpenAI Videos API (README: OpenAI Videos API) on the same tasks, accounts, prices and storage
 * as the APIMart door: a video is a task, under the task's own id. Registered inside the /v1 scope
 * (key, rate limits, in-flight limits); errors on these routes are in OpenAI's shape.
 */

/** `/v1/videos/generations` is the APIMart submit route: no video id may shadow it for other methods. */
const VIDEO = '/v1/videos/:video_id(^(?!generations$).+$)';
/** Room for a 20 MB image as a multipart part or as base64 in a JSON data: URL. */
const CREATE_BODY_LIMIT = Math.ceil((UPLOAD_MAX_BYTES * 4) / 3) + 64 * 1024;

const VideoParams = z.object({
  video_id: z
    .string()
    .max(64)
    .meta({ examples: ['task_01KMCGF6BQGN3X28H3KSR50X5T'] }),
});
const LIMIT_RULE = 'limit must be an integer from 1 to 100';
const ListQuery = z.object({
  after: z.string().max(64).optional().meta({ description: 'a video id: the page continues after it (in the order asked for)' }),
  limit: z.coerce.number(msgOf(LIMIT_RULE)).int(msgOf(LIMIT_RULE)).min(1, msgOf(LIMIT_RULE)).max(100, msgOf(LIMIT_RULE)).default(20),
  order: z
    .enum(['asc', 'desc'], msgOf('order must be asc or desc'))
    .default('desc')
    .meta({ description: 'by creation time: desc (newest first, default) or asc' }),
});
const ContentQuery = z.object({
  variant: z
    .enum(['video', 'thumbnail', 'spritesheet'], msgOf('variant must be video, thumbnail or spritesheet'))
    .default('video')
    .meta({ description: 'video (MP4); thumbnail (PNG of the last frame); spritesheet is not made by this server (400)' }),
});
const errors = (...statuses: number[]) => Object.fromEntries(statuses.map((s) => [s, OpenAIErrorResponse]));

function msgOf(text: string) {
  return { error: () => text };
}

/** The body is read by the handler (a form or JSON); its schema documents it. */
const bodyReadByHandler: FastifySchemaCompiler<unknown> = (route) =>
  route.httpPart === 'body' ? (data) => ({ value: data }) : validatorCompiler(route as Parameters<FastifySchemaCompiler<z.ZodType>>[0]);

export const openAIVideoRoutes =
  (ctx: Pick<ApiContext, 'limits' | 'publicUrl' | 'storage' | 'store' | 'tasks' | 'uploads'>): FastifyPluginAsyncZod =>
  async (app) => {
    await app.register(fastifyMultipart, {
      limits: { fileSize: UPLOAD_MAX_BYTES, files: 1, fields: 16, parts: 32, fieldSize: ctx.limits.bodyLimitBytes, headerPairs: 64 },
    });
    app.setErrorHandler((error: FastifyError, request, reply) => {
      const apiError = toApiError(error, ctx.limits.bodyLimitBytes);
      if (apiError.status >= 500) request.log.error({ err: error }, 'request failed');
      // The OpenAI SDK retries a 409 by default; none of ours goes away by retrying.
      const headers = apiError.status === 409 ? { ...apiError.headers, 'x-should-retry': 'false' } : apiError.headers;
      reply
        .code(apiError.status)
        .headers(headers)
        .send(openAIErrorBody(apiError.status, apiError.message, apiError.param));
    });

    const video = async (request: FastifyRequest, id: string): Promise<TaskRecord> => {
      try {
        return await ctx.tasks.get(callerOf(request), id);
      } catch (err) {
        if (err instanceof TaskRefused && err.reason === 'task_not_found') throw new ApiError(404, `no video found with id ${JSON.stringify(id)}`);
        throw err;
      }
    };

    app.post(
      '/v1/videos',
      {
        config: { rateBucket: 'create' },
        bodyLimit: CREATE_BODY_LIMIT,
        validatorCompiler: bodyReadByHandler,
        schema: {
          summary: 'Create a video (OpenAI Videos API)',
          description:
            'multipart/form-data (as the OpenAI SDK sends it; the first frame as the file `input_reference`) or JSON (`input_reference: {image_url}`). Makes a Seedance task, priced and charged like POST /v1/videos/generations; the answer is the `video` object, whose id is the task id.',
          tags: ['openai'],
          security: [{ bearer: [] }],
          consumes: ['multipart/form-data', 'application/json'],
          body: OpenAIVideoCreateBody,
          headers: z.object({
            'idempotency-key': z.string().optional().meta({ description: 'same key + same request within 24 h → the same video, charged once' }),
          }),
          response: { 200: OpenAIVideo, ...errors(400, 401, 402, 409, 413, 429) },
        },
      },
      async (request, reply) => {
        const caller = callerOf(request);
        const form = request.isMultipart() ? await readForm(ctx, request) : { fields: request.body as unknown, upload: null };
        let upload = form.upload;
        try {
          const create = parseVideoCreate(form.fields);
          // Checked before an inline image is stored for it.
          toSubmitBody(create, null);
          let firstFrame: string | null = null;
          if (upload && create.input_reference != null) {
            throw badRequest('input_reference was sent twice: send either a file or an image_url', INPUT_REFERENCE);
          }
          if (!upload) {
            const reference = inputReferenceOf(create);
            if (reference.kind === 'url') firstFrame = reference.url;
            if (reference.kind === 'inline') upload = await receive(ctx, Readable.from([reference.bytes]), INPUT_REFERENCE);
          }
          if (upload) firstFrame = uploadUrl(ctx, request, upload);
          const key = request.headers['idempotency-key'];
          const { task, replayed } = await ctx.tasks.submit(caller, toSubmitBody(create, firstFrame), key);
          if (key !== undefined) reply.header('idempotency-replayed', String(replayed));
          return toVideoObject(task);
        } catch (err) {
          // Refused: the image stored for it would never be read.
          if (upload) await discard(ctx, upload);
          throw err;
        }
      },
    );

    app.get(
      VIDEO,
      {
        schema: {
          summary: 'Retrieve a video (OpenAI Videos API)',
          tags: ['openai'],
          security: [{ bearer: [] }],
          params: VideoParams,
          response: { 200: OpenAIVideo, ...errors(401, 404) },
        },
      },
      async (request) => toVideoObject(await video(request, request.params.video_id)),
    );

    app.get(
      '/v1/videos',
      {
        schema: {
          summary: 'List videos (OpenAI Videos API): every task of the account, whichever door made it',
          tags: ['openai'],
          security: [{ bearer: [] }],
          querystring: ListQuery,
          response: { 200: OpenAIVideoList, ...errors(400, 401) },
        },
      },
      async (request) => {
        const { after, limit, order } = request.query;
        const tasks = await ctx.tasks.list(callerOf(request), { after, order, limit: limit + 1 });
        const data = tasks.slice(0, limit).map(toVideoObject);
        return { object: 'list' as const, data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: tasks.length > limit };
      },
    );

    app.get(
      `${VIDEO}/content`,
      {
        schema: {
          summary: "Download a video's content (OpenAI Videos API); Range requests supported",
          tags: ['openai'],
          security: [{ bearer: [] }],
          params: VideoParams,
          querystring: ContentQuery,
          response: errors(400, 401, 404, 409),
        },
      },
      async (request, reply) => {
        const { variant } = request.query;
        if (variant === 'spritesheet') throw badRequest('this server makes no spritesheets: variant must be video or thumbnail', 'variant');
        const task = await video(request, request.params.video_id);
        if (task.status === 'pending' || task.status === 'processing') {
          throw new ApiError(409, `video ${task.id} is ${toVideoObject(task).status}: its content is available once it is completed`);
        }
        if (task.status !== 'completed' || !task.result)
          throw new ApiError(404, `video ${task.id} ${task.status === 'failed' ? 'failed' : 'was cancelled'}: it has no content`);
        if (task.resultsCollected) throw new ApiError(404, `the content of video ${task.id} was deleted (or expired)`);
        const file = variant === 'video' ? task.result.video : task.result.lastFrame;
        if (!file) {
          throw new ApiError(404, `video ${task.id} has no thumbnail: it was made through /v1/videos/generations without return_last_frame`);
        }
        const name = variant === 'video' ? `${task.id}.mp4` : `${task.id}_thumbnail.png`;
        reply.header('content-disposition', `inline; filename="${name}"`);
        return sendStoredFile(reply, {
          files: ctx.storage.files,
          key: ctx.storage.fileKey(file.key),
          gone: `the content of video ${task.id} is no longer stored`,
        });
      },
    );

    app.delete(
      VIDEO,
      {
        schema: {
          summary: 'Delete a completed or failed video and its files (OpenAI Videos API)',
          description:
            'Deletes the result files; the task stays (it is the account’s record of the charge) and is still listed and retrievable, its content a 404. A queued or in-progress video is a 409: cancel it with POST /v1/tasks/{id}/cancel (refunded in full).',
          tags: ['openai'],
          security: [{ bearer: [] }],
          params: VideoParams,
          response: { 200: OpenAIVideoDeleted, ...errors(401, 404, 409) },
        },
      },
      async (request) => {
        const task = await video(request, request.params.video_id);
        if (task.status === 'pending' || task.status === 'processing') {
          throw new ApiError(
            409,
            `video ${task.id} is ${toVideoObject(task).status}: only completed or failed videos can be deleted; cancel it with POST /v1/tasks/${task.id}/cancel (refunded in full)`,
          );
        }
        if (task.status === 'completed' && !task.resultsCollected) {
          await ctx.storage.removeTask(task.id);
          await ctx.store.markResultsCollected(task.id);
        }
        return { id: task.id, object: 'video.deleted' as const, deleted: true as const };
      },
    );
  };

/** The text fields of a form, and its `input_reference` file stored as an upload. */
async function readForm(
  ctx: Pick<ApiContext, 'uploads' | 'storage'>,
  request: FastifyRequest,
): Promise<{ fields: Record<string, unknown>; upload: StoredUpload | null }> {
  const fields: Record<string, unknown> = {};
  const reference: Record<string, string> = {};
  let upload: StoredUpload | null = null;
  try {
    for await (const part of request.parts()) {
      if (part.type === 'file') {
        if (part.fieldname !== INPUT_REFERENCE) {
          part.file.resume();
          throw badRequest(`the only file this route takes is the image in the field "${INPUT_REFERENCE}", not "${part.fieldname}"`, part.fieldname);
        }
        upload = await receive(ctx, part.file, part.filename);
        continue;
      }
      if (part.valueTruncated) throw new ApiError(413, `the form field ${part.fieldname} is too long`, { param: part.fieldname });
      const nested = /^input_reference\[(\w+)\]$/.exec(part.fieldname);
      if (nested) reference[nested[1]!] = String(part.value);
      else fields[part.fieldname] = part.value;
    }
  } catch (err) {
    if (upload) await discard(ctx, upload);
    throw asUploadError(err, INPUT_REFERENCE);
  }
  if (Object.keys(reference).length > 0) fields[INPUT_REFERENCE] = reference;
  return { fields, upload };
}

/** An image stored as uploads are (the same checks), read from storage when the task runs. */
async function receive(ctx: Pick<ApiContext, 'uploads'>, stream: Readable, filename: string | undefined): Promise<StoredUpload> {
  try {
    return await ctx.uploads.receive(stream, filename);
  } catch (err) {
    throw asUploadError(err, INPUT_REFERENCE);
  }
}

function uploadUrl(ctx: Pick<ApiContext, 'publicUrl' | 'uploads'>, request: FastifyRequest, upload: StoredUpload): string {
  const base = publicBase(ctx, request);
  ctx.uploads.rememberOrigin(base);
  return `${base}${upload.signedPath}`;
}

async function discard(ctx: Pick<ApiContext, 'uploads' | 'storage'>, upload: StoredUpload): Promise<void> {
  const key = ctx.uploads.fileKey(upload.name);
  if (key) await ctx.storage.files.delete(key).catch(() => undefined);
}
