import type { Config } from '../config/env.js';
import { openStore } from '../store/open-store.js';
import { CliError } from './keys.js';
import { WebhookAdmin } from '../webhooks/webhook-admin.js';
import { WebhookSecrets } from '../webhooks/secrets.js';
import type { WebhookDeliveryView } from '../webhooks/views.js';

export interface WebhookLogOptions {
  account?: string;
  task?: string;
  state?: 'pending' | 'delivered' | 'failed';
  limit?: number;
  json?: boolean;
}

const time = (unix: number | null) => (unix === null ? '-' : new Date(unix * 1000).toISOString().replace('.000Z', 'Z'));

function line(d: WebhookDeliveryView): string {
  const last = d.last_status !== null ? `HTTP ${d.last_status}` : '';
  const outcome = d.state === 'pending' ? `next ${time(d.next_attempt_at)}` : d.state;
  const error = d.last_error && d.state !== 'delivered' ? `  ${d.last_error}` : '';
  return `${time(d.created_at)}  ${d.id}  ${d.task_id}  ${d.event.padEnd(10)}  ${String(d.attempts).padStart(2)} tries  ${outcome}  ${last}${error}\n    ${d.url}`;
}

/** `vidgate webhooks log`: the delivery log, read from the database (no server needed). */
export async function webhookLog(config: Config, opts: WebhookLogOptions): Promise<void> {
  if (opts.state !== undefined && !['pending', 'delivered', 'failed'].includes(opts.state)) {
    throw new CliError(`--state must be pending, delivered or failed, not "${opts.state}"`);
  }
  const store = await openStore(config);
  try {
    const webhooks = new WebhookAdmin(store, new WebhookSecrets(store, Date.now), null, Date.now);
    const rows = await webhooks.log({ accountId: opts.account, taskId: opts.task, state: opts.state, limit: opts.limit ?? 50 });
    if (opts.json) {
      console.log(JSON.stringify(rows));
      return;
    }
    if (rows.length === 0) {
      console.log('no webhook deliveries');
      return;
    }
    for (const d of rows) {
      console.log(line(d));
      for (const a of d.attempt_log) {
        console.log(
          `      #${a.attempt} ${time(a.at)}  ${a.status !== null ? `HTTP ${a.status}` : 'no answer'}  ${a.duration_ms} ms${a.error && a.status === null ? `  ${a.error}` : ''}`,
        );
      }
    }
  } finally {
    await store.close();
  }
}
