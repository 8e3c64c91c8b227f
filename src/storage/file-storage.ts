import type { Config } from '../config/env.js';
import type { FileStore } from './file-store.js';
import { LocalFileStore } from './local-file-store.js';
import { ResultStorage } from './result-storage.js';
import type { UrlSigner } from './signed-urls.js';
import type { S3Settings } from './s3/s3-client.js';
import type { S3Presigner } from './s3/s3-presigner.js';

/** How task objects (answers, live events, webhook bodies) link a result file. */
export interface ResultLinks {
  /** Absolute URL of a result (its key as the task keeps it) valid until `expiresAtMs`; `base` is vidgate's public address. */
  url(base: string, key: string, expiresAtMs: number): string;
}

export interface FileStorage {
  /** The one store of results, uploads and asset copies. */
  files: FileStore;
  results: ResultStorage;
  /**
   * vidgate's own signed URLs (`VIDGATE_RESULT_URLS=signed`), or the bucket's presigned GET URLs
   * (`presigned`), with the same expiry either way.
   */
  resultLinks(signer: UrlSigner, clock: () => number): Promise<ResultLinks>;
  close(): Promise<void>;
}

/** The file store the configuration names (local files by default), ready for use. */
export async function createFileStorage(config: Pick<Config, 'dataDir' | 'storage' | 'resultUrls'>): Promise<FileStorage> {
  const bucket = config.storage.kind === 's3' ? await openBucket(config.storage) : null;
  const files: FileStore = bucket?.files ?? new LocalFileStore(config.dataDir);
  const results = new ResultStorage(files);
  try {
    await results.init();
  } catch (err) {
    await files.close();
    throw err;
  }
  return {
    files,
    results,
    async resultLinks(signer, clock) {
      if (config.resultUrls === 'signed' || !bucket) return { url: (base, key, expiresAtMs) => base + signer.resultPath(key, expiresAtMs) };
      const presigner = bucket.presigner();
      await presigner.init();
      return { url: (_base, key, expiresAtMs) => presigner.url(results.fileKey(key)!, expiresAtMs, clock()) };
    },
    close: () => files.close(),
  };
}

/** The AWS SDK is loaded only when a bucket is configured: it is large, and warns about Node 20 as it loads. */
async function openBucket(settings: S3Settings): Promise<{ files: FileStore; presigner: () => S3Presigner }> {
  const [{ createS3Client }, { S3FileStore }, { S3Presigner }] = await Promise.all([
    import('./s3/s3-client.js'),
    import('./s3/s3-file-store.js'),
    import('./s3/s3-presigner.js'),
  ]);
  const client = createS3Client(settings);
  return { files: new S3FileStore(client, settings), presigner: () => new S3Presigner(client, settings) };
}
