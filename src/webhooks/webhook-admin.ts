import type { WebhookDeliveryQuery, WebhookStore } from '../store/types.js';
import type { WebhookSecrets } from './secrets.js';
import type { WebhookWorker } from './worker.js';
import { deliveryView, type WebhookDeliveryView } from './views.js';

/** What the admin API and the CLI need: the delivery log, secrets, and a way to send a delivery again. */
export class WebhookAdmin {
  constructor(
    readonly store: WebhookStore,
    readonly secrets: WebhookSecrets,
    /** Absent where nothing is delivered (the CLI reading the log). */
    readonly worker: WebhookWorker | null,
    private readonly clock: () => number,
  ) {}

  /** Newest first, each with its attempts. */
  async log(query: WebhookDeliveryQuery): Promise<WebhookDeliveryView[]> {
    const deliveries = await this.store.listWebhookDeliveries(query);
    const attempts = await this.store.listWebhookAttempts(deliveries.map((d) => d.seq));
    return deliveries.map((d) => deliveryView(d, attempts));
  }

  async one(id: string): Promise<WebhookDeliveryView | null> {
    const delivery = await this.store.getWebhookDelivery(id);
    if (!delivery) return null;
    return deliveryView(delivery, await this.store.listWebhookAttempts([delivery.seq]));
  }

  /** Queues a delivered or given-up delivery again (same webhook-id); false when it is still pending. */
  async redeliver(id: string): Promise<boolean> {
    const queued = await this.store.retryWebhookDelivery(id, this.clock());
    if (queued) this.worker?.poke();
    return queued;
  }
}
