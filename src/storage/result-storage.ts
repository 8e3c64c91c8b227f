import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { StoredFile } from '../store/types.js';

export interface OutputFile {
  path: string;
  name: string;
  contentType: string;
}

/**
 * Finished results on the local disk, under `<data>/results/<task id>/<attempt token>/`. The token
 * keeps two workers that both rendered a task (after a lease takeover) from touching each other's files.
 */
export class ResultStorage {
  readonly root: string;

  constructor(dataDir: string) {
    this.root = resolve(dataDir, 'results');
  }

  async init(): Promise<void> {
    await mkdir(this.root, { recursive: true });
  }

  /** Absolute path of a stored key, or null when the key tries to leave the storage root. */
  pathOf(key: string): string | null {
    const path = resolve(this.root, key);
    return path.startsWith(this.root + sep) ? path : null;
  }

  /**
   * Moves rendered files in (same file system, so a rename) and returns how to find them. They are
   * named after the task (`task_….mp4`, `task_…_last_frame.png`): clients save a download under the
   * last segment of its URL, which is the stored name.
   */
  async keep(
    taskId: string,
    files: { video: OutputFile; lastFrame: OutputFile | null },
  ): Promise<{ video: StoredFile; lastFrame: StoredFile | null; discard: () => Promise<void> }> {
    const folder = `${taskId}/${randomBytes(6).toString('hex')}`;
    const dir = join(this.root, folder);
    await mkdir(dir, { recursive: true });
    const move = async (file: OutputFile, name: string): Promise<StoredFile> => {
      const target = join(dir, name);
      await rename(file.path, target);
      return { key: `${folder}/${name}`, bytes: (await stat(target)).size, contentType: file.contentType };
    };
    const video = await move(files.video, `${taskId}${extname(files.video.name) || '.mp4'}`);
    const lastFrame = files.lastFrame ? await move(files.lastFrame, `${taskId}_last_frame${extname(files.lastFrame.name) || '.png'}`) : null;
    return { video, lastFrame, discard: () => rm(dir, { recursive: true, force: true }) };
  }

  async removeTask(taskId: string): Promise<void> {
    const dir = this.pathOf(taskId);
    if (dir) await rm(dir, { recursive: true, force: true });
  }
}
