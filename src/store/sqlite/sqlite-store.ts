import { ComposedStore } from '../composed-store.js';
import type { Store } from '../types.js';
import { SqliteAccounts } from './accounts.js';
import { SqliteAssets } from './assets.js';
import { SqliteConnection } from './connection.js';
import { LedgerWriter } from './ledger-writer.js';
import { SqliteSettings } from './settings.js';
import { SqliteTaskEvents } from './task-events.js';
import { SqliteTaskQueue } from './task-queue.js';
import { SqliteUsage } from './usage.js';
import { SqliteWebhooks } from './webhooks.js';

/**
 * The whole store on one SQLite file: one part per aggregate, all on one connection, so a transaction
 * of one part (a task and its ledger rows) is a transaction of the file.
 */
export class SqliteStore extends ComposedStore {
  readonly kind = 'sqlite';
  /** One file is one instance: its rate limits are counted in its memory. */
  readonly rateWindows = null;
  private readonly connection: SqliteConnection;

  constructor(readonly file: string) {
    const connection = new SqliteConnection(file);
    // One writer for every balance change, whichever part's transaction it belongs to.
    const money = new LedgerWriter(connection.db);
    super({
      settings: new SqliteSettings(connection),
      accounts: new SqliteAccounts(connection, money),
      tasks: new SqliteTaskQueue(connection, money),
      taskEvents: new SqliteTaskEvents(connection),
      assets: new SqliteAssets(connection),
      webhooks: new SqliteWebhooks(connection),
      usage: new SqliteUsage(connection),
    });
    this.connection = connection;
  }

  readonly ping: Store['ping'] = () => this.connection.ping();
  /** Other processes on the same file cannot be heard: their changes are found by polling. */
  readonly onRemoteTaskChanges: Store['onRemoteTaskChanges'] = () => () => undefined;
  readonly close: Store['close'] = () => this.connection.close();
}
