import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { type ByteRange, type FileInfo, FileMissingError, type FileStore, isSafeKey } from './file-store.js';

/** Files under the data directory, a key being a path below it (`<data>/results/…`, `<data>/uploads/…`). */
export class LocalFileStore implements FileStore {
  readonly root: string;
  readonly location: string;

  constructor(dataDir: string) {
    this.root = resolve(dataDir);
    this.location = this.root;
  }

  async init(): Promise<void> {
    await mkdir(this.root, { recursive: true });
  }

  diskPath(key: string): string | null {
    if (!isSafeKey(key)) return null;
    const path = resolve(this.root, key);
    return path.startsWith(this.root + sep) ? path : null;
  }

  private pathOf(key: string): string {
    const path = this.diskPath(key);
    if (!path) throw new Error(`refused storage key ${JSON.stringify(key)}`);
    return path;
  }

  async put(key: string, source: string, o: { contentType: string; mode: 'move' | 'copy' }): Promise<number> {
    const target = this.pathOf(key);
    await mkdir(dirname(target), { recursive: true });
    if (o.mode === 'copy') await copyFile(source, target);
    else
      await rename(source, target).catch(async (err: NodeJS.ErrnoException) => {
        // A scratch folder on another file system (a mounted work dir): copy, then let the source go.
        if (err.code !== 'EXDEV') throw err;
        await copyFile(source, target);
        await rm(source, { force: true });
      });
    return (await stat(target)).size;
  }

  async stat(key: string): Promise<FileInfo | null> {
    const path = this.diskPath(key);
    const info = path ? await stat(path).catch(() => null) : null;
    if (!info?.isFile()) return null;
    return { bytes: info.size, modifiedMs: info.mtimeMs, etag: null, contentType: null };
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    if (!(await this.stat(key))) throw new FileMissingError(key);
    return createReadStream(this.pathOf(key), range ? { start: range.start, end: range.end } : {});
  }

  async download(key: string, target: string): Promise<void> {
    if (!(await this.stat(key))) throw new FileMissingError(key);
    await copyFile(this.pathOf(key), target);
  }

  async delete(key: string): Promise<void> {
    const path = this.diskPath(key);
    if (path) await rm(path, { force: true });
  }

  async deleteAll(prefix: string): Promise<void> {
    const path = this.diskPath(prefix.replace(/\/+$/, ''));
    if (path) await rm(path, { recursive: true, force: true });
  }

  async *list(prefix: string): AsyncIterable<{ key: string; modifiedMs: number }> {
    const folder = prefix.replace(/\/+$/, '');
    const dir = this.diskPath(folder);
    if (!dir) return;
    const walk = async function* (path: string, keyBase: string): AsyncIterable<{ key: string; modifiedMs: number }> {
      const entries = await readdir(path, { withFileTypes: true }).catch(() => []);
      for (const entry of entries) {
        const key = `${keyBase}/${entry.name}`;
        if (entry.isDirectory()) yield* walk(join(path, entry.name), key);
        else if (entry.isFile()) {
          const info = await stat(join(path, entry.name)).catch(() => null);
          if (info) yield { key, modifiedMs: info.mtimeMs };
        }
      }
    };
    yield* walk(dir, folder);
  }

  async close(): Promise<void> {}
}
