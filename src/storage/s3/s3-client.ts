import { S3Client } from '@aws-sdk/client-s3';

/** VIDGATE_STORAGE_URL=s3://bucket/prefix and the VIDGATE_S3_* settings (README: Configuration). */
export interface S3Settings {
  bucket: string;
  /** Key prefix without slashes at either end; '' for the bucket's root. */
  prefix: string;
  /** An S3-compatible server's base URL; AWS's own endpoints when absent. */
  endpoint: string | undefined;
  region: string;
  /** Static keys; absent: the SDK's default credential chain (environment, profile, instance role…). */
  credentials: { accessKeyId: string; secretAccessKey: string } | undefined;
  forcePathStyle: boolean;
}

export function createS3Client(s: S3Settings): S3Client {
  return new S3Client({
    region: s.region,
    endpoint: s.endpoint,
    forcePathStyle: s.forcePathStyle,
    credentials: s.credentials,
    // The SDK's default flexible checksums send streamed bodies aws-chunked, which several
    // S3-compatible servers (s3rver among them) store framing and all: a corrupt file.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 3,
    requestHandler: {
      connectionTimeout: 10_000,
      // Idle time on an open socket, not a whole transfer: a long video download keeps flowing.
      requestTimeout: 60_000,
      // Every client downloading a result holds one connection to the store for as long as it reads.
      httpAgent: { keepAlive: true, maxSockets: 256 },
      httpsAgent: { keepAlive: true, maxSockets: 256 },
    },
  });
}

/** The full object key of a store key: `<prefix>/<key>`. */
export const objectKey = (s: Pick<S3Settings, 'prefix'>, key: string) => (s.prefix ? `${s.prefix}/${key}` : key);
