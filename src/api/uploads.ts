import fastifyMultipart from '@fastify/multipart';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ApiError, badRequest } from './api-error.js';
import { ErrorResponse } from '../contract/task-view.js';
import { UPLOAD_MAX_BYTES, UPLOAD_TYPES_TEXT, UploadImageError, UploadTooLargeError, UploadTypeError, type StoredUpload } from '../storage/upload-storage.js';
import { publicBase, type ApiContext } from './context.js';
import { sendSignedFile } from './signed-file.js';

/** Room for the multipart boundaries and part headers around a file of the maximum size. */
const MULTIPART_OVERHEAD = 64 * 1024;
const FIELD = 'file';

const UploadResponse = z
  .object({
    url: z.string().meta({ description: 'Signed URL of the image, valid 72 h; usable in image_urls / image_with_roles' }),
    filename: z.string(),
    content_type: z.string().meta({ description: 'Sniffed from the bytes: image/jpeg, image/png, image/webp or image/gif' }),
    bytes: z.number().int(),
    created_at: z.number().int().meta({ description: 'unix seconds' }),
  })
  .meta({ id: 'UploadResponse' });

const tooLarge = (field = FIELD) =>
  new ApiError(413, `the file is larger than the ${UPLOAD_MAX_BYTES / (1024 * 1024)} MB allowed for image uploads`, { param: field });

/**
 * `POST /v1/uploads/images` (README: API): one image in the multipart field `file`, streamed to disk
 * with a cap, its type sniffed from the bytes. Registered inside the authenticated /v1 scope.
 * Multipart parsing is registered here only, so no other route accepts multipart bodies.
 */
export const uploadRoutes =
  (ctx: Pick<ApiContext, 'publicUrl' | 'uploads'>): FastifyPluginAsyncZod =>
  async (app) => {
    await app.register(fastifyMultipart, {
      limits: { fileSize: UPLOAD_MAX_BYTES, files: 1, fields: 16, parts: 32, fieldSize: 16 * 1024, headerPairs: 64 },
    });
    app.post(
      '/v1/uploads/images',
      {
        config: { rateBucket: 'create' },
        // The multipart parser streams the body itself; this keeps any other body on this route small.
        bodyLimit: UPLOAD_MAX_BYTES + MULTIPART_OVERHEAD,
        // Refused before a byte of the body is read: wrong content type, or a declared size over the cap.
        onRequest: async (request) => screen(request),
        schema: {
          summary: 'Upload an image (jpeg, png, webp or gif, at most 20 MB) to use as a task input',
          description:
            "Send multipart/form-data with the image in the field `file`. The type is read from the bytes; the image must meet the media rules (each side 300–6000 px, width ÷ height 0.4–2.5, checked from its header before it is decoded) and decode completely, else the answer is 400. The answer's URL is valid 72 h and can be given back in image_urls or image_with_roles.",
          tags: ['uploads'],
          security: [{ bearer: [] }],
          consumes: ['multipart/form-data'],
          response: { 200: UploadResponse, 400: ErrorResponse, 401: ErrorResponse, 413: ErrorResponse, 429: ErrorResponse },
        },
      },
      async (request) => {
        const stored = await receive(ctx, request);
        const base = publicBase(ctx, request);
        ctx.uploads.rememberOrigin(base);
        return answer(stored, base);
      },
    );
  };

/** `GET /uploads/<name>?expires=&signature=`: the signature is the credential, as for result files. */
export const uploadFileRoutes =
  (ctx: Pick<ApiContext, 'publicUrl' | 'storage' | 'uploads'>): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/uploads/:name',
      {
        schema: {
          summary: 'Download an uploaded image by its signed URL',
          tags: ['uploads'],
          params: z.object({ name: z.string().max(64) }),
          querystring: z.object({ expires: z.string().max(16).optional(), signature: z.string().max(128).optional() }),
          response: { 403: ErrorResponse, 404: ErrorResponse },
        },
      },
      async (request, reply) => {
        const { name } = request.params;
        const verdict = ctx.uploads.verify(name, request.query.expires, request.query.signature);
        return sendSignedFile(reply, { verdict, files: ctx.storage.files, key: ctx.uploads.fileKey(name), what: 'upload' });
      },
    );
  };

function screen(request: FastifyRequest): void {
  const type = request.headers['content-type'] ?? '';
  if (!/^multipart\/form-data\s*;/i.test(type)) {
    throw badRequest(`send the image as multipart/form-data in the field "${FIELD}" (got ${type ? type.split(';')[0] : 'no Content-Type'})`, FIELD);
  }
  const declared = Number(request.headers['content-length']);
  if (declared > UPLOAD_MAX_BYTES + MULTIPART_OVERHEAD) throw tooLarge();
}

async function receive(ctx: Pick<ApiContext, 'uploads'>, request: FastifyRequest): Promise<StoredUpload> {
  try {
    const part = await request.file();
    if (!part) throw badRequest(`no file was sent: put the image in the multipart field "${FIELD}"`, FIELD);
    if (part.fieldname !== FIELD) {
      part.file.resume();
      throw badRequest(`the image must be in the multipart field "${FIELD}", not "${part.fieldname}"`, FIELD);
    }
    return await ctx.uploads.receive(part.file, part.filename);
  } catch (err) {
    throw asUploadError(err);
  }
}

/** Upload faults are the client's (400/413, naming `field`); only local faults (disk) stay server errors. */
export function asUploadError(err: unknown, field = FIELD): unknown {
  if (err instanceof ApiError) return err;
  if (err instanceof UploadTooLargeError) return tooLarge(field);
  if (err instanceof UploadTypeError || err instanceof UploadImageError) return badRequest(err.message, field);
  const e = err as { statusCode?: number; code?: string; syscall?: string; message?: string };
  if (e.code === 'FST_REQ_FILE_TOO_LARGE') return tooLarge(field);
  // Disk faults and our own bugs are not the client's doing.
  if (e.syscall || err instanceof TypeError || err instanceof RangeError) return err;
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500)
    return new ApiError(e.statusCode === 406 ? 400 : e.statusCode, e.message ?? 'invalid upload', { param: field });
  return badRequest(`the multipart body could not be read: ${e.message ?? String(err)}; send one ${UPLOAD_TYPES_TEXT} image in the field "${field}"`, field);
}

function answer(stored: StoredUpload, base: string) {
  return {
    url: `${base}${stored.signedPath}`,
    filename: stored.filename,
    content_type: stored.contentType,
    bytes: stored.bytes,
    created_at: Math.floor(stored.createdAtMs / 1000),
  };
}
