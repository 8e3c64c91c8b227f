import { randomBytes } from 'node:crypto';
import { extname } from 'node:path';
import type { StoredFile } from '../store/types.js';
import { type FileStore, isSafeKey } from './file-store.js';

export interface OutputFile {
  path: string;
  name: string;
  contentType: string;
}

/** Results are the `results/` folder of the file store; a task's stored keys are relative to it. */
const FOLDER = 'results/';

/**
 * Finished results, under `results/<task id>/<attempt token>/` of the file store (local disk or
 * S3). The token keeps two workers that both rendered a task (after a lease takeover) from
 * touching each other's files.
 */
export class ResultStorage {
  constructor(readonly files: FileStore) {}

  async init(): Promise<void> {
    await this.files.init();
  }

  /** The file store's key of a result key (`<task>/<token>/<name>`, as tasks keep it); null for a key that would leave its folder. */
  fileKey(key: string): string | null {
    return isSafeKey(key) ? FOLDER + key : null;
  }

  private keyOf(key: string): string {
    return FOLDER + key;
  }

  /**
   * Moves rendered files in and returns how to find them. They are named after the task
   * (`task_….mp4`, `task_…_last_frame.png`): clients save a download under the last segment of
   * its URL, which is the stored name.
   */
  async keep(
    taskId: string,
    files: { video: OutputFile; lastFrame: OutputFile | null },
  ): Promise<{ video: StoredFile; lastFrame: StoredFile | null; discard: () => Promise<void> }> {
    const folder = `${taskId}/${randomBytes(6).toString('hex')}`;
    const move = async (file: OutputFile, name: string): Promise<StoredFile> => {
      const key = `${folder}/${name}`;
      const bytes = await this.files.put(this.keyOf(key), file.path, { contentType: file.contentType, mode: 'move' });
      return { key, bytes, contentType: file.contentType };
    };
    const discard = () => this.files.deleteAll(this.keyOf(`${folder}/`));
    try {
      const video = await move(files.video, `${taskId}${extname(files.video.name) || '.mp4'}`);
      const lastFrame = files.lastFrame ? await move(files.lastFrame, `${taskId}_last_frame${extname(files.lastFrame.name) || '.png'}`) : null;
      return { video, lastFrame, discard };
    } catch (err) {
      // A video stored without its last frame would stay behind, unknown to any task.
      await discard().catch(() => undefined);
      throw err;
    }
  }

  async removeTask(taskId: string): Promise<void> {
    await this.files.deleteAll(this.keyOf(`${taskId}/`));
  }
}
