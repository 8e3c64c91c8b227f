import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/env.js';
import { createFileStorage } from '../../src/storage/file-storage.js';
import { startTestS3, type TestS3 } from '../helpers/s3-server.js';

const S3 = { VIDGATE_STORAGE_URL: 's3://my-bucket/vidgate/prod/' };

describe('storage settings', () => {
  it('are local files and signed URLs by default', () => {
    expect(loadConfig({})).toMatchObject({ storage: { kind: 'local' }, resultUrls: 'signed' });
  });

  it('read the bucket, prefix, endpoint, region and keys', () => {
    expect(
      loadConfig({ ...S3, VIDGATE_S3_ENDPOINT: 'http://minio.internal:9000', VIDGATE_S3_ACCESS_KEY_ID: 'id', VIDGATE_S3_SECRET_ACCESS_KEY: 'secret' }),
    ).toMatchObject({
      storage: {
        kind: 's3',
        bucket: 'my-bucket',
        prefix: 'vidgate/prod',
        endpoint: 'http://minio.internal:9000',
        region: 'us-east-1',
        credentials: { accessKeyId: 'id', secretAccessKey: 'secret' },
        // An endpoint of one's own is addressed path-style unless told otherwise.
        forcePathStyle: true,
      },
    });
    expect(loadConfig({ VIDGATE_STORAGE_URL: 's3://my-bucket', VIDGATE_S3_REGION: 'eu-west-1' }).storage).toEqual({
      kind: 's3',
      bucket: 'my-bucket',
      prefix: '',
      endpoint: undefined,
      region: 'eu-west-1',
      credentials: undefined,
      forcePathStyle: false,
    });
    expect(loadConfig({ ...S3, VIDGATE_S3_FORCE_PATH_STYLE: 'true' }).storage).toMatchObject({ forcePathStyle: true });
    expect(loadConfig({ ...S3, VIDGATE_S3_ENDPOINT: 'https://s3.example', VIDGATE_S3_FORCE_PATH_STYLE: 'false' }).storage).toMatchObject({
      forcePathStyle: false,
    });
    expect(loadConfig({ ...S3, VIDGATE_RESULT_URLS: 'presigned' }).resultUrls).toBe('presigned');
  });

  it.each([
    [{ VIDGATE_STORAGE_URL: 'https://my-bucket.s3.amazonaws.com' }, /VIDGATE_STORAGE_URL: must be s3:\/\/bucket or s3:\/\/bucket\/prefix/],
    [{ VIDGATE_STORAGE_URL: 's3://My_Bucket/x' }, /VIDGATE_STORAGE_URL: "My_Bucket" is not an S3 bucket name/],
    [{ VIDGATE_STORAGE_URL: 's3://my-bucket/a/../b' }, /VIDGATE_STORAGE_URL: the prefix may not have/],
    [{ ...S3, VIDGATE_S3_ACCESS_KEY_ID: 'id' }, /VIDGATE_S3_ACCESS_KEY_ID and VIDGATE_S3_SECRET_ACCESS_KEY go together/],
    [{ ...S3, VIDGATE_S3_ENDPOINT: 'minio:9000' }, /VIDGATE_S3_ENDPOINT: must be an http\(s\):\/\/ URL/],
    [{ ...S3, VIDGATE_S3_FORCE_PATH_STYLE: 'yes' }, /VIDGATE_S3_FORCE_PATH_STYLE: must be true or false/],
    [{ ...S3, VIDGATE_RESULT_URLS: 'public' }, /VIDGATE_RESULT_URLS: must be signed or presigned/],
    [{ VIDGATE_RESULT_URLS: 'presigned' }, /VIDGATE_RESULT_URLS: presigned needs VIDGATE_STORAGE_URL/],
    [{ ...S3, VIDGATE_RESULT_URLS: 'presigned', VIDGATE_RESULT_TTL_SECONDS: '604801' }, /presigned URLs last at most 604800 s/],
  ])('refuse %j at start, saying why', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });
});

describe('an S3 store that cannot be used', () => {
  let s3: TestS3;
  let dataDir: string;
  beforeAll(async () => {
    s3 = await startTestS3();
    dataDir = await mkdtemp(join(tmpdir(), 'vidgate-storage-config-'));
  });
  afterAll(async () => {
    await s3.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('stops the start with the store’s own words', async () => {
    const config = loadConfig({ ...s3.env('x'), VIDGATE_STORAGE_URL: 's3://no-such-bucket/x', VIDGATE_DATA_DIR: dataDir });
    await expect(createFileStorage(config)).rejects.toThrow(/the result storage s3:\/\/no-such-bucket\/x cannot be read: NoSuchBucket/);
  });
});
