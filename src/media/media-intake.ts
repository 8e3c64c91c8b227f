import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { MediaInput, MediaKind } from '../contract/submit.js';
import type { FfmpegBinary } from '../render/ffmpeg.js';
import { mapBounded, SharedJobs } from '../concurrency/shared-jobs.js';
import { forInput, invalidMedia, MediaProblem } from './errors.js';
import type { CachedFile, MediaCache } from './media-cache.js';
import { checkFile, checkTotals, MAX_FILE_BYTES, SIZE_RULES } from './media-rules.js';
import type { MediaProber, PictureProbe, ProbeResult } from './probe.js';
import type { SafeFetcher } from './safe-fetch.js';
import { acceptType, sniffFile, type SniffedType } from './sniff.js';
import { StillCheck } from './still-check.js';
import { needsNormalising, writeNormalisedStill } from './still-normaliser.js';
import type { MediaProbe, PreparedMedia } from './types.js';

/** A video whose container is fine but whose frames are not: rendering it would loop over nothing. */
export const VIDEO_UNDECODABLE = 'the file is damaged: its first video frame could not be decoded';

/**
 * A file vidgate stored itself (an upload, an asset's copy) in a remote file store (S3): copied
 * down into the cache before anything reads it. `id` names it for good: stored files never change.
 */
export interface StoredSource {
  id: string;
  download(target: string, signal: AbortSignal): Promise<void>;
}

/** Where an input's bytes are: a URL to fetch, a file already on this machine, or one in vidgate's own file store. */
export type MediaSource = { url: string } | { path: string } | { stored: StoredSource };

/**
 * Turns `asset://<id>` references into their media. Assets arrive with the review flow (README: Assets);
 * until then `noAssetResolver` refuses them.
 */
export interface AssetResolver {
  resolve(input: MediaInput & { assetId: string }, opts: { signal: AbortSignal; accountId?: string }): Promise<MediaSource>;
}

export const noAssetResolver: AssetResolver = {
  resolve: async () => {
    throw invalidMedia('asset references are not available yet');
  },
};

/** Recognises URLs of files this server holds (uploads, signed result URLs), so they are read from its storage, not fetched. */
export interface LocalFiles {
  lookup(
    url: string,
  ): Promise<{ kind: 'foreign' } | { kind: 'file'; path: string } | ({ kind: 'stored' } & StoredSource) | { kind: 'refused'; detail: string }>;
}

export interface MediaIntakeOptions {
  cache: MediaCache;
  fetcher: SafeFetcher;
  prober: MediaProber;
  /** This server's own files: uploads and results (media/setup.ts). */
  uploads?: LocalFiles;
  assets?: AssetResolver;
  /** Files fetched or probed at once per prepare call. */
  concurrency?: number;
  /** Writes 8-bit, output-sized copies of images that are costly to decode; without it renders read the originals. */
  ffmpeg?: FfmpegBinary;
  /** Gets what the tools said about refused files; the client is told only the reason. */
  logger?: Logger;
}

export interface PrepareOptions {
  signal: AbortSignal;
  /** Whose asset:// references these are. */
  accountId?: string;
  /** For the log. */
  taskId?: string;
  /** The caller renders the media itself: give costly images their render copy (`stillPath`). */
  renderCopies?: boolean;
}

/**
 * Gets a task's media ready for a provider (README: Media): fetches URLs safely (in parallel, each URL
 * once however often it is named), reads this server's own files (uploads, results) from its storage,
 * sniffs, probes, checks the rules, and answers in input order. A breach fails with invalid_media, an
 * unreachable file with media_fetch_failed (TaskFailureError, naming the input's field); an abort
 * rethrows the signal's reason.
 */
export class MediaIntake {
  private readonly jobs = new SharedJobs<CachedFile>();
  private readonly stillJobs = new SharedJobs<CachedFile | null>();
  private readonly assets: AssetResolver;
  private readonly concurrency: number;
  private readonly stills: StillCheck;

  constructor(private readonly opts: MediaIntakeOptions) {
    this.assets = opts.assets ?? noAssetResolver;
    this.concurrency = opts.concurrency ?? 4;
    this.stills = new StillCheck(opts.prober);
  }

  async prepare(inputs: readonly MediaInput[], opts: PrepareOptions): Promise<PreparedMedia[]> {
    opts.signal.throwIfAborted();
    // One input failing stops the others' downloads: the task fails on the first problem anyway.
    const siblings = new AbortController();
    const signal = AbortSignal.any([opts.signal, siblings.signal]);
    const pinned: string[] = [];
    try {
      const prepared = await mapBounded(
        inputs,
        this.concurrency,
        (input) => this.prepareOne(input, { ...opts, signal }, pinned),
        (err) => siblings.abort(err),
      );
      checkTotals(prepared);
      return prepared;
    } catch (err) {
      if (opts.signal.aborted) throw opts.signal.reason;
      throw err;
    } finally {
      for (const hash of pinned) this.opts.cache.unpin(hash);
    }
  }

  private async prepareOne(input: MediaInput, opts: PrepareOptions, pinned: string[]): Promise<PreparedMedia> {
    try {
      const file = await this.obtain(input, opts);
      this.opts.cache.pin(file.hash);
      pinned.push(file.hash);
      const type = acceptType(input.kind, file.sniffed);
      const probe = toMediaProbe(input.kind, type, file.bytes, await this.probeOf(input.kind, file, opts.signal));
      checkFile(input.kind, probe);
      const stillPath = input.kind === 'image' && opts.renderCopies ? await this.stillFor(file, pinned, opts.signal) : undefined;
      return { input, path: file.path, probe, ...(stillPath ? { stillPath } : {}) };
    } catch (err) {
      if (err instanceof MediaProblem && err.diagnostic) {
        this.opts.logger?.info({ taskId: opts.taskId, field: input.field, detail: err.detail, diagnostic: err.diagnostic }, 'media file refused');
      }
      throw forInput(err, input);
    }
  }

  /** The input's bytes in the cache, from wherever they are. */
  private async obtain(input: MediaInput, opts: PrepareOptions): Promise<CachedFile> {
    const source = await this.locate(input, opts);
    if ('path' in source) return this.importLocal(input.kind, source.path, opts.signal);
    if ('stored' in source) return this.importStored(input.kind, source.stored, opts.signal);
    return this.fetchRemote(input.kind, source.url, opts.signal);
  }

  private async locate(input: MediaInput, opts: PrepareOptions): Promise<MediaSource> {
    if (input.assetId !== null) return this.assets.resolve({ ...input, assetId: input.assetId }, opts);
    const local = this.opts.uploads ? await this.opts.uploads.lookup(input.url) : { kind: 'foreign' as const };
    if (local.kind === 'refused') throw invalidMedia(local.detail);
    if (local.kind === 'stored') return { stored: local };
    return local.kind === 'file' ? { path: local.path } : { url: input.url };
  }

  /**
   * Downloads a URL into the cache, unless it was fetched lately; callers asking for the same URL
   * at the same time share one download. The kind is part of the key because caps and allowed
   * types differ by kind.
   */
  private fetchRemote(kind: MediaKind, url: string, signal: AbortSignal): Promise<CachedFile> {
    const key = `${kind} ${url}`;
    const known = this.opts.cache.lookupUrl(key);
    if (known) return Promise.resolve(known);
    return this.jobs.run(key, signal, async (jobSignal) => {
      const temp = this.opts.cache.tempPath();
      const download = await this.opts.fetcher.download(url, temp, { maxBytes: MAX_FILE_BYTES[kind], sizeRule: SIZE_RULES[kind], signal: jobSignal });
      const file = await this.keep(kind, temp, download.sha256, 'move');
      this.opts.cache.rememberUrl(key, file.hash);
      return file;
    });
  }

  /** A file of vidgate's remote store: streamed into the cache once, then found there by its id. */
  private importStored(kind: MediaKind, stored: StoredSource, signal: AbortSignal): Promise<CachedFile> {
    const key = `${kind} stored:${stored.id}`;
    const known = this.opts.cache.lookupUrl(key);
    if (known) return Promise.resolve(known);
    return this.jobs.run(key, signal, async (jobSignal) => {
      const temp = this.opts.cache.tempPath();
      try {
        await stored.download(temp, jobSignal);
        const file = await this.keep(kind, temp, await sha256Of(temp, jobSignal), 'move');
        this.opts.cache.rememberUrl(key, file.hash);
        return file;
      } finally {
        await rm(temp, { force: true });
      }
    });
  }

  /** A file on this machine (an upload): hashed and linked into the cache, never moved away. */
  private importLocal(kind: MediaKind, path: string, signal: AbortSignal): Promise<CachedFile> {
    return this.jobs.run(`${kind} file:${path}`, signal, async (jobSignal) => this.keep(kind, path, await sha256Of(path, jobSignal), 'link'));
  }

  /** Sniffs before storing, so bytes of the wrong kind never enter the cache. */
  private async keep(kind: MediaKind, source: string, hash: string, mode: 'move' | 'link'): Promise<CachedFile> {
    const known = this.opts.cache.get(hash);
    if (known?.sniffed) {
      if (mode === 'move') await rm(source, { force: true });
      return known;
    }
    const sniffed = await sniffFile(source);
    try {
      acceptType(kind, sniffed);
    } catch (err) {
      if (mode === 'move') await rm(source, { force: true });
      throw err;
    }
    return this.opts.cache.store(source, hash, sniffed!, mode);
  }

  /**
   * Images: size from the header before anything decodes them, then their first picture decoded.
   * Videos: ffprobe, then their first frame decoded. Remembered per content once it passed.
   */
  private async probeOf(kind: MediaKind, file: CachedFile, signal: AbortSignal): Promise<ProbeResult> {
    if (file.probe) return file.probe;
    let probe: ProbeResult;
    if (kind === 'image') {
      const picture = await this.stills.check(file.path, signal);
      probe = { width: picture.width, height: picture.height, pixelFormat: picture.pixelFormat, hasVideo: false, hasAudio: false };
    } else {
      probe = await this.opts.prober.probe(file.path, { signal });
      if (kind === 'video' && probe.hasVideo && !(await this.opts.prober.firstPicture(file.path, { signal }))) throw invalidMedia(VIDEO_UNDECODABLE);
    }
    this.opts.cache.describe(file.hash, { probe });
    return probe;
  }

  /** The render copy of a costly image (made once per content, shared by callers meanwhile), or undefined. */
  private async stillFor(file: CachedFile, pinned: string[], signal: AbortSignal): Promise<string | undefined> {
    const { width, height, pixelFormat } = file.probe ?? {};
    if (!this.opts.ffmpeg || !width || !height || !pixelFormat) return undefined;
    const picture = { width, height, pixelFormat };
    if (!needsNormalising(picture)) return undefined;
    const known = file.stillHash ? this.opts.cache.get(file.stillHash) : undefined;
    const still = known ?? (await this.stillJobs.run(file.hash, signal, (jobSignal) => this.normalise(file, picture, jobSignal)));
    if (!still) return undefined;
    this.opts.cache.pin(still.hash);
    pinned.push(still.hash);
    return still.path;
  }

  /** A failed copy is not the client's fault (the image decoded already): the render reads the original instead. */
  private async normalise(file: CachedFile, picture: PictureProbe, signal: AbortSignal): Promise<CachedFile | null> {
    const temp = `${this.opts.cache.tempPath()}.png`;
    try {
      await writeNormalisedStill(this.opts.ffmpeg!, file.path, picture, temp, signal);
      const still = await this.opts.cache.store(temp, await sha256Of(temp, signal), { ext: 'png', mime: 'image/png' }, 'move');
      this.opts.cache.describe(file.hash, { stillHash: still.hash });
      return still;
    } catch (err) {
      await rm(temp, { force: true });
      if (signal.aborted) throw err;
      this.opts.logger?.warn({ err, hash: file.hash }, 'could not make a render copy of a costly image; renders read the original');
      return null;
    }
  }
}

/** What the rules and renderers see: an image has a size but no duration or motion. */
function toMediaProbe(kind: MediaKind, type: SniffedType, bytes: number, probe: ProbeResult): MediaProbe {
  const base = { format: type.format, mime: type.mime, bytes, width: probe.width, height: probe.height };
  if (kind === 'image') return { ...base, hasVideo: false, hasAudio: false };
  return { ...base, durationSec: probe.durationSec, fps: probe.fps, hasVideo: probe.hasVideo, hasAudio: probe.hasAudio };
}

async function sha256Of(path: string, signal: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { signal })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
