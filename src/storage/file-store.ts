import type { Readable } from 'node:stream';

/** What a stored file is, as the download routes tell clients. */
export interface FileInfo {
  bytes: number;
  modifiedMs: number;
  /** The store's own entity tag, quoted; null when it has none. */
  etag: string | null;
  contentType: string | null;
}

/** Inclusive byte positions, as in HTTP's Range. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Where vidgate keeps the files it serves (results, uploads, asset copies), by key:
 * `results/<task>/<token>/<name>`, `uploads/<name>`, `assets/<name>`. Local files by default
 * (`local-file-store.ts`), or an S3-compatible bucket (`s3/`), so that any instance can serve
 * what any other stored. Renders never read a store directly: they get a local copy.
 */
export interface FileStore {
  /** For the log: a directory or `s3://bucket/prefix`. */
  readonly location: string;
  init(): Promise<void>;
  /**
   * Stores the local file `source` under `key` and answers its size. `move` lets the store take
   * the file itself (a rename on the same disk); `copy` leaves it in place.
   */
  put(key: string, source: string, o: { contentType: string; mode: 'move' | 'copy' }): Promise<number>;
  /** null when there is no such file. */
  stat(key: string): Promise<FileInfo | null>;
  /** The file's bytes, or the range of them; rejects with FileMissingError when it is gone. */
  read(key: string, range?: ByteRange): Promise<Readable>;
  /** Copies the file to the local path `target`, streaming. */
  download(key: string, target: string, signal?: AbortSignal): Promise<void>;
  /** The file's own path when it is on this machine's disk (local store), so it is read in place; null otherwise. */
  diskPath(key: string): string | null;
  delete(key: string): Promise<void>;
  /** Deletes every file whose key starts with `prefix` (a folder: ends in `/`). */
  deleteAll(prefix: string): Promise<void>;
  /** Every file whose key starts with `prefix`, with when it was stored. */
  list(prefix: string): AsyncIterable<{ key: string; modifiedMs: number }>;
  close(): Promise<void>;
}

export class FileMissingError extends Error {
  constructor(readonly key: string) {
    super(`no stored file ${key}`);
    this.name = 'FileMissingError';
  }
}

/**
 * Keys are built by vidgate from ids and names it made, but some parts arrive in URLs: a key with
 * an empty, `.` or `..` segment, a backslash or a control character is refused everywhere, so no
 * key can leave its folder on disk, or be normalised into another object by an HTTP client.
 */
export function isSafeKey(key: string): boolean {
  if (!key || key.length > 1024 || key.includes('\\')) return false;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(key)) return false;
  return key.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..');
}
