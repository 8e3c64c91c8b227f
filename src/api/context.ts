import type { FastifyRequest } from 'fastify';
import type { Store } from '../store/types.js';
import type { TaskService } from '../tasks/task-service.js';
import type { UrlSigner } from '../storage/signed-urls.js';
import type { ResultStorage } from '../storage/result-storage.js';
import type { ResultLinks } from '../storage/file-storage.js';
import type { UploadStorage } from '../storage/upload-storage.js';
import type { PriceBook } from '../billing/price-book.js';
import type { KeyCache } from '../auth/keys.js';
import type { AssetLibrary } from '../assets/asset-library.js';
import type { Metrics } from '../observability/metrics.js';
import type { TaskEvents } from '../events/task-events.js';
import type { WebhookAdmin } from '../webhooks/webhook-admin.js';
import type { Language } from '../contract/failures.js';
import type { ViewOptions } from '../tasks/task-object.js';
import type { ChannelInfo } from '../providers/registry.js';

/** What the routes need from the rest of the service. */
export interface ApiContext {
  /** False on a worker instance: only health, readiness and metrics are served. */
  servesApi: boolean;
  store: Store;
  /** Accepted keys for a few seconds; cleared whenever a key changes through this process. */
  keyCache: KeyCache;
  tasks: TaskService;
  /** Live task events (SSE). */
  events: TaskEvents;
  /** Webhook secrets and the delivery log. */
  webhooks: WebhookAdmin;
  metrics: Metrics;
  assets: AssetLibrary;
  signer: UrlSigner;
  storage: ResultStorage;
  /** How task objects link their result files: signed vidgate URLs or presigned S3 URLs. */
  resultLinks: ResultLinks;
  uploads: UploadStorage;
  clock: () => number;
  publicUrl: string | undefined;
  prices: PriceBook;
  limits: HttpLimits;
  adminToken: string | undefined;
  /** The built web console's folder (index.html and static/). */
  consoleDir: string;
  readiness: () => Promise<{ ready: boolean; checks: Record<string, string> }>;
  /** The configured channels as this process sees them (admin: channels). */
  channels: ChannelDirectory;
}

/** The channels and what this process's dispatcher knows of them (in memory, never in the database). */
export interface ChannelDirectory {
  list(): ChannelInfo[];
  /** Whether this process claims and runs tasks; false on an api-only instance, which knows only the database. */
  readonly runsWork: boolean;
  /** A suspect runs alone in this process's dispatcher: it starts nothing else until that run ends. */
  suspectRunningAlone(): boolean;
}

/** What one client may ask of the server: sizes, times and rates (README, Configuration). */
export interface HttpLimits {
  bodyLimitBytes: number;
  requestTimeoutMs: number;
  headersTimeoutMs: number;
  maxConnections: number;
  /** Requests that create work, per key and window (a key's own limit wins). */
  createRpm: number;
  /** Other requests of a key, per window. */
  readRpm: number;
  /** Requests without a valid key, per address and window. */
  anonymousRpm: number;
  rateWindowMs: number;
  /** Fastify's trustProxy: which proxies may name the client's address (X-Forwarded-For). */
  trustProxy: boolean | string[];
}

/** How this request sees tasks: result URLs on the address it used, its language, the operator's credits. */
export function taskViewOptions(
  ctx: Pick<ApiContext, 'publicUrl' | 'resultLinks' | 'prices'>,
  request: FastifyRequest,
  language: Language = 'en',
): ViewOptions {
  // Worked out when a link is made: most tasks a client polls have no result to link yet.
  let base: string | undefined;
  return {
    language,
    fileUrl: (key, expiresAt) => ctx.resultLinks.url((base ??= publicBase(ctx, request)), key, expiresAt),
    creditsPerUsd: ctx.prices.creditsPerUsd,
  };
}

/** VIDGATE_PUBLIC_URL when set, else the address the client used to reach us. */
export function publicBase(ctx: Pick<ApiContext, 'publicUrl'>, request: FastifyRequest): string {
  return ctx.publicUrl ?? `${request.protocol}://${request.host}`;
}
