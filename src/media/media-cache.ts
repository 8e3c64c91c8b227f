import { randomBytes } from 'node:crypto';
import { copyFile, link, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ProbeResult } from './probe.js';

/** What the bytes are, by file-type. */
export interface Sniffed {
  ext: string;
  mime: string;
}

/** A stored file, known by the sha256 of its content. */
export interface CachedFile {
  hash: string;
  /** `<dir>/<sha256>.<ext>`; never modified once stored. */
  path: string;
  bytes: number;
  /** Set when stored; absent for files found on disk at start-up until someone sniffs them again. */
  sniffed?: Sniffed;
  /** Filled in once ffprobe has looked at the file (probing does not depend on how it is used). */
  probe?: ProbeResult;
  /** An image's 8-bit, output-sized copy for renders (another entry of this cache), once one was made. */
  stillHash?: string;
}

export interface MediaCacheOptions {
  /** `<dataDir>/media` */
  dir: string;
  /** Soft bound of the stored bytes; files in use or used recently are kept beyond it. */
  maxBytes: number;
  /** How long a URL is taken to still serve the same bytes. */
  urlTtlMs?: number;
  /** A file used this recently may still be read by a render, so it is not evicted. */
  inUseGraceMs?: number;
  clock?: () => number;
}

interface Entry extends CachedFile {
  lastUsedMs: number;
  pins: number;
}

const NAME = /^([0-9a-f]{64})\.([a-z0-9]{1,8})$/;

/**
 * Media files stored once by content under `<dataDir>/media/`, an index from URL to content (in
 * memory, with a TTL: a URL used twice within a task or by tasks close together is fetched once),
 * and least-recently-used eviction of files nobody is using.
 */
export class MediaCache {
  readonly dir: string;
  private readonly tmpDir: string;
  private readonly files = new Map<string, Entry>();
  private readonly urls = new Map<string, { hash: string; expiresAtMs: number }>();
  private readonly clock: () => number;
  private readonly urlTtlMs: number;
  private readonly inUseGraceMs: number;
  private totalBytes = 0;

  constructor(private readonly opts: MediaCacheOptions) {
    this.dir = opts.dir;
    this.tmpDir = join(opts.dir, '.tmp');
    this.clock = opts.clock ?? Date.now;
    this.urlTtlMs = opts.urlTtlMs ?? 60 * 60 * 1000;
    this.inUseGraceMs = opts.inUseGraceMs ?? 6 * 60 * 60 * 1000;
  }

  /** Creates the folders, drops half-finished downloads and takes stock of what is stored. */
  async init(): Promise<void> {
    await rm(this.tmpDir, { recursive: true, force: true });
    await mkdir(this.tmpDir, { recursive: true });
    for (const name of await readdir(this.dir)) {
      const match = NAME.exec(name);
      if (!match) continue;
      const path = join(this.dir, name);
      const info = await stat(path);
      this.add({ hash: match[1]!, path, bytes: info.size, lastUsedMs: info.mtimeMs, pins: 0 });
    }
  }

  /** A fresh path for a download in progress, on the same file system as the store (so a rename moves it). */
  tempPath(): string {
    return join(this.tmpDir, randomBytes(12).toString('hex'));
  }

  get(hash: string): CachedFile | undefined {
    return this.files.get(hash);
  }

  /** The content last seen at this URL (key), while the index entry is fresh and the file is still there. */
  lookupUrl(key: string): CachedFile | undefined {
    const seen = this.urls.get(key);
    if (!seen) return undefined;
    const entry = this.files.get(seen.hash);
    if (seen.expiresAtMs <= this.clock() || !entry) {
      this.urls.delete(key);
      return undefined;
    }
    return entry;
  }

  rememberUrl(key: string, hash: string): void {
    this.urls.set(key, { hash, expiresAtMs: this.clock() + this.urlTtlMs });
  }

  /**
   * Stores a finished file under its hash. `move` takes a temp file over; `link` keeps the source
   * (an upload) and hard-links it, falling back to a copy across file systems. Known content is
   * not stored twice.
   */
  async store(source: string, hash: string, sniffed: Sniffed, mode: 'move' | 'link'): Promise<CachedFile> {
    const known = this.files.get(hash);
    if (known) {
      if (mode === 'move') await rm(source, { force: true });
      known.sniffed ??= sniffed;
      return known;
    }
    const path = join(this.dir, `${hash}.${sniffed.ext}`);
    if (mode === 'move') await rename(source, path);
    else await link(source, path).catch(() => copyFile(source, path));
    const bytes = (await stat(path)).size;
    const entry: Entry = { hash, path, bytes, sniffed, lastUsedMs: this.clock(), pins: 0 };
    this.add(entry);
    await this.evict();
    return this.files.get(hash) ?? entry;
  }

  describe(hash: string, facts: { sniffed?: Sniffed; probe?: ProbeResult; stillHash?: string }): void {
    const entry = this.files.get(hash);
    if (!entry) return;
    if (facts.sniffed) entry.sniffed = facts.sniffed;
    if (facts.probe) entry.probe = facts.probe;
    if (facts.stillHash) entry.stillHash = facts.stillHash;
  }

  /** Marks a file as in use (a task is preparing or rendering with it); pinned files are never evicted. */
  pin(hash: string): void {
    const entry = this.files.get(hash);
    if (!entry) return;
    entry.pins++;
    entry.lastUsedMs = this.clock();
  }

  unpin(hash: string): void {
    const entry = this.files.get(hash);
    if (!entry) return;
    entry.pins = Math.max(0, entry.pins - 1);
    entry.lastUsedMs = this.clock();
  }

  get storedBytes(): number {
    return this.totalBytes;
  }

  /** Removes least recently used files, not pinned and not used within the grace period, until under the bound. */
  async evict(): Promise<void> {
    if (this.totalBytes <= this.opts.maxBytes) return;
    const idleBefore = this.clock() - this.inUseGraceMs;
    const candidates = [...this.files.values()].filter((e) => e.pins === 0 && e.lastUsedMs < idleBefore).sort((a, b) => a.lastUsedMs - b.lastUsedMs);
    for (const entry of candidates) {
      if (this.totalBytes <= this.opts.maxBytes) break;
      this.files.delete(entry.hash);
      this.totalBytes -= entry.bytes;
      await rm(entry.path, { force: true });
    }
  }

  private add(entry: Entry): void {
    const previous = this.files.get(entry.hash);
    if (previous) this.totalBytes -= previous.bytes;
    this.files.set(entry.hash, entry);
    this.totalBytes += entry.bytes;
  }
}
