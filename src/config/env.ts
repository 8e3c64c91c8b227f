import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { DEFAULT_RETRY_SCHEDULE, parseRetrySchedule } from './retry-schedule.js';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const optionalText = z
  .string()
  .optional()
  .transform((v) => (v?.trim() ? v.trim() : undefined));

const EnvSchema = z.object({
  VIDGATE_HOST: z.string().default('0.0.0.0'),
  VIDGATE_PORT: int(0, 65535).optional(),
  PORT: int(0, 65535).optional(),
  VIDGATE_DATA_DIR: z.string().default('./data'),
  VIDGATE_ROLE: z.enum(['all', 'api', 'worker'], { error: () => 'must be all, api or worker' }).default('all'),
  VIDGATE_DATABASE_URL: optionalText.pipe(
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL (leave it unset for the SQLite file in VIDGATE_DATA_DIR)')
      .optional(),
  ),
  VIDGATE_DATABASE_POOL_SIZE: int(1, 1000).default(10),
  VIDGATE_PUBLIC_URL: z.url().optional(),
  VIDGATE_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  VIDGATE_BODY_LIMIT_BYTES: int(1024, 64 * 1024 * 1024).default(1024 * 1024),
  VIDGATE_LOCAL_CONCURRENCY: int(1, 256).optional(),
  VIDGATE_FFMPEG: optionalText,
  VIDGATE_BOOTSTRAP_KEY: optionalText,
  VIDGATE_BOOTSTRAP_BALANCE: z.coerce.number().min(0).optional(),
  VIDGATE_RESULT_TTL_SECONDS: int(1, 365 * 24 * 3600).default(72 * 3600),
  VIDGATE_LEASE_SECONDS: int(2, 3600).default(30),
  VIDGATE_MAX_ATTEMPTS: int(1, 100).default(3),
  VIDGATE_CRASHES_ALONE: int(1, 1_000_000).default(1),
  VIDGATE_BUSY_RETRY_MS: int(1, 600_000).default(5_000),
  VIDGATE_BUSY_MAX_WAIT_SECONDS: int(0, 7 * 86_400).default(900),
  VIDGATE_SHUTDOWN_GRACE_SECONDS: z.coerce.number().min(0).max(3600).default(25),
  VIDGATE_SIGNING_SECRET: optionalText,
  VIDGATE_MEDIA_ALLOW_HOSTS: z.string().default(''),
  VIDGATE_MEDIA_CONNECT_TIMEOUT_MS: int(1, 600_000).default(10_000),
  VIDGATE_MEDIA_TIMEOUT_MS: int(1, 3_600_000).default(60_000),
  VIDGATE_MEDIA_CACHE_MB: int(1, 1_048_576).default(2048),
  VIDGATE_FFPROBE: optionalText,
  VIDGATE_DEFAULT_RPM: int(1, 1_000_000).default(60),
  VIDGATE_READ_RPM: int(1, 10_000_000).default(3000),
  VIDGATE_ANONYMOUS_RPM: int(1, 10_000_000).default(600),
  VIDGATE_REQUEST_TIMEOUT_SECONDS: int(1, 3600).default(120),
  VIDGATE_HEADERS_TIMEOUT_SECONDS: int(1, 600).default(20),
  VIDGATE_MAX_CONNECTIONS: int(1, 1_000_000).default(10_000),
  VIDGATE_LISTEN_BACKLOG: int(1, 65_535).default(4096),
  VIDGATE_HEAP_GROWING_PERCENT: int(0, 1000).default(50),
  VIDGATE_TRUST_PROXY: optionalText,
  VIDGATE_RATE_WINDOW_SECONDS: int(1, 3600).default(60),
  VIDGATE_DEFAULT_IN_FLIGHT: int(1, 1_000_000).default(20),
  VIDGATE_ADMIN_TOKEN: optionalText,
  VIDGATE_CONSOLE_DIR: optionalText,
  VIDGATE_CONFIG: optionalText,
  VIDGATE_WEBHOOK_TIMEOUT_MS: int(100, 120_000).default(10_000),
  VIDGATE_WEBHOOK_CONCURRENCY: int(1, 1024).default(16),
  VIDGATE_WEBHOOK_RETRY_SCHEDULE: z
    .string()
    .default(DEFAULT_RETRY_SCHEDULE)
    .transform((text, check) => {
      try {
        return parseRetrySchedule(text);
      } catch (err) {
        check.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    }),
  VIDGATE_EVENTS_POLL_MS: int(50, 60_000).default(1000),
  VIDGATE_QUEUE_POLL_MS: int(50, 3_600_000).default(5000),
  VIDGATE_EVENTS_HEARTBEAT_MS: int(100, 300_000).default(15_000),
  VIDGATE_STORAGE_URL: optionalText,
  VIDGATE_RESULT_URLS: z.enum(['signed', 'presigned'], { error: () => 'must be signed or presigned' }).default('signed'),
  VIDGATE_S3_ENDPOINT: optionalText.pipe(z.url({ protocol: /^https?$/, error: () => 'must be an http(s):// URL' }).optional()),
  VIDGATE_S3_REGION: optionalText.transform((v) => v ?? 'us-east-1'),
  VIDGATE_S3_ACCESS_KEY_ID: optionalText,
  VIDGATE_S3_SECRET_ACCESS_KEY: optionalText,
  VIDGATE_S3_FORCE_PATH_STYLE: optionalText.pipe(z.enum(['true', 'false', '1', '0'], { error: () => 'must be true or false' }).optional()),
});

export type Config = ReturnType<typeof toConfig>;

function trustProxyFrom(value: string | undefined): boolean | string[] {
  if (!value || value === 'false') return false;
  if (value === 'true') return true;
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** dist/console of this package, wherever it is installed and whether it runs from src or dist. */
function packagedConsoleDir(): string {
  return join(dirname(createRequire(import.meta.url).resolve('vidgate/package.json')), 'dist', 'console');
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid configuration: ${problems}`);
  }
  return toConfig(parsed.data);
}

/** S3 refuses presigned URLs valid longer than a week. */
const PRESIGNED_MAX_SECONDS = 7 * 24 * 3600;
/** S3's rules for bucket names (3–63 characters; lower-case letters, digits, dots, hyphens). */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Where files are kept (README: Storing results in S3): local files unless VIDGATE_STORAGE_URL names a bucket. */
function storageFrom(e: z.infer<typeof EnvSchema>) {
  const refuse = (problem: string): never => {
    throw new ConfigError(`invalid configuration: ${problem}`);
  };
  const resultUrls = e.VIDGATE_RESULT_URLS;
  if (!e.VIDGATE_STORAGE_URL) {
    if (resultUrls === 'presigned') refuse('VIDGATE_RESULT_URLS: presigned needs VIDGATE_STORAGE_URL=s3://bucket/prefix');
    return { storage: { kind: 'local' as const }, resultUrls };
  }
  const match = /^s3:\/\/([^/?#]+)(?:\/([^?#]*))?$/.exec(e.VIDGATE_STORAGE_URL);
  if (!match) return refuse('VIDGATE_STORAGE_URL: must be s3://bucket or s3://bucket/prefix');
  const bucket = match[1]!;
  if (!BUCKET.test(bucket)) refuse(`VIDGATE_STORAGE_URL: "${bucket}" is not an S3 bucket name (3–63 characters: a-z, 0-9, dots, hyphens)`);
  const prefix = (match[2] ?? '').replace(/^\/+|\/+$/g, '');
  if (prefix.split('/').some((s) => s === '.' || s === '..') || /\/\//.test(prefix))
    refuse('VIDGATE_STORAGE_URL: the prefix may not have empty, "." or ".." segments');
  const keyId = e.VIDGATE_S3_ACCESS_KEY_ID;
  const secret = e.VIDGATE_S3_SECRET_ACCESS_KEY;
  if (Boolean(keyId) !== Boolean(secret))
    refuse('VIDGATE_S3_ACCESS_KEY_ID and VIDGATE_S3_SECRET_ACCESS_KEY go together: set both, or neither for the default credential chain');
  if (resultUrls === 'presigned' && e.VIDGATE_RESULT_TTL_SECONDS > PRESIGNED_MAX_SECONDS)
    refuse(`VIDGATE_RESULT_TTL_SECONDS: presigned URLs last at most ${PRESIGNED_MAX_SECONDS} s (7 days)`);
  const pathStyle = e.VIDGATE_S3_FORCE_PATH_STYLE;
  return {
    storage: {
      kind: 's3' as const,
      bucket,
      prefix,
      endpoint: e.VIDGATE_S3_ENDPOINT,
      region: e.VIDGATE_S3_REGION,
      credentials: keyId && secret ? { accessKeyId: keyId, secretAccessKey: secret } : undefined,
      // Servers of one's own (MinIO, Ceph, s3rver) mostly need path-style addresses; AWS prefers virtual hosts.
      forcePathStyle: pathStyle === undefined ? e.VIDGATE_S3_ENDPOINT !== undefined : pathStyle === 'true' || pathStyle === '1',
    },
    resultUrls,
  };
}

/** The settings as the code reads them; the type follows from this one mapping. */
function toConfig(e: z.infer<typeof EnvSchema>) {
  return {
    host: e.VIDGATE_HOST,
    port: e.VIDGATE_PORT ?? e.PORT ?? 3000,
    dataDir: resolve(e.VIDGATE_DATA_DIR),
    /**
     * What this instance does (README: Running several instances): `api` answers clients and never
     * runs tasks or delivers webhooks; `worker` runs tasks, reviews, webhooks and sweeps and serves
     * only health and metrics; `all` both.
     */
    role: e.VIDGATE_ROLE,
    /** PostgreSQL shared by every instance; undefined = the SQLite file `<dataDir>/vidgate.db`. */
    databaseUrl: e.VIDGATE_DATABASE_URL,
    /** Connections each process keeps to PostgreSQL. */
    databasePoolSize: e.VIDGATE_DATABASE_POOL_SIZE,
    publicUrl: e.VIDGATE_PUBLIC_URL?.replace(/\/+$/, ''),
    logLevel: e.VIDGATE_LOG_LEVEL,
    bodyLimitBytes: e.VIDGATE_BODY_LIMIT_BYTES,
    localConcurrency: e.VIDGATE_LOCAL_CONCURRENCY ?? availableParallelism(),
    ffmpegPath: e.VIDGATE_FFMPEG,
    bootstrapKey: e.VIDGATE_BOOTSTRAP_KEY,
    /** USD; undefined = unlimited. */
    bootstrapBalance: e.VIDGATE_BOOTSTRAP_BALANCE,
    resultTtlMs: e.VIDGATE_RESULT_TTL_SECONDS * 1000,
    leaseMs: e.VIDGATE_LEASE_SECONDS * 1000,
    maxAttempts: e.VIDGATE_MAX_ATTEMPTS,
    /**
     * Deaths of a process while a suspect task ran alone in it before that task is blamed
     * (`run_crashed`). Raise it (and maxAttempts) where processes are killed from outside at random.
     */
    crashesAlone: e.VIDGATE_CRASHES_ALONE,
    /** When every channel for a task answers 429: first wait before trying again (doubling, at most a minute)… */
    busyRetryMs: e.VIDGATE_BUSY_RETRY_MS,
    /** …for at most this long after the task was created; then it fails (refunded). */
    busyMaxWaitMs: e.VIDGATE_BUSY_MAX_WAIT_SECONDS * 1000,
    shutdownGraceMs: e.VIDGATE_SHUTDOWN_GRACE_SECONDS * 1000,
    signingSecret: e.VIDGATE_SIGNING_SECRET,
    /** Requests that create work (submits, uploads, asset reviews) per window per key, unless the key sets its own. */
    defaultRpm: e.VIDGATE_DEFAULT_RPM,
    /** Every other request of a key (status, lists, events, content, models, balance) per window. */
    readRpm: e.VIDGATE_READ_RPM,
    /** Requests without a valid key (refused ones, signed file downloads, docs, health) per window per address. */
    anonymousRpm: e.VIDGATE_ANONYMOUS_RPM,
    /** Time for a whole request (headers and body) to arrive; then 408. */
    requestTimeoutMs: e.VIDGATE_REQUEST_TIMEOUT_SECONDS * 1000,
    /** Time for the request headers to arrive. */
    headersTimeoutMs: Math.min(e.VIDGATE_HEADERS_TIMEOUT_SECONDS, e.VIDGATE_REQUEST_TIMEOUT_SECONDS) * 1000,
    /** Open connections at once; more are closed as they arrive. */
    maxConnections: e.VIDGATE_MAX_CONNECTIONS,
    /** Connections the kernel may queue before they are accepted. */
    listenBacklog: e.VIDGATE_LISTEN_BACKLOG,
    /** `vidgate serve`: old-space growth allowed past the live heap before a full GC (src/cli/heap-growth.ts); 0 keeps V8's rule. */
    heapGrowingPercent: e.VIDGATE_HEAP_GROWING_PERCENT,
    /** Proxies whose X-Forwarded-For names the client: `true` (any) or addresses/CIDRs; none by default. */
    trustProxy: trustProxyFrom(e.VIDGATE_TRUST_PROXY),
    /** The rate limit's window; "per minute" at the default of 60 s. */
    rateWindowMs: e.VIDGATE_RATE_WINDOW_SECONDS * 1000,
    /** Pending + processing tasks per key, unless the key sets its own. */
    defaultInFlightLimit: e.VIDGATE_DEFAULT_IN_FLIGHT,
    /** Bearer token of the admin API; without it the admin API answers 401 to everyone. */
    adminToken: e.VIDGATE_ADMIN_TOKEN,
    /** The built web console served at `/` (npm run build puts it in the package's dist/console). */
    consoleDir: e.VIDGATE_CONSOLE_DIR ? resolve(e.VIDGATE_CONSOLE_DIR) : packagedConsoleDir(),
    /** Path of the YAML/JSON configuration file (prices, later channels). */
    configFile: e.VIDGATE_CONFIG,
    /** Per webhook request, connecting and the receiver's answer included. */
    webhookTimeoutMs: e.VIDGATE_WEBHOOK_TIMEOUT_MS,
    /** Webhook requests in flight at once. */
    webhookConcurrency: e.VIDGATE_WEBHOOK_CONCURRENCY,
    /** Waits between webhook attempts; after the last the delivery is given up. */
    webhookRetryScheduleMs: e.VIDGATE_WEBHOOK_RETRY_SCHEDULE,
    /** How often live events read the database for changes made by other processes. */
    eventsPollMs: e.VIDGATE_EVENTS_POLL_MS,
    /** How often an idle dispatcher looks for tasks another instance queued without it hearing (a safety net under LISTEN/NOTIFY). */
    queuePollMs: e.VIDGATE_QUEUE_POLL_MS,
    /** Comment lines on idle event streams, so proxies keep them open. */
    eventsHeartbeatMs: e.VIDGATE_EVENTS_HEARTBEAT_MS,
    /** Host names and CIDRs media may be fetched from although private (tests, intranets). */
    mediaAllowHosts: e.VIDGATE_MEDIA_ALLOW_HOSTS.split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    /** Per connection attempt of a media download, DNS included. */
    mediaConnectTimeoutMs: e.VIDGATE_MEDIA_CONNECT_TIMEOUT_MS,
    /** Whole media download, redirects included. */
    mediaTimeoutMs: e.VIDGATE_MEDIA_TIMEOUT_MS,
    /** Soft bound of `<dataDir>/media/`; files in use are kept beyond it. */
    mediaCacheBytes: e.VIDGATE_MEDIA_CACHE_MB * 1024 * 1024,
    /** ffprobe binary; else PATH, else @ffprobe-installer/ffprobe. */
    ffprobePath: e.VIDGATE_FFPROBE,
    /** `storage`: local files, or an S3 bucket; `resultUrls`: vidgate's signed URLs, or the bucket's presigned ones. */
    ...storageFrom(e),
  };
}
