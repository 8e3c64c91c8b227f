import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config/env.js';
import type { TaskEventStore, TaskQueueStore, WebhookStore } from '../store/types.js';
import type { ResultLinks } from '../storage/file-storage.js';
import { AddressPolicy } from '../net/address-policy.js';
import { TaskEvents } from './task-events.js';
import { RunTimeEstimates } from '../tasks/estimates.js';
import type { LeaseOwner } from '../tasks/lease-owner.js';
import { WebhookSender } from '../webhooks/sender.js';
import { WebhookSecrets } from '../webhooks/secrets.js';
import { WebhookWorker } from '../webhooks/worker.js';
import { WebhookAdmin } from '../webhooks/webhook-admin.js';
import { webhookBody } from '../webhooks/body.js';

export interface TaskNotifications {
  events: TaskEvents;
  webhooks: WebhookAdmin;
  worker: WebhookWorker;
  estimates: RunTimeEstimates;
  /**
   * A task changed in this process: live watchers hear of it now; a status change (claimed, or
   * settled: finished, cancelled, requeued) wakes the webhook worker; a settled one refreshes estimates.
   */
  taskChanged(taskId: string, change: 'claimed' | 'progress' | 'settled'): void;
  /** Where result URLs in webhook bodies point when VIDGATE_PUBLIC_URL is not set. */
  useServer(server: FastifyInstance): void;
  start(): Promise<void>;
  /** Ends the event streams (before the HTTP server closes, which waits for open responses). */
  closeStreams(): void;
  stop(): Promise<void>;
}

/** The address the server listens on, as a base URL; VIDGATE_PUBLIC_URL should be set for anything else to reach it. */
function listeningBase(server: FastifyInstance | null): string {
  const address = server?.server.address() as AddressInfo | string | null | undefined;
  if (!address || typeof address === 'string') return 'http://localhost';
  const host = address.address === '0.0.0.0' || address.address === '::' ? 'localhost' : address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

/** WebhookAdmin, live events and run-time estimates, built from configuration so app.ts needs only a few lines. */
export function createTaskNotifications(
  config: Config,
  deps: {
    store: TaskQueueStore & TaskEventStore & WebhookStore;
    resultLinks: ResultLinks;
    clock: () => number;
    logger: Logger;
    owner: LeaseOwner;
    creditsPerUsd: number;
  },
): TaskNotifications {
  const { store, resultLinks, clock, logger } = deps;
  let server: FastifyInstance | null = null;
  const fileUrl = (key: string, expiresAt: number) => resultLinks.url(config.publicUrl ?? listeningBase(server), key, expiresAt);
  const events = new TaskEvents({ store, logger: logger.child({ component: 'events' }), pollMs: config.eventsPollMs, heartbeatMs: config.eventsHeartbeatMs });
  const secrets = new WebhookSecrets(store, clock);
  const worker = new WebhookWorker({
    store,
    owner: deps.owner,
    logger: logger.child({ component: 'webhooks' }),
    clock,
    sender: new WebhookSender({ policy: new AddressPolicy(config.mediaAllowHosts), timeoutMs: config.webhookTimeoutMs }),
    secrets,
    render: async (delivery) => {
      const task = await store.getTask(delivery.taskId);
      return task ? webhookBody(task, delivery, { language: 'en', fileUrl, creditsPerUsd: deps.creditsPerUsd }) : null;
    },
    retrySchedule: config.webhookRetryScheduleMs,
    timeoutMs: config.webhookTimeoutMs,
    concurrency: config.webhookConcurrency,
  });
  const estimates = new RunTimeEstimates(store, clock);
  let started = false;
  return {
    events,
    webhooks: new WebhookAdmin(store, secrets, worker, clock),
    worker,
    estimates,
    taskChanged(taskId, change) {
      events.notify(taskId);
      if (change !== 'progress') worker.poke();
      if (change === 'settled') estimates.forget();
    },
    useServer(s) {
      server = s;
    },
    async start() {
      started = true;
      await worker.start();
    },
    closeStreams() {
      events.close();
    },
    async stop() {
      events.close();
      if (started) await worker.stop();
    },
  };
}
