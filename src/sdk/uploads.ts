import { openAsBlob } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VidgateValidationError } from './errors.js';
import { invalidResponse, type Http } from './http.js';
import type { Upload } from './types.js';

/** The server's cap (README: API): jpeg, png, webp or gif, at most 20 MB. */
export const UPLOAD_MAX_BYTES = 20 * 1024 * 1024;

const TYPES: Readonly<Record<string, string>> = {
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
};

/** A path (string or file: URL), bytes, or a Blob/File. */
export type ImageInput = string | URL | Uint8Array | ArrayBuffer | Blob;

export interface UploadOptions {
  /** Name sent with the file; default the path's base name, `image` otherwise. */
  filename?: string;
  signal?: AbortSignal;
}

async function toBlob(input: ImageInput, filename: string | undefined): Promise<{ blob: Blob; name: string }> {
  if (typeof input === 'string' || input instanceof URL) {
    const path = input instanceof URL ? fileURLToPath(input) : input;
    const info = await stat(path).catch((err: NodeJS.ErrnoException) => {
      throw new VidgateValidationError(`cannot read ${path}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`, 'file');
    });
    if (!info.isFile()) throw new VidgateValidationError(`${path} is not a file`, 'file');
    if (info.size > UPLOAD_MAX_BYTES) throw new VidgateValidationError(`${path} is ${info.size} bytes; images may be at most 20 MB`, 'file');
    const name = filename ?? basename(path);
    // A file-backed Blob: streamed from disk when sent (and again on a retry), never read whole.
    return { blob: await openAsBlob(path, { type: TYPES[extname(name).toLowerCase()] ?? '' }), name };
  }
  const name = filename ?? (typeof File !== 'undefined' && input instanceof File ? input.name : 'image');
  const blob = input instanceof Blob ? input : new Blob([input as BlobPart], { type: TYPES[extname(name).toLowerCase()] ?? '' });
  if (blob.size > UPLOAD_MAX_BYTES) throw new VidgateValidationError(`the image is ${blob.size} bytes; images may be at most 20 MB`, 'file');
  return { blob, name };
}

export class Uploads {
  constructor(private readonly http: Http) {}

  /** Uploads one image (`POST /v1/uploads/images`, field `file`); its URL can go in image_urls / image_with_roles. */
  async image(input: ImageInput, options: UploadOptions = {}): Promise<Upload> {
    const { blob, name } = await toBlob(input, options.filename);
    const form = new FormData();
    form.append('file', blob, name);
    const body = await this.http.json<Partial<Upload>>({ method: 'POST', path: '/v1/uploads/images', form, retry: 'idempotent', signal: options.signal });
    if (typeof body?.url !== 'string') throw invalidResponse('POST /v1/uploads/images', body);
    return body as Upload;
  }
}
