import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/env.js';
import type { FfmpegBinary } from '../render/ffmpeg.js';
import type { UrlSigner } from '../storage/signed-urls.js';
import type { FileStore } from '../storage/file-store.js';
import { uploadImageCheck } from './upload-image-check.js';
import { UploadStorage } from '../storage/upload-storage.js';
import { AddressPolicy } from '../net/address-policy.js';
import { MediaCache } from './media-cache.js';
import { MediaIntake, type AssetResolver, type LocalFiles } from './media-intake.js';
import { ResultLookup } from '../storage/result-lookup.js';
import { ResultStorage } from '../storage/result-storage.js';
import { FfprobeProber, locateFfprobe, type FfprobeBinary } from './probe.js';
import { SafeFetcher } from './safe-fetch.js';
import { StillCheck } from './still-check.js';

export interface MediaServices {
  intake: MediaIntake;
  /** The SSRF-safe downloader, also used to copy upstream results. */
  fetcher: SafeFetcher;
  uploads: UploadStorage;
  ffprobe: FfprobeBinary;
  /** Stops the upload sweeper and closes download connections. */
  close(): Promise<void>;
}

const SWEEP_INTERVAL_MS = 10 * 60 * 1000;

/** Builds the media side of the service from configuration, so app.ts needs only a line or two. */
export async function createMedia(
  config: Config,
  opts: { files: FileStore; signer: UrlSigner; clock: () => number; assets?: AssetResolver; ffmpeg?: FfmpegBinary; logger?: Logger },
): Promise<MediaServices> {
  const ffprobe = await locateFfprobe(config.ffprobePath);
  const prober = new FfprobeProber(ffprobe.path);
  const uploads = new UploadStorage(opts.files, config.dataDir, opts.signer, {
    clock: opts.clock,
    publicUrl: config.publicUrl,
    checkImage: uploadImageCheck(new StillCheck(prober)),
  });
  await uploads.init();
  const cache = new MediaCache({ dir: join(config.dataDir, 'media'), maxBytes: config.mediaCacheBytes, clock: opts.clock });
  await cache.init();
  const fetcher = new SafeFetcher({
    policy: new AddressPolicy(config.mediaAllowHosts),
    connectTimeoutMs: config.mediaConnectTimeoutMs,
    timeoutMs: config.mediaTimeoutMs,
  });
  // This server's own URLs given back as inputs (uploads, signed result URLs) are read from its storage, never fetched.
  const results = new ResultLookup(new ResultStorage(opts.files), opts.signer, opts.clock);
  const ownFiles: LocalFiles = {
    lookup: async (url) => {
      const upload = await uploads.lookup(url);
      return upload.kind === 'foreign' ? results.lookup(url) : upload;
    },
  };
  const intake = new MediaIntake({ cache, fetcher, prober, uploads: ownFiles, assets: opts.assets, ffmpeg: opts.ffmpeg, logger: opts.logger });
  uploads.startSweeping(SWEEP_INTERVAL_MS);
  return {
    intake,
    fetcher,
    uploads,
    ffprobe,
    close: async () => {
      uploads.stop();
      await fetcher.close();
    },
  };
}
