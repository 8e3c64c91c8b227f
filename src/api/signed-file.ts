import { stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import { ApiError } from './api-error.js';
import { contentRange, readRange } from '../storage/byte-ranges.js';
import { type FileInfo, FileMissingError, type FileStore } from '../storage/file-store.js';

/**
 * Answers a request for a file behind a signed URL, where the signature is the credential: 403 for
 * a bad or expired one, 404 once the file is gone, else the file (Range requests included).
 */
export async function sendSignedFile(
  reply: FastifyReply,
  o: {
    verdict: 'ok' | 'invalid' | 'expired';
    files: FileStore;
    /** The file store's key, or null when the name tries to leave its folder. */
    key: string | null;
    /** "result", "upload", "asset": how the messages name it. */
    what: string;
  },
): Promise<FastifyReply> {
  if (o.verdict === 'expired') throw new ApiError(403, `this ${o.what} URL has expired`, { type: 'authentication_error' });
  if (o.verdict === 'invalid') throw new ApiError(403, 'invalid or missing URL signature', { type: 'authentication_error' });
  return sendStoredFile(reply, {
    files: o.files,
    key: o.key,
    gone: `file not found: the ${o.what} may have been deleted`,
    cacheControl: 'private, max-age=3600',
  });
}

/**
 * Answers with a stored file: from this disk through @fastify/static, from a remote store
 * (S3) streamed the same way — the same status codes and headers, ranges, HEAD and conditional
 * requests — so a client cannot tell where the file is kept.
 */
export async function sendStoredFile(
  reply: FastifyReply,
  o: { files: FileStore; key: string | null; gone: string; cacheControl?: string },
): Promise<FastifyReply> {
  const path = o.key ? o.files.diskPath(o.key) : null;
  const onDisk = path ? await stat(path).catch(() => null) : null;
  const remote = !path && o.key ? await o.files.stat(o.key) : null;
  const size = onDisk?.isFile() ? onDisk.size : remote ? remote.bytes : null;
  if (!o.key || size === null) throw new ApiError(404, o.gone);
  // @fastify/send answers an unsatisfiable range itself, without saying the size; this says it, for both stores.
  refuseUnsatisfiable(reply, size);
  if (o.cacheControl) reply.header('cache-control', o.cacheControl);
  if (remote) return sendRemoteFile(reply, o.files, o.key, remote, o.gone);
  // Without cacheControl: false, @fastify/send would replace ours with its own `public, max-age=0`.
  return reply.sendFile(basename(path!), dirname(path!), o.cacheControl ? { cacheControl: false } : {});
}

function refuseUnsatisfiable(reply: FastifyReply, size: number): void {
  const { headers } = reply.request;
  if (headers['if-range'] !== undefined) return;
  if (readRange(headers.range, size).kind === 'unsatisfiable')
    throw new ApiError(416, 'Range Not Satisfiable', { headers: { 'content-range': contentRange(size) } });
}

async function sendRemoteFile(reply: FastifyReply, files: FileStore, key: string, info: FileInfo, gone: string): Promise<FastifyReply> {
  const { headers, method } = reply.request;
  const lastModified = new Date(Math.floor(info.modifiedMs / 1000) * 1000);
  if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'public, max-age=0');
  const ours: Record<string, string> = {
    'accept-ranges': 'bytes',
    'last-modified': lastModified.toUTCString(),
    'content-type': info.contentType ?? 'application/octet-stream',
  };
  if (info.etag) ours.etag = info.etag;

  // Refusals carry none of the file's headers, as from disk.
  const conditional = ['if-match', 'if-unmodified-since', 'if-none-match', 'if-modified-since'].some((h) => headers[h] !== undefined);
  if (conditional) {
    if (preconditionFails(headers, info.etag, lastModified)) throw new ApiError(412, 'Precondition Failed');
    if (notModified(headers, info.etag, lastModified)) {
      const { 'content-type': _type, ...rest } = ours;
      return reply.code(304).headers(rest).send();
    }
  }
  const wanted = rangeIsFresh(headers['if-range'], info.etag, lastModified) ? readRange(headers.range, info.bytes) : { kind: 'whole' as const };
  if (wanted.kind === 'unsatisfiable') throw new ApiError(416, 'Range Not Satisfiable', { headers: { 'content-range': contentRange(info.bytes) } });

  const range = wanted.kind === 'range' ? wanted.range : undefined;
  // Opened before any header is set, so a file swept since the look is a plain 404.
  const body =
    method === 'HEAD' || info.bytes === 0
      ? null
      : await files.read(key, range).catch((err: unknown) => {
          throw err instanceof FileMissingError ? new ApiError(404, gone) : err;
        });
  reply.headers(ours);
  if (range) reply.code(206).header('content-range', contentRange(info.bytes, range));
  reply.header('content-length', String(range ? range.end - range.start + 1 : info.bytes));
  // An empty stream, not an empty body: Fastify's HEAD route would set Content-Length to 0 for that.
  if (!body) return reply.send(method === 'HEAD' ? Readable.from([]) : undefined);
  // A client that goes away must not leave the store's response open.
  reply.raw.once('close', () => body.destroy());
  return reply.send(body);
}

type Headers = FastifyReply['request']['headers'];
const listed = (value: string | string[] | undefined) =>
  String(value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
const weak = (tag: string) => tag.replace(/^W\//, '');

function preconditionFails(headers: Headers, etag: string | null, lastModified: Date): boolean {
  const match = headers['if-match'];
  if (match !== undefined) {
    const tags = listed(match);
    if (!tags.includes('*') && !(etag && tags.includes(etag))) return true;
  }
  const since = Date.parse(String(headers['if-unmodified-since'] ?? ''));
  return !Number.isNaN(since) && lastModified.getTime() > since;
}

function notModified(headers: Headers, etag: string | null, lastModified: Date): boolean {
  // An end-to-end reload (fetch() sends this with every conditional request) always gets the file.
  if (String(headers['cache-control'] ?? '').includes('no-cache')) return false;
  if (headers['if-none-match'] !== undefined) {
    const tags = listed(headers['if-none-match']);
    return tags.includes('*') || (etag !== null && tags.some((t) => weak(t) === weak(etag)));
  }
  const since = Date.parse(String(headers['if-modified-since'] ?? ''));
  return !Number.isNaN(since) && lastModified.getTime() <= since;
}

function rangeIsFresh(ifRange: string | string[] | undefined, etag: string | null, lastModified: Date): boolean {
  if (ifRange === undefined) return true;
  const value = String(ifRange);
  if (value.includes('"')) return etag !== null && value.includes(etag);
  const date = Date.parse(value);
  return !Number.isNaN(date) && lastModified.getTime() <= date;
}
