import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { MediaInput, MediaKind } from '../contract/submit.js';
import { mapBounded, SharedJobs } from './concurrency.js';
import { forInput, invalidMedia } from './errors.js';
import type { CachedFile, MediaCache } from './media-cache.js';
import { checkFile, checkTotals, MAX_FILE_BYTES, SIZE_RULES } from './media-rules.js';
import type { MediaProber, ProbeResult } from './probe.js';
import type { SafeFetcher } from './safe-fetch.js';
import { acceptType, sniffFile, type SniffedType } from './sniff.js';
import type { MediaProbe, PreparedMedia } from './types.js';

/** Where an input's bytes are: a URL to fetch, or a file already on this machine. */
export type MediaSource = { url: string } | { path: string };

/**
 * Turns `asset://<id>` references into their media. Assets arrive with the review flow (SPEC §7);
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

/** Recognises URLs of files this server holds (uploads), so they are read from disk, not fetched. */
export interface LocalFiles {
  lookup(url: string): Promise<{ kind: 'foreign' } | { kind: 'file'; path: string } | { kind: 'refused'; detail: string }>;
}

export interface MediaIntakeOptions {
  cache: MediaCache;
  fetcher: SafeFetcher;
  prober: MediaProber;
  uploads?: LocalFiles;
  assets?: AssetResolver;
  /** Files fetched or probed at once per prepare call. */
  concurrency?: number;
}

export interface PrepareOptions {
  signal: AbortSignal;
  /** Whose asset:// references these are. */
  accountId?: string;
}

/**
 * Gets a task's media ready for a provider (SPEC §4): fetches URLs safely (in parallel, each URL
 * once however often it is named), reads uploads from disk, sniffs, probes, checks the rules, and
 * answers in input order. A breach fails with invalid_media, an unreachable file with
 * media_fetch_failed (TaskFailureError, naming the input's field); an abort rethrows the signal's reason.
 */
export class MediaIntake {
  private readonly jobs = new SharedJobs<CachedFile>();
  private readonly assets: AssetResolver;
  private readonly concurrency: number;

  constructor(private readonly opts: MediaIntakeOptions) {
    this.assets = opts.assets ?? noAssetResolver;
    this.concurrency = opts.concurrency ?? 4;
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
        (input) => this.prepareOne(input, { signal, accountId: opts.accountId }, pinned),
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
      const probe = toMediaProbe(input.kind, type, file.bytes, await this.probeOf(file, opts.signal));
      checkFile(input.kind, probe);
      return { input, path: file.path, probe };
    } catch (err) {
      throw forInput(err, input);
    }
  }

  /** The input's bytes in the cache, from wherever they are. */
  private async obtain(input: MediaInput, opts: PrepareOptions): Promise<CachedFile> {
    const source = await this.locate(input, opts);
    if ('path' in source) return this.importLocal(input.kind, source.path, opts.signal);
    return this.fetchRemote(input.kind, source.url, opts.signal);
  }

  private async locate(input: MediaInput, opts: PrepareOptions): Promise<MediaSource> {
    if (input.assetId !== null) return this.assets.resolve({ ...input, assetId: input.assetId }, opts);
    const local = this.opts.uploads ? await this.opts.uploads.lookup(input.url) : { kind: 'foreign' as const };
    if (local.kind === 'refused') throw invalidMedia(local.detail);
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

  private async probeOf(file: CachedFile, signal: AbortSignal): Promise<ProbeResult> {
    if (file.probe) return file.probe;
    const probe = await this.opts.prober.probe(file.path, { signal });
    this.opts.cache.describe(file.hash, { probe });
    return probe;
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
