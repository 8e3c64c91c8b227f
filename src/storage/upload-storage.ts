import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileTypeFromFile } from 'file-type';
import { newUlid } from '../contract/ids.js';
import type { UrlSigner } from './signed-urls.js';
import type { FileStore } from './file-store.js';

export const UPLOAD_MAX_BYTES = 20 * 1024 * 1024;
export const UPLOAD_TTL_MS = 72 * 60 * 60 * 1000;
/** Uploaded files outlive their URL a little, so a task that started just before expiry can finish reading. */
const DELETE_AFTER_MS = UPLOAD_TTL_MS + 60 * 60 * 1000;

/** file-type extension → what an upload is stored and answered as (README: API: jpeg, png, webp, gif). */
const IMAGE_TYPES: Readonly<Record<string, { ext: string; mime: string }>> = {
  jpg: { ext: 'jpg', mime: 'image/jpeg' },
  png: { ext: 'png', mime: 'image/png' },
  apng: { ext: 'png', mime: 'image/png' },
  webp: { ext: 'webp', mime: 'image/webp' },
  gif: { ext: 'gif', mime: 'image/gif' },
};
export const UPLOAD_TYPES_TEXT = 'JPEG, PNG, WebP or GIF';

/** Names we give stored uploads: a ULID and the sniffed extension. Nothing else is ever served. */
const NAME = /^[0-9A-HJKMNP-TV-Z]{26}\.(jpg|png|webp|gif)$/;
const URL_PATH = /^\/uploads\/([^/]+)$/;

export interface StoredUpload {
  /** `<ULID>.<ext>`, the last segment of the URL. */
  name: string;
  /** The file name the client sent, cleaned, or `name` when it sent none. */
  filename: string;
  contentType: string;
  bytes: number;
  createdAtMs: number;
  expiresAtMs: number;
  /** `/uploads/<name>?expires=…&signature=…`; the caller puts its public base in front. */
  signedPath: string;
}

export class UploadTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`the file is larger than the ${limit / (1024 * 1024)} MB allowed for uploads`);
    this.name = 'UploadTooLargeError';
  }
}

export class UploadTypeError extends Error {
  constructor(readonly found: string) {
    super(`the file is ${found}; upload a ${UPLOAD_TYPES_TEXT} image`);
    this.name = 'UploadTypeError';
  }
}

/** Refused for what the picture is (its size, or bytes that do not decode); the message is the client's. */
export class UploadImageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UploadImageError';
  }
}

/** Checks an upload of an allowed type further; throws UploadImageError saying what is wrong and what is allowed. */
export type UploadImageCheck = (path: string) => Promise<void>;

/**
 * How MediaIntake sees an URL: one of our uploads (usable or not), or somebody else's. An upload
 * on this disk is read in place (`file`); one in a remote store is `stored`, copied down first.
 */
export type UploadLookup =
  | { kind: 'foreign' }
  | { kind: 'file'; path: string }
  | { kind: 'stored'; id: string; download: (target: string, signal: AbortSignal) => Promise<void> }
  | { kind: 'refused'; detail: string };

/**
 * Images clients upload (`POST /v1/uploads/images`), under `uploads/` of the file store, behind signed URLs
 * valid 72 h: `/uploads/<name>?expires=<unix s>&signature=<HMAC of "uploads/<name>" and expires>`.
 * The key carries an `uploads/` prefix so an upload signature can never stand for a result file.
 * An upload is received into `<dataDir>/uploads/.tmp` and checked there before it is stored.
 */
export class UploadStorage {
  private readonly tmpDir: string;
  private readonly clock: () => number;
  /** Origins (scheme://host) we handed upload URLs out under, to tell a tampered URL of ours from a stranger's. */
  private readonly origins = new Set<string>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private readonly checkImage: UploadImageCheck;

  constructor(
    private readonly files: FileStore,
    dataDir: string,
    private readonly signer: UrlSigner,
    opts: { clock?: () => number; publicUrl?: string; checkImage?: UploadImageCheck } = {},
  ) {
    this.tmpDir = join(dataDir, 'uploads', '.tmp');
    this.clock = opts.clock ?? Date.now;
    this.checkImage = opts.checkImage ?? (async () => {});
    if (opts.publicUrl) this.origins.add(new URL(opts.publicUrl).origin);
  }

  async init(): Promise<void> {
    await rm(this.tmpDir, { recursive: true, force: true });
    await mkdir(this.tmpDir, { recursive: true });
  }

  /**
   * Streams an upload to disk, refusing it past `maxBytes` (whatever the client declared), unless
   * its bytes are an allowed type, and unless the image check passes; keeps it and signs its URL.
   */
  async receive(stream: Readable, clientName: string | undefined, maxBytes = UPLOAD_MAX_BYTES): Promise<StoredUpload> {
    const temp = join(this.tmpDir, randomBytes(12).toString('hex'));
    try {
      const bytes = await writeCapped(stream, temp, maxBytes);
      const found = await fileTypeFromFile(temp);
      const type = found ? IMAGE_TYPES[found.ext] : undefined;
      if (!type) throw new UploadTypeError(found ? `${found.ext} (${found.mime})` : 'not a recognised image (text or unknown bytes)');
      await this.checkImage(temp);
      const name = `${newUlid()}.${type.ext}`;
      await this.files.put(signingKey(name), temp, { contentType: type.mime, mode: 'move' });
      const createdAtMs = this.clock();
      const expiresAtMs = createdAtMs + UPLOAD_TTL_MS;
      const filename = cleanFilename(clientName) ?? name;
      return { name, filename, contentType: type.mime, bytes, createdAtMs, expiresAtMs, signedPath: this.signedPath(name, expiresAtMs) };
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  }

  signedPath(name: string, expiresAtMs: number): string {
    // UrlSigner writes result paths (/files/<key>); the signature itself is only over key and expiry.
    return this.signer.signedPath(signingKey(name), expiresAtMs).replace(/^\/files\/uploads\//, '/uploads/');
  }

  verify(name: string, expires: string | undefined, signature: string | undefined): 'ok' | 'invalid' | 'expired' {
    if (!NAME.test(name)) return 'invalid';
    return this.signer.verify(signingKey(name), expires, signature, this.clock());
  }

  /** The file store's key of an upload, or null for any name we would not have given. */
  fileKey(name: string): string | null {
    return NAME.test(name) ? signingKey(name) : null;
  }

  /** Records the public base an upload URL was handed out under. */
  rememberOrigin(base: string): void {
    try {
      this.origins.add(new URL(base).origin);
    } catch {
      // Not a URL; nothing to remember.
    }
  }

  /**
   * Recognises URLs of our uploads given back as task inputs, so they are read from disk rather
   * than fetched. A valid signature proves the URL is ours whatever host it names; a bad one makes
   * it ours to refuse only on an origin we serve (another vidgate's upload URL is just a URL).
   */
  async lookup(url: string): Promise<UploadLookup> {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return { kind: 'foreign' };
    }
    const match = URL_PATH.exec(parsed.pathname);
    const name = match ? safeDecode(match[1]!) : null;
    if (!name || !NAME.test(name)) return { kind: 'foreign' };
    const q = parsed.searchParams;
    const verdict = this.verify(name, q.get('expires') ?? undefined, q.get('signature') ?? undefined);
    if (verdict === 'expired')
      return { kind: 'refused', detail: `the upload URL expired at ${new Date(Number(q.get('expires')) * 1000).toISOString()}; upload the image again` };
    if (verdict === 'invalid') {
      return this.origins.has(parsed.origin)
        ? { kind: 'refused', detail: 'the upload URL has an invalid signature (it was changed or not issued by this server)' }
        : { kind: 'foreign' };
    }
    const key = signingKey(name);
    if (!(await this.files.stat(key))) return { kind: 'refused', detail: 'the uploaded file no longer exists; upload the image again' };
    const path = this.files.diskPath(key);
    if (path) return { kind: 'file', path };
    return { kind: 'stored', id: key, download: (target, signal) => this.files.download(key, target, signal) };
  }

  /** Deletes uploads past their URL's life (plus a margin). */
  async sweep(): Promise<number> {
    const cutoff = this.clock() - DELETE_AFTER_MS;
    let removed = 0;
    for await (const file of this.files.list(FOLDER)) {
      if (!NAME.test(file.key.slice(FOLDER.length)) || file.modifiedMs >= cutoff) continue;
      await this.files.delete(file.key);
      removed++;
    }
    return removed;
  }

  startSweeping(intervalMs: number): void {
    this.stop();
    this.sweepTimer = setInterval(() => void this.sweep().catch(() => {}), intervalMs);
    this.sweepTimer.unref();
  }

  stop(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
  }
}

/** Uploads are the `uploads/` folder of the file store, and their key is also what their URLs sign. */
const FOLDER = 'uploads/';
const signingKey = (name: string) => `${FOLDER}${name}`;

function safeDecode(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

/** The client's file name, reduced to a harmless display string (no path, no control characters). */
function cleanFilename(name: string | undefined): string | undefined {
  const cleaned = basename((name ?? '').replace(/\\/g, '/'))
    // biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
    .replace(/[\u0000-\u001f\u007f]/g, '')
    .trim()
    .slice(0, 255);
  return cleaned || undefined;
}

/** Writes the stream to `path`, failing with UploadTooLargeError as soon as it passes `maxBytes`. */
async function writeCapped(stream: Readable, path: string, maxBytes: number): Promise<number> {
  let bytes = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      done(bytes > maxBytes ? new UploadTooLargeError(maxBytes) : null, chunk);
    },
  });
  await pipeline(stream, counter, createWriteStream(path));
  // busboy stops at its own limit by truncating the part, not by failing it.
  if ((stream as Readable & { truncated?: boolean }).truncated) throw new UploadTooLargeError(maxBytes);
  return bytes;
}
