import crypto from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { createS3Client, type S3Settings } from '../../src/storage/s3/s3-client.js';

export const TEST_BUCKET = 'vidgate-test';
/** s3rver's one account; it checks every signature against it. */
const KEY = 'S3RVER';

export interface TestS3 {
  endpoint: string;
  /** The VIDGATE_* settings that point vidgate at this server, under `prefix`. */
  env(prefix: string): Record<string, string>;
  settings(prefix: string): S3Settings;
  /** A client of our own, to look at the bucket behind vidgate's back. */
  client: S3Client;
  /** The object's bytes, or null when there is none. */
  object(key: string): Promise<Buffer | null>;
  keys(prefix: string): Promise<string[]>;
  close(): Promise<void>;
}

/**
 * s3rver makes the continuation tokens of ListObjectsV2 with single DES (`createCipheriv('des', …)`),
 * which OpenSSL 3 (Node ≥ 17) no longer offers: every listing with more keys than MaxKeys answers
 * 500 — vidgate's start-up check of the bucket (MaxKeys 1) fails as soon as two objects exist, and
 * paged sweeps fail too. Triple DES with the 8-byte key taken three times is single DES, byte for
 * byte, and OpenSSL 3 still has it; s3rver runs in this process and requires this same module.
 */
function letS3rverUseDes(): void {
  const marked = crypto as typeof crypto & { s3rverDes?: true };
  if (marked.s3rverDes) return;
  marked.s3rverDes = true;
  const tripled = (algorithm: string, key: crypto.CipherKey) =>
    algorithm === 'des' && Buffer.isBuffer(key) && key.length === 8 ? (['des-ede3-cbc', Buffer.concat([key, key, key])] as const) : null;
  const { createCipheriv, createDecipheriv } = crypto;
  crypto.createCipheriv = ((algorithm: string, key: crypto.CipherKey, iv: crypto.BinaryLike | null, options?: object) => {
    const des = tripled(algorithm, key);
    return des ? createCipheriv(des[0], des[1], iv) : createCipheriv(algorithm, key, iv, options as never);
  }) as typeof crypto.createCipheriv;
  crypto.createDecipheriv = ((algorithm: string, key: crypto.CipherKey, iv: crypto.BinaryLike | null, options?: object) => {
    const des = tripled(algorithm, key);
    return des ? createDecipheriv(des[0], des[1], iv) : createDecipheriv(algorithm, key, iv, options as never);
  }) as typeof crypto.createDecipheriv;
}

/** A real S3-compatible server (s3rver) on a random port of 127.0.0.1, with its files in a temp folder. */
export async function startTestS3(): Promise<TestS3> {
  letS3rverUseDes();
  const directory = await mkdtemp(join(tmpdir(), 'vidgate-s3-'));
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory, configureBuckets: [{ name: TEST_BUCKET }] });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const settings = (prefix: string): S3Settings => ({
    bucket: TEST_BUCKET,
    prefix,
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: KEY, secretAccessKey: KEY },
    forcePathStyle: true,
  });
  const client = createS3Client(settings(''));
  return {
    endpoint,
    settings,
    env: (prefix) => ({
      VIDGATE_STORAGE_URL: `s3://${TEST_BUCKET}/${prefix}`,
      VIDGATE_S3_ENDPOINT: endpoint,
      VIDGATE_S3_ACCESS_KEY_ID: KEY,
      VIDGATE_S3_SECRET_ACCESS_KEY: KEY,
    }),
    client,
    async object(key) {
      try {
        const got = await client.send(new GetObjectCommand({ Bucket: TEST_BUCKET, Key: key }));
        return Buffer.from(await got.Body!.transformToByteArray());
      } catch (err) {
        if ((err as { name?: string }).name === 'NoSuchKey') return null;
        throw err;
      }
    },
    async keys(prefix) {
      const page = await client.send(new ListObjectsV2Command({ Bucket: TEST_BUCKET, Prefix: prefix }));
      return (page.Contents ?? []).map((o) => o.Key!).sort();
    },
    async close() {
      client.destroy();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
