import type { Logger } from 'pino';
import type { TaskQueueStore } from '../store/types.js';
import type { ProviderRegistry } from '../providers/registry.js';
import type { ResultStorage } from '../storage/result-storage.js';
import type { PriceBook } from '../billing/price-book.js';
import type { TaskOutcome } from '../observability/metrics.js';
import type { LeaseOwner } from './lease-owner.js';
import type { ChannelRouter } from './channel-router.js';

/** How app.ts configures the dispatcher; each part of it (see dispatcher.ts) takes the fields it needs. */
export interface DispatcherOptions {
  store: TaskQueueStore;
  providers: ProviderRegistry;
  storage: ResultStorage;
  owner: LeaseOwner;
  logger: Logger;
  clock: () => number;
  leaseMs: number;
  maxAttempts: number;
  /** Deaths while running alone that make a suspect the cause (default 1). */
  crashesAlone?: number;
  /** Every channel busy (429): wait this long before trying again, doubling up to a minute… */
  busyRetryMs?: number;
  /** …while the task is younger than this; then it fails. */
  busyMaxWaitMs?: number;
  resultTtlMs: number;
  workRoot: string;
  prices: PriceBook;
  /** Where failover sends a task (budgets, cost routing); by default the registry's priority order. */
  router?: ChannelRouter;
  /** Told how each run ended, for metrics. */
  onRunEnded?: (provider: string, outcome: TaskOutcome, seconds: number) => void;
  /** Told when a task was claimed (now processing) or its progress rose, for live events; settling is `onTaskSettled`. */
  onTaskChanged?: (taskId: string, change: 'claimed' | 'progress') => void;
  /** Safety net for tasks another process queued; local submits wake the dispatcher directly. */
  idlePollMs?: number;
}
