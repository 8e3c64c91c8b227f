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

/** A real S3-compatible server (s3rver) on a random port of 127.0.0.1, with its files in a temp folder. */
export async function startTestS3(): Promise<TestS3> {
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
