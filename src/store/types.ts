import type { AccountStore } from './account-store.js';
import type { AssetStore } from './asset-store.js';
import type { StoreChangeFeed } from './change-feed.js';
import type { RateWindowStore } from './rate-window-store.js';
import type { SettingsStore } from './settings-store.js';
import type { TaskEventStore } from './task-event-store.js';
import type { TaskQueueStore } from './task-queue-store.js';
import type { UsageStore } from './usage-store.js';
import type { WebhookStore } from './webhook-store.js';

export * from './task-queue-store.js';
export type * from './account-store.js';
export type * from './asset-store.js';
export type * from './webhook-store.js';
export type * from './task-event-store.js';
export type * from './settings-store.js';
export type * from './change-feed.js';
export type * from './rate-window-store.js';
export type * from './usage-store.js';

/**
 * Everything vidgate keeps durably: SQLite (one file, the default) or PostgreSQL (shared by several
 * instances). Async so that a networked database fits behind it; the SQLite implementation answers
 * synchronously inside.
 */
export interface Store extends SettingsStore, AccountStore, TaskQueueStore, TaskEventStore, AssetStore, WebhookStore, UsageStore, StoreChangeFeed {
  readonly kind: string;
  /** Rate-limit windows every instance shares; null where one process is all there is (counted in memory). */
  readonly rateWindows: RateWindowStore | null;
  ping(): Promise<void>;
  close(): Promise<void>;
}
