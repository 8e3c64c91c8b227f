import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

// Plain CommonJS run inside the worker: it has its own connection, so the copy from the log back
// into the database (disk I/O) never runs on the thread that answers requests.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { timeout: 1000 });
const timer = setInterval(() => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {}
}, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

/**
 * Checkpoints the write-ahead log on a background thread: the main connection runs with automatic
 * checkpoints off, so no request ever pays for one.
 */
export class Checkpointer {
  private readonly worker: Worker;
  private readonly exited: Promise<void>;

  constructor(file: string, intervalMs = 1000) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file, driver, intervalMs } });
    this.worker.unref();
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
  }

  async close(): Promise<void> {
    // Unreferenced while idle so it never keeps a process alive; referenced while it shuts down.
    this.worker.ref();
    this.worker.postMessage('close');
    await this.exited;
  }
}
