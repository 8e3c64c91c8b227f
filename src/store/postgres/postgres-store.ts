import { randomBytes } from 'node:crypto';
import { ComposedStore } from '../composed-store.js';
import type { Store } from '../types.js';
import { PgAccounts } from './accounts.js';
import { PgAssets } from './assets.js';
import { PgChangeFeed } from './change-feed.js';
import { PgConnection, type PgConnectionOptions } from './connection.js';
import { PgLedgerWriter } from './ledger-writer.js';
import { PgOutbox } from './outbox.js';
import { PgSettings } from './settings.js';
import { PgTaskEvents } from './task-events.js';
import { PgRateWindows } from './rate-windows.js';
import { PgTaskQueue } from './task-queue.js';
import { PgUsage } from './usage.js';
import { PgWebhooks } from './webhooks.js';

export interface PostgresStoreOptions extends PgConnectionOptions {
  /** Told when the LISTEN connection fails (it is reopened); polling covers the gap. */
  onListenError?: (error: Error) => void;
}

/**
 * The whole store on PostgreSQL, shared by every vidgate instance pointed at the database: one part
 * per aggregate on one pool, and a LISTEN connection that hears the other instances' task changes.
 */
export class PostgresStore extends ComposedStore {
  readonly kind = 'postgres';
  readonly rateWindows: PgRateWindows;

  private constructor(
    private readonly connection: PgConnection,
    private readonly feed: PgChangeFeed,
    origin: string,
  ) {
    const money = new PgLedgerWriter();
    super({
      settings: new PgSettings(connection),
      accounts: new PgAccounts(connection, money),
      tasks: new PgTaskQueue(connection, money, new PgOutbox(), origin),
      taskEvents: new PgTaskEvents(connection),
      assets: new PgAssets(connection),
      webhooks: new PgWebhooks(connection),
      usage: new PgUsage(connection),
    });
    this.rateWindows = new PgRateWindows(connection);
  }

  /** Connects, brings the schema up to date and starts listening. */
  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const connection = new PgConnection(url, options);
    const origin = randomBytes(8).toString('hex');
    const feed = new PgChangeFeed(url, origin, connection.keysVersion, options.onListenError);
    try {
      await connection.migrate();
      await feed.start();
    } catch (error) {
      await feed.close();
      await connection.close();
      throw error;
    }
    return new PostgresStore(connection, feed, origin);
  }

  readonly ping: Store['ping'] = () => this.connection.ping();
  readonly onRemoteTaskChanges: Store['onRemoteTaskChanges'] = (listener) => this.feed.onRemoteTaskChanges(listener);
  readonly close: Store['close'] = async () => {
    await this.feed.close();
    await this.connection.close();
  };
}
