import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { mkdir, writeFile } from 'node:fs/promises';
import pino, { type Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import type { Config } from './config/env.js';
import { openStore } from './store/open-store.js';
import type { AccountStore, SettingsStore, Store } from './store/types.js';
import { createFileStorage } from './storage/file-storage.js';
import { ResultSweeper } from './storage/result-sweeper.js';
import { FreeSpaceCheck, type FreeSpaceReader } from './storage/free-space.js';
import { UrlSigner } from './storage/signed-urls.js';
import { buildChannels } from './providers/channels.js';
import type { ProviderRegistry } from './providers/registry.js';
import { locateFfmpeg, type FfmpegBinary } from './render/ffmpeg.js';
import { locateTts } from './render/speech.js';
import { Dispatcher } from './tasks/dispatcher.js';
import { newLeaseOwner } from './tasks/lease-owner.js';
import { TaskService } from './tasks/task-service.js';
import { ChannelRouter } from './tasks/channel-router.js';
import { AssetLibrary } from './assets/asset-library.js';
import { buildServer } from './api/server.js';
import { createMedia } from './media/setup.js';
import type { MediaIntake } from './media/media-intake.js';
import type { UploadStorage } from './storage/upload-storage.js';
import { PriceBook } from './billing/price-book.js';
import { Metrics } from './observability/metrics.js';
import { loadFileConfig } from './config/file.js';
import { createAccountWithKey, ensureBootstrapKey, KeyCache } from './auth/keys.js';
import { createTaskNotifications, type TaskNotifications } from './events/task-notifications.js';
import { assertUndiciPatched } from './net/undici-patch.js';

export interface AppOptions {
  logger?: Logger;
  clock?: () => number;
  /** Start claiming tasks (default true); tests of the queue itself may drive it by hand. */
  runDispatcher?: boolean;
  /** How /readyz reads the data directory's free space (default: statfs). */
  freeSpace?: FreeSpaceReader;
  /** In place of the configured channels: the benchmarks measure the queue with a provider that does no work. */
  providers?: ProviderRegistry;
}

export interface App {
  config: Config;
  server: FastifyInstance;
  store: Store;
  dispatcher: Dispatcher;
  /** Webhooks (worker, secrets, delivery log) and live task events. */
  notifications: TaskNotifications;
  sweeper: ResultSweeper;
  ffmpeg: FfmpegBinary;
  assets: AssetLibrary;
  /** Fetches, checks and probes a task's media (README: Media); uploads are read from storage. */
  media: MediaIntake;
  /** Uploaded images (their sweep, for tests that move the clock). */
  uploads: UploadStorage;
  logger: Logger;
  /** Stops taking requests and work, lets running tasks finish or requeues them, closes the database. */
  close(): Promise<void>;
}

/** JSON lines on stdout, written asynchronously so a log line never blocks a request on the pipe. */
export function createLogger(level: Config['logLevel']): Logger {
  return pino({ level, base: { service: 'vidgate' } }, pino.destination({ dest: 1, sync: false }));
}

async function signingSecret(config: Config, store: SettingsStore): Promise<string> {
  // Persisted so result URLs survive a restart.
  return config.signingSecret ?? store.initSetting('url_signing_secret', randomBytes(32).toString('base64url'));
}

async function ensureSomeoneCanSignIn(config: Config, store: AccountStore, logger: Logger): Promise<void> {
  if (config.bootstrapKey) {
    const created = await ensureBootstrapKey(store, config.bootstrapKey, config.bootstrapBalance);
    if (created) logger.info({ account: created.key.accountId, key: created.key.prefix }, 'bootstrap API key registered');
    return;
  }
  if (await store.hasApiKeys()) return;
  const created = await createAccountWithKey(store, { name: 'default' });
  // Logs are shipped and kept elsewhere: the secret goes to a file only its owner can read, and to
  // the operator's terminal when there is one, never into the log.
  const file = join(config.dataDir, FIRST_KEY_FILE);
  await writeFile(file, `${created.secret}\n`, { mode: 0o600 });
  logger.warn(
    { account: created.key.accountId, key: created.key.prefix, file },
    `no API key existed: created one for a first account; its secret is in ${file}`,
  );
  if (process.stderr.isTTY) process.stderr.write(`\nvidgate: your first API key (also in ${file}); paste it into the web console:\n\n  ${created.secret}\n\n`);
}

/** Where the first start leaves the key it created (mode 0600, in the data directory). */
export const FIRST_KEY_FILE = 'first-api-key.txt';

export async function createApp(config: Config, options: AppOptions = {}): Promise<App> {
  assertUndiciPatched();
  const logger = options.logger ?? createLogger(config.logLevel);
  const clock = options.clock ?? Date.now;
  await mkdir(config.dataDir, { recursive: true });
  const store = await openStore(config, logger);
  let closeFiles = async () => {};
  try {
    const fileStorage = await createFileStorage(config);
    closeFiles = fileStorage.close;
    const storage = fileStorage.results;
    const signer = new UrlSigner(await signingSecret(config, store));
    const resultLinks = await fileStorage.resultLinks(signer, clock);
    logger.info({ files: storage.files.location, resultUrls: config.resultUrls }, 'storage ready');
    const assets = new AssetLibrary(store, storage.files, clock, logger.child({ component: 'assets' }), {
      signer,
      publicUrl: config.publicUrl,
      ttlMs: 24 * 3600 * 1000,
    });
    const ffmpeg = await locateFfmpeg(config.ffmpegPath);
    const media = await createMedia(config, { files: storage.files, signer, clock, assets, ffmpeg, logger: logger.child({ component: 'media' }) });
    // Reviews left unfinished by a stopped instance are resumed by those that run work.
    if (config.role !== 'api') await assets.start(media.intake);
    else assets.useIntake(media.intake);
    const tts = await locateTts();
    logger.info({ ffmpeg: ffmpeg.path, version: ffmpeg.version, source: ffmpeg.source, tts: tts?.path ?? null }, 'renderer ready');

    const metrics = new Metrics(store);
    const fileConfig = await loadFileConfig(config.configFile);
    const prices = new PriceBook(fileConfig.prices, fileConfig.creditsPerUsd);
    const providers =
      options.providers ??
      buildChannels(fileConfig.channels, {
        localConcurrency: config.localConcurrency,
        ffmpeg,
        tts,
        intake: media.intake,
        fetcher: media.fetcher,
        assets,
        clock,
        logger: logger.child({ component: 'render' }),
      });
    // Every instance reads the same budgets and loads from the database (README: Configuration, `routing`).
    const router = new ChannelRouter({ registry: providers, mode: fileConfig.routing, spend: store, clock });
    const owner = newLeaseOwner();
    const notifications = createTaskNotifications(config, { store, resultLinks, clock, owner, logger, creditsPerUsd: prices.creditsPerUsd });
    const dispatcher = new Dispatcher({
      store,
      providers,
      storage,
      owner,
      logger: logger.child({ component: 'dispatcher' }),
      clock,
      leaseMs: config.leaseMs,
      maxAttempts: config.maxAttempts,
      crashesAlone: config.crashesAlone,
      busyRetryMs: config.busyRetryMs,
      busyMaxWaitMs: config.busyMaxWaitMs,
      resultTtlMs: config.resultTtlMs,
      workRoot: join(config.dataDir, 'work'),
      idlePollMs: config.queuePollMs,
      prices,
      router,
      onRunEnded: (provider, outcome, seconds) => metrics.taskRun(provider, outcome, seconds),
      onTaskChanged: (id, change) => notifications.taskChanged(id, change),
    });
    dispatcher.onTaskSettled((id) => notifications.taskChanged(id, 'settled'));
    // Other instances on the same database: what they queue may be ours to run, what they change
    // is watched here too.
    store.onRemoteTaskChanges((change, ids) => {
      if (change === 'queued') return dispatcher.poke();
      for (const id of ids) {
        notifications.taskChanged(id, change);
        // Cancelled through another instance while this one runs it: stop the work (and the upstream's).
        if (change === 'settled' && dispatcher.holds(id)) {
          store.getTask(id).then(
            (task) => task?.status === 'cancelled' && dispatcher.cancel(id),
            () => undefined,
          );
        }
      }
    });
    metrics.watchHeldTasks(() => dispatcher.heldCounts());
    const tasks = new TaskService({
      store,
      providers,
      assets,
      prices,
      router,
      clock,
      defaultInFlightLimit: config.defaultInFlightLimit,
      onSubmitted: () => dispatcher.poke(),
      onCancelled: (id) => {
        dispatcher.cancel(id);
        notifications.taskChanged(id, 'settled');
      },
      estimate: (provider, request) => notifications.estimates.estimate(provider, request),
    });
    const sweeper = new ResultSweeper(store, storage, clock, logger.child({ component: 'sweeper' }));
    await ensureSomeoneCanSignIn(config, store, logger);

    let closing = false;
    // An API instance leaves tasks, webhook deliveries and sweeps to the workers sharing its database.
    const runsWork = config.role !== 'api';
    const disk = new FreeSpaceCheck(config.dataDir, { read: options.freeSpace, clock });
    const server = await buildServer(
      {
        servesApi: config.role !== 'worker',
        store,
        keyCache: new KeyCache(5_000),
        tasks,
        events: notifications.events,
        webhooks: notifications.webhooks,
        metrics,
        assets,
        signer,
        uploads: media.uploads,
        storage,
        resultLinks,
        clock,
        publicUrl: config.publicUrl,
        prices,
        limits: {
          bodyLimitBytes: config.bodyLimitBytes,
          requestTimeoutMs: config.requestTimeoutMs,
          headersTimeoutMs: config.headersTimeoutMs,
          maxConnections: config.maxConnections,
          createRpm: config.defaultRpm,
          readRpm: config.readRpm,
          anonymousRpm: config.anonymousRpm,
          rateWindowMs: config.rateWindowMs,
          trustProxy: config.trustProxy,
        },
        adminToken: config.adminToken,
        consoleDir: config.consoleDir,
        readiness: async () => {
          const checks: Record<string, string> = { renderer: ffmpeg.version };
          let ready = !closing;
          checks.shutdown = closing ? 'in progress' : 'no';
          try {
            await store.ping();
            checks.database = 'ok';
          } catch (err) {
            checks.database = (err as Error).message;
            ready = false;
          }
          const space = await disk.check();
          checks.disk = space.detail;
          if (!space.ok) ready = false;
          return { ready, checks };
        },
        channels: {
          list: () => providers.describe(),
          runsWork: runsWork && options.runDispatcher !== false,
          suspectRunningAlone: () => dispatcher.runningAlone,
        },
      },
      logger,
    );

    notifications.useServer(server);
    if (runsWork && options.runDispatcher !== false) {
      await dispatcher.start();
      await notifications.start();
    }
    if (runsWork) sweeper.start(10 * 60 * 1000);

    const close = async () => {
      if (closing) return;
      closing = true;
      sweeper.stop();
      notifications.closeStreams();
      await server.close();
      await dispatcher.stop(config.shutdownGraceMs);
      await notifications.stop();
      await providers.closeAll();
      await assets.stop();
      await media.close();
      await store.close();
      await fileStorage.close();
    };
    return { config, server, store, dispatcher, notifications, sweeper, ffmpeg, media: media.intake, uploads: media.uploads, assets, logger, close };
  } catch (err) {
    await store.close();
    await closeFiles();
    throw err;
  }
}
