import { createHash, createHmac } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { objectKey, type S3Settings } from './s3-client.js';

interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

/** S3 refuses presigned URLs valid longer than a week. */
export const PRESIGN_MAX_SECONDS = 7 * 24 * 3600;
const HOUR_MS = 3600_000;
/** Temporary credentials are fetched again this long before they run out. */
const REFRESH_BEFORE_MS = 10 * 60_000;

/**
 * Presigned GET URLs (SigV4 in the query string) for result files, made synchronously: task
 * objects are built in synchronous code (views, live events, webhook bodies), and the SDK's
 * presigner is asynchronous only because it resolves credentials and hashes through promises.
 * The endpoint comes from the SDK's own endpoint rules, the credentials from its provider chain
 * (resolved at start, refreshed ahead of their expiry); test/storage checks that the URLs are the
 * very ones the SDK's presigner makes, and that an S3 server serves the file at them.
 */
export class S3Presigner {
  private credentials: Credentials | undefined;
  private refreshing: Promise<void> | undefined;
  private readonly base: URL;

  constructor(
    private readonly client: S3Client,
    private readonly settings: S3Settings,
  ) {
    const endpoint = client.config.endpointProvider({
      Bucket: settings.bucket,
      Region: settings.region,
      ForcePathStyle: settings.forcePathStyle,
      Endpoint: settings.endpoint,
      UseFIPS: false,
      UseDualStack: false,
      Accelerate: false,
      UseGlobalEndpoint: false,
      UseArnRegion: false,
      DisableMultiRegionAccessPoints: false,
    });
    this.base = new URL(endpoint.url.href);
  }

  /** Resolves the credentials once, so URLs can be signed synchronously from then on. */
  async init(): Promise<void> {
    await this.refresh();
  }

  private refresh(): Promise<void> {
    this.refreshing ??= this.client.config
      .credentials()
      .then((c) => {
        this.credentials = c;
      })
      .finally(() => {
        this.refreshing = undefined;
      });
    return this.refreshing;
  }

  /**
   * A GET URL of the stored file `key`, valid until `expiresAtMs` (to the second). The signing time
   * is the start of the current hour, so every poll within it, on any instance, gets the same URL.
   */
  url(key: string, expiresAtMs: number, nowMs: number): string {
    const credentials = this.credentials;
    if (!credentials) throw new Error('S3Presigner.url before init()');
    if (credentials.expiration && credentials.expiration.getTime() - nowMs < REFRESH_BEFORE_MS) void this.refresh().catch(() => {});
    const expiresAt = Math.floor(expiresAtMs / 1000) * 1000;
    const signedAt = Math.min(Math.max(Math.floor(nowMs / HOUR_MS) * HOUR_MS, expiresAt - PRESIGN_MAX_SECONDS * 1000), expiresAt - 1000);
    return presignGet({
      base: this.base,
      key: objectKey(this.settings, key),
      region: this.settings.region,
      credentials,
      signedAt: new Date(signedAt),
      expiresInSeconds: (expiresAt - signedAt) / 1000,
    });
  }
}

/** RFC 3986 unreserved characters stay; everything else is percent-encoded, as SigV4 wants. */
const encode = (text: string) => encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const sha256Hex = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
const hmac = (key: string | Buffer, text: string) => createHmac('sha256', key).update(text, 'utf8').digest();

export function presignGet(o: { base: URL; key: string; region: string; credentials: Credentials; signedAt: Date; expiresInSeconds: number }): string {
  const amzDate = o.signedAt
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const scope = `${day}/${o.region}/s3/aws4_request`;
  const basePath = o.base.pathname.replace(/\/+$/, '');
  const path = `${basePath}/${o.key.split('/').map(encode).join('/')}`;
  const query: Array<[string, string]> = [
    ['X-Amz-Algorithm', 'AWS4-HMAC-SHA256'],
    ['X-Amz-Content-Sha256', 'UNSIGNED-PAYLOAD'],
    ['X-Amz-Credential', `${o.credentials.accessKeyId}/${scope}`],
    ['X-Amz-Date', amzDate],
    ['X-Amz-Expires', String(o.expiresInSeconds)],
    ...(o.credentials.sessionToken ? [['X-Amz-Security-Token', o.credentials.sessionToken] as [string, string]] : []),
    ['X-Amz-SignedHeaders', 'host'],
    ['x-id', 'GetObject'],
  ];
  const queryString = (pairs: Array<[string, string]>) =>
    pairs
      .map(([k, v]) => [encode(k), encode(v)] as const)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${k}=${v}`)
      .join('&');
  const canonicalQuery = queryString(query);
  const canonicalRequest = ['GET', path, canonicalQuery, `host:${o.base.host}`, '', 'host', 'UNSIGNED-PAYLOAD'].join('\n');
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${o.credentials.secretAccessKey}`, day), o.region), 's3'), 'aws4_request');
  const signature = createHmac('sha256', signingKey).update(stringToSign, 'utf8').digest('hex');
  return `${o.base.protocol}//${o.base.host}${path}?${queryString([...query, ['X-Amz-Signature', signature]])}`;
}
