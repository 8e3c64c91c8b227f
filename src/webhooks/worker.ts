import type { Logger } from 'pino';
import type { LeaseGuard, WebhookAttemptOutcome, WebhookDelivery, WebhookStore } from '../store/types.js';
import { ClaimLoop } from '../tasks/claim-loop.js';
import { isDeadLocalOwner, type LeaseOwner } from '../tasks/lease-owner.js';
import type { SendResult, WebhookSender } from './sender.js';
import type { WebhookSecrets } from './secrets.js';
import { signatureHeader } from './signature.js';

export interface WebhookWorkerOptions {
  store: WebhookStore;
  owner: LeaseOwner;
  logger: Logger;
  clock: () => number;
  sender: WebhookSender;
  secrets: WebhookSecrets;
  /** The body of a delivery (the task object for its event); null when the task no longer exists. */
  render: (delivery: WebhookDelivery) => Promise<string | null>;
  /** Waits between attempts; after the last the delivery is given up (see config/retry-schedule.ts). */
  retrySchedule: readonly number[];
  /** Per request, everything included. */
  timeoutMs: number;
  /** Requests in flight at once, all receivers together. */
  concurrency: number;
  /** Requests in flight at once to one receiver (scheme, host and port), so a hung receiver cannot take every slot. */
  perReceiverConcurrency?: number;
  /** Safety net for deliveries queued by another process; local status changes wake the worker directly. */
  idlePollMs?: number;
}

export interface AttemptEvent {
  delivery: WebhookDelivery;
  attempt: number;
  outcome: WebhookAttemptOutcome;
}

class ShuttingDown extends Error {
  override name = 'ShuttingDown';
}

const USER_AGENT = 'vidgate-webhooks/0.1';

function receiverOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}

/**
 * Delivers the durable webhook rows the outbox trigger queues. It runs beside the dispatcher and
 * never in its way: status changes only insert a row; requests go out here, a bounded number at a
 * time, each with a deadline, each claimed under a lease so several instances never send the same
 * attempt twice, and each outcome (next try, delivered, given up) is written before the next is taken.
 */
export class WebhookWorker {
  private readonly inFlight = new Map<string, { controller: AbortController; done: Promise<void>; receiver: string }>();
  private readonly perReceiver = new Map<string, number>();
  private readonly listeners = new Set<(event: AttemptEvent) => void>();
  private readonly loop: ClaimLoop;

  constructor(private readonly o: WebhookWorkerOptions) {
    this.loop = new ClaimLoop({
      logger: o.logger,
      claim: () => this.claim(),
      wakeIn: () => this.wakeIn(),
      messages: { claimFailed: 'webhook worker could not claim deliveries', timerFailed: 'webhook worker timer failed' },
    });
  }

  get activeCount(): number {
    return this.inFlight.size;
  }

  private get receiverLimit(): number {
    return this.o.perReceiverConcurrency ?? Math.max(1, Math.floor(this.o.concurrency / 4));
  }

  async start(): Promise<void> {
    // A process of this host that died mid-request still holds leases: free them so they go out now.
    for (const owner of await this.o.store.listWebhookLeaseOwners(`${this.o.owner.host}/`)) {
      if (isDeadLocalOwner(owner, this.o.owner)) await this.o.store.expireWebhookLeases(owner);
    }
    this.loop.start();
  }

  /** Something may be due (a status changed here): look now, coalesced. */
  poke(): void {
    this.loop.poke();
  }

  /** Called after every recorded attempt; tests and tools await deliveries with it. */
  onAttempt(listener: (event: AttemptEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stops taking deliveries; requests in flight are abandoned and their deliveries are due again at once. */
  async stop(): Promise<void> {
    this.loop.stop();
    for (const r of this.inFlight.values()) r.controller.abort(new ShuttingDown('server is shutting down'));
    await Promise.all([...this.inFlight.values()].map((r) => r.done));
    await this.o.sender.close();
  }

  /** One pass of the claim loop: fill the free slots, taking more while every claim came back full. */
  private async claim(): Promise<void> {
    for (;;) {
      const free = this.o.concurrency - this.inFlight.size;
      if (free <= 0 || this.loop.stopping) return;
      const claimed = await this.o.store.claimWebhookDeliveries({
        owner: this.o.owner.id,
        now: this.o.clock(),
        leaseMs: this.o.timeoutMs + 30_000,
        limit: free,
      });
      for (const delivery of claimed) await this.launch(delivery);
      if (claimed.length < free) return;
    }
  }

  /** Wakes up when the next retry is due, and now and then for deliveries queued elsewhere; not while full. */
  private async wakeIn(): Promise<number | null> {
    if (this.inFlight.size >= this.o.concurrency) return null;
    const idle = this.o.idlePollMs ?? 5000;
    const next = await this.o.store.nextWebhookDue();
    return next === null ? idle : Math.min(idle, Math.max(10, next - this.o.clock() + 1));
  }

  private async launch(delivery: WebhookDelivery): Promise<void> {
    const guard: LeaseGuard = { id: delivery.id, owner: this.o.owner.id };
    const receiver = receiverOf(delivery.url);
    const busy = this.perReceiver.get(receiver) ?? 0;
    if (busy >= this.receiverLimit) {
      // Its receiver is slow: try again shortly without counting an attempt, and keep the slot for others.
      await this.o.store.releaseWebhookDelivery(guard, this.o.clock() + Math.min(this.o.timeoutMs, 2000));
      return;
    }
    this.perReceiver.set(receiver, busy + 1);
    const controller = new AbortController();
    const done = this.deliver(delivery, guard, controller.signal)
      .catch((err) => this.o.logger.error({ err, delivery: delivery.id, task: delivery.taskId }, 'webhook delivery failed unexpectedly'))
      .finally(() => {
        this.inFlight.delete(delivery.id);
        const left = (this.perReceiver.get(receiver) ?? 1) - 1;
        if (left > 0) this.perReceiver.set(receiver, left);
        else this.perReceiver.delete(receiver);
        this.poke();
      });
    this.inFlight.set(delivery.id, { controller, done, receiver });
  }

  private async deliver(delivery: WebhookDelivery, guard: LeaseGuard, signal: AbortSignal): Promise<void> {
    const attempt = delivery.attempts + 1;
    const log = this.o.logger.child({ delivery: delivery.id, task: delivery.taskId, event: delivery.event, attempt });
    const startedAt = this.o.clock();
    let body = delivery.body;
    if (body === null) {
      body = await this.o.render(delivery);
      if (body === null) {
        await this.record(delivery, guard, attempt, startedAt, { ok: false, statusCode: null, error: 'the task no longer exists', permanent: true }, log);
        return;
      }
      if (!(await this.o.store.saveWebhookBody(guard, body))) return;
    }
    const secrets = await this.o.secrets.signingSecrets(delivery.accountId);
    const timestamp = Math.floor(this.o.clock() / 1000);
    const headers = {
      'content-type': 'application/json',
      'user-agent': USER_AGENT,
      'webhook-id': delivery.id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signatureHeader(secrets, delivery.id, timestamp, body),
    };
    let result: SendResult;
    try {
      result = await this.o.sender.send(delivery.url, headers, body, signal);
    } catch (err) {
      if (!(signal.reason instanceof ShuttingDown)) throw err;
      // Whether the receiver got it is unknown: it goes out again after the restart, same webhook-id.
      await this.o.store.releaseWebhookDelivery(guard, this.o.clock());
      log.info('webhook attempt abandoned for shutdown; due again at the next start');
      return;
    }
    await this.record(delivery, guard, attempt, startedAt, result, log);
  }

  private async record(delivery: WebhookDelivery, guard: LeaseGuard, attempt: number, startedAt: number, result: SendResult, log: Logger): Promise<void> {
    const now = this.o.clock();
    const schedule = this.o.retrySchedule;
    const outcome: WebhookAttemptOutcome = result.ok
      ? { delivered: true, statusCode: result.statusCode }
      : {
          delivered: false,
          statusCode: result.statusCode,
          error: result.error,
          retryAt: result.permanent || attempt > schedule.length ? null : now + schedule[attempt - 1]!,
        };
    const attemptRow = {
      startedAt,
      durationMs: Math.max(0, now - startedAt),
      statusCode: result.ok ? result.statusCode : result.statusCode,
      error: result.ok ? null : result.error,
    };
    if (!(await this.o.store.recordWebhookAttempt(guard, attemptRow, outcome))) {
      log.warn('webhook lease lost before the attempt was recorded; another worker owns the delivery');
      return;
    }
    if (outcome.delivered) log.info({ status: outcome.statusCode, ms: attemptRow.durationMs }, 'webhook delivered');
    else if (outcome.retryAt === null) log.warn({ status: outcome.statusCode, error: outcome.error }, 'webhook given up');
    else log.info({ status: outcome.statusCode, error: outcome.error, retryInMs: outcome.retryAt - now }, 'webhook attempt failed; will retry');
    for (const listener of this.listeners) listener({ delivery, attempt, outcome });
  }
}
