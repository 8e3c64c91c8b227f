import { createReadStream, createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { type ByteRange, type FileInfo, FileMissingError, type FileStore, isSafeKey } from '../file-store.js';
import { objectKey, type S3Settings } from './s3-client.js';

/** S3's smallest part; with two parts in flight an upload holds about 10 MB, whatever the file's size. */
export const PART_BYTES = 5 * 1024 * 1024;
const PARTS_IN_FLIGHT = 2;

const isNotFound = (err: unknown) => {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404;
};

/** Files as objects in an S3-compatible bucket, under `<prefix>/<key>`. */
export class S3FileStore implements FileStore {
  readonly location: string;

  constructor(
    private readonly client: S3Client,
    private readonly settings: S3Settings,
  ) {
    this.location = `s3://${settings.bucket}${settings.prefix ? `/${settings.prefix}` : ''}`;
  }

  private objectKey(key: string): string {
    if (!isSafeKey(key)) throw new Error(`refused storage key ${JSON.stringify(key)}`);
    return objectKey(this.settings, key);
  }

  /** Fails at start, with the store's own words, when the bucket cannot be reached or read. */
  async init(): Promise<void> {
    try {
      await this.client.send(new ListObjectsV2Command({ Bucket: this.settings.bucket, Prefix: objectKey(this.settings, ''), MaxKeys: 1 }));
    } catch (err) {
      throw new Error(`the result storage ${this.location} cannot be read: ${(err as Error).name}: ${(err as Error).message}`, { cause: err });
    }
  }

  diskPath(): null {
    return null;
  }

  async put(key: string, source: string, o: { contentType: string; mode: 'move' | 'copy' }): Promise<number> {
    const { size } = await stat(source);
    await this.putStream(key, createReadStream(source), o.contentType);
    if (o.mode === 'move') await rm(source, { force: true });
    return size;
  }

  /** Streams `body` up in parts (one request when it is smaller than a part); never holds it whole. */
  async putStream(key: string, body: Readable, contentType: string): Promise<void> {
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.settings.bucket, Key: this.objectKey(key), Body: body, ContentType: contentType },
      partSize: PART_BYTES,
      queueSize: PARTS_IN_FLIGHT,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } finally {
      body.destroy();
    }
  }

  async stat(key: string): Promise<FileInfo | null> {
    if (!isSafeKey(key)) return null;
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.settings.bucket, Key: this.objectKey(key) }));
      return {
        bytes: head.ContentLength ?? 0,
        modifiedMs: head.LastModified?.getTime() ?? 0,
        etag: head.ETag ?? null,
        contentType: head.ContentType ?? null,
      };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    try {
      const got = await this.client.send(
        new GetObjectCommand({ Bucket: this.settings.bucket, Key: this.objectKey(key), Range: range ? `bytes=${range.start}-${range.end}` : undefined }),
      );
      return got.Body as Readable;
    } catch (err) {
      if (isNotFound(err)) throw new FileMissingError(key);
      throw err;
    }
  }

  async download(key: string, target: string, signal?: AbortSignal): Promise<void> {
    const body = await this.read(key);
    await pipeline(body, createWriteStream(target), signal ? { signal } : {});
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.settings.bucket, Key: this.objectKey(key) }));
  }

  async deleteAll(prefix: string): Promise<void> {
    // One by one: a task has two files, and DeleteObjects needs a Content-MD5 some servers insist on.
    for await (const { key } of this.list(prefix)) await this.delete(key);
  }

  async *list(prefix: string): AsyncIterable<{ key: string; modifiedMs: number }> {
    const strip = objectKey(this.settings, '').length;
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.settings.bucket,
          Prefix: this.objectKey(prefix.replace(/\/+$/, '')) + (prefix.endsWith('/') ? '/' : ''),
          ContinuationToken: token,
        }),
      );
      for (const object of page.Contents ?? []) {
        if (object.Key) yield { key: object.Key.slice(strip), modifiedMs: object.LastModified?.getTime() ?? 0 };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
