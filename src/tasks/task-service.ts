import { createHash, randomInt } from 'node:crypto';
import { newUlid } from '../contract/ids.js';
import { TaskRefused } from './errors.js';
import { checkSubmitRules, MAX_SEED, type SubmitBody, type TaskRequest } from '../contract/submit.js';
import { microsToUsd } from '../contract/prices.js';
import type { KeyLimits, SubmitOutcome, TaskListQuery, TaskQueueStore, TaskRecord } from '../store/types.js';
import type { ProviderRegistry } from '../providers/registry.js';
import { dispatchState } from './failover.js';
import type { Provider } from '../providers/types.js';
import type { AssetDirectory } from '../assets/asset-directory.js';
import type { PriceBook } from '../billing/price-book.js';
import { nextUtcDayStart } from '../billing/upstream-cost.js';
import { ChannelRouter } from './channel-router.js';

export interface Caller {
  accountId: string;
  keyId: string;
  limits: KeyLimits;
}

export interface TaskServiceOptions {
  store: TaskQueueStore;
  providers: ProviderRegistry;
  assets: AssetDirectory;
  prices: PriceBook;
  /** Chooses each new task's channel (budgets, `routing: cost`); by default the registry's priority order. */
  router?: ChannelRouter;
  clock: () => number;
  /** In-flight tasks per key when the key sets no limit of its own. */
  defaultInFlightLimit: number;
  onSubmitted: (taskId: string) => void;
  onCancelled: (taskId: string) => void;
  /** `estimated_time` of a new task; the channel's own estimate when absent. */
  estimate?: (provider: Provider, request: TaskRequest) => Promise<number>;
}

/** A task's id carries its creation time (ULID), so listing by time is listing by id (README: API). */
export const newTaskId = (createdAtMs?: number): string => `task_${newUlid(createdAtMs)}`;
const TASK_ID = /^task_[0-9A-HJKMNP-TV-Z]{26}$/;
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
const IDEMPOTENCY_WINDOW_MS = 24 * 3600 * 1000;
const usd = (micros: number) =>
  `$${microsToUsd(micros)
    .toFixed(6)
    .replace(/0{1,4}$/, '')}`;

/** Submit, read, list and cancel tasks on behalf of an authenticated caller. */
export class TaskService {
  private readonly router: ChannelRouter;

  constructor(private readonly o: TaskServiceOptions) {
    this.router = o.router ?? new ChannelRouter({ registry: o.providers, clock: o.clock });
  }

  /** `replayed`: answered from an earlier submit with the same Idempotency-Key and body. */
  async submit(caller: Caller, body: SubmitBody, idempotencyKey?: string): Promise<{ task: TaskRecord; replayed: boolean }> {
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw new TaskRefused('invalid_input', 'Idempotency-Key must be 1 to 255 printable ASCII characters', 'Idempotency-Key');
    }
    const request = checkSubmitRules(body);
    await this.checkAssets(caller, request);
    const route = await this.router.choose(request);
    // Every channel able to take it spent its daily budget: an earlier submit with the same
    // Idempotency-Key is still answered (a client retrying a lost answer), and nothing new is made.
    const spent = !route.provider && route.overBudget.length > 0;
    const provider = route.provider ?? (spent && idempotencyKey !== undefined ? this.o.providers.get(route.overBudget[0]!) : undefined);
    if (!provider) throw spent ? overBudget(request, route.overBudget, this.o.clock()) : this.noChannel(request);
    const now = this.o.clock();
    const task = {
      // From the same clock reading as createdAt: id order is creation order, which date filters rely on.
      id: newTaskId(now),
      accountId: caller.accountId,
      keyId: caller.keyId,
      request,
      seed: request.requestedSeed === -1 ? randomInt(0, MAX_SEED) : request.requestedSeed,
      provider: provider.name,
      estimatedSeconds: this.o.estimate ? await this.o.estimate(provider, request) : provider.estimateSeconds(request),
      costMicros: this.o.prices.reservation(request),
      upstreamCostMicros: route.upstreamCostMicros,
      createdAt: now,
      callbackUrl: body.callback_url ?? null,
    };
    const outcome = await this.o.store.submitTask(task, {
      inFlightLimit: caller.limits.inFlightLimit ?? this.o.defaultInFlightLimit,
      idempotency: idempotencyKey
        ? {
            key: idempotencyKey,
            bodyHash: hashRequest(body.callback_url ? { ...request, callbackUrl: body.callback_url } : request),
            since: now - IDEMPOTENCY_WINDOW_MS,
          }
        : undefined,
      ...(spent ? { replayOnly: true } : {}),
    });
    if (outcome.kind === 'not_replayed') throw overBudget(request, route.overBudget, now);
    const id = this.answer(outcome, task.id, task.costMicros);
    if (outcome.kind === 'created') this.o.onSubmitted(id);
    return { task: outcome.kind === 'created' ? outcome.task : (await this.o.store.getTask(id))!, replayed: outcome.kind === 'replayed' };
  }

  private answer(outcome: Exclude<SubmitOutcome, { kind: 'not_replayed' }>, newId: string, price: number): string {
    switch (outcome.kind) {
      case 'created':
        return newId;
      case 'replayed':
        return outcome.taskId;
      case 'idempotency_conflict':
        throw new TaskRefused(
          'idempotency_conflict',
          'this Idempotency-Key was already used with a different request body in the last 24 hours',
          'Idempotency-Key',
        );
      case 'insufficient_balance':
        throw new TaskRefused(
          'insufficient_balance',
          `Insufficient account balance: this task costs ${usd(price)} and the balance is ${usd(outcome.balanceMicros)}; please top up and try again`,
        );
      case 'key_cap_reached':
        throw new TaskRefused('key_cap_reached', `this API key's spending cap allows ${usd(outcome.remainingMicros)} more; this task costs ${usd(price)}`);
      case 'too_many_in_flight':
        throw new TaskRefused('too_many_in_flight', `too many unfinished tasks: this key may have ${outcome.limit} pending or processing at once`);
    }
  }

  /** No channel can take the task: none serves its model, or each that does lacks something it asks for. */
  private noChannel(request: TaskRequest): TaskRefused {
    const refusals = this.o.providers.refusals(request);
    if (refusals.length === 0) return new TaskRefused('invalid_input', `model ${request.model} is not served by this gateway`, 'model');
    const reasons = refusals.map((r) => `${r.channel}: ${r.message}`).join('; ');
    return new TaskRefused('invalid_input', `no channel of this gateway can take this task (${reasons})`, refusals[0]!.param);
  }

  /** Another account's task is answered exactly like a missing one. */
  async get(caller: Caller, id: string): Promise<TaskRecord> {
    const task = TASK_ID.test(id) ? await this.o.store.getTask(id) : null;
    if (!task || task.accountId !== caller.accountId) throw new TaskRefused('task_not_found', `task ${id} was not found`);
    return task;
  }

  async list(caller: Caller, q: Omit<TaskListQuery, 'accountId'>): Promise<TaskRecord[]> {
    return this.o.store.listTasks({ accountId: caller.accountId, ...q });
  }

  async cancel(caller: Caller, id: string): Promise<TaskRecord> {
    if (!TASK_ID.test(id)) throw new TaskRefused('task_not_found', `task ${id} was not found`);
    const outcome = await this.o.store.cancelTask(id, caller.accountId, this.o.clock());
    if (outcome.kind === 'not_found') throw new TaskRefused('task_not_found', `task ${id} was not found`);
    if (outcome.kind === 'already_finished') throw new TaskRefused('already_finished', `task ${id} is already ${outcome.status} and cannot be cancelled`);
    this.o.onCancelled(id);
    // Whoever holds it stops it too; this covers an upstream task whose holder died.
    void this.o.providers.get(outcome.task.provider)?.abandon?.(dispatchState(outcome.task.providerState).data);
    return outcome.task;
  }

  private async checkAssets(caller: Caller, request: TaskRequest): Promise<void> {
    for (const media of request.media) {
      if (!media.assetId) continue;
      const asset = await this.o.assets.findApproved(caller.accountId, media.assetId);
      if (!asset) {
        throw new TaskRefused('invalid_input', `${media.field}: asset "${media.assetId}" was not found among this account's approved assets`, media.field);
      }
      if (asset.kind !== media.kind) {
        throw new TaskRefused(
          'invalid_input',
          `${media.field}: asset "${media.assetId}" is ${article(asset.kind)} ${asset.kind}, not ${article(media.kind)} ${media.kind}`,
          media.field,
        );
      }
    }
  }
}

/** Every channel that could take the task has spent its daily budget: none takes work again before 00:00 UTC. */
function overBudget(request: TaskRequest, channels: readonly string[], now: number): TaskRefused {
  const seconds = Math.max(1, Math.ceil((nextUtcDayStart(now) - now) / 1000));
  return new TaskRefused(
    'channels_over_budget',
    `no channel can take a ${request.model} task now: ${channels.join(', ')} spent ${channels.length === 1 ? 'its' : 'their'} daily budget; try again after 00:00 UTC`,
    undefined,
    seconds,
  );
}

const article = (word: string) => (/^[aeiou]/.test(word) ? 'an' : 'a');

/** Same request ⇔ same hash: the normalized request, so key order and defaults do not matter. */
function hashRequest(request: TaskRequest | (TaskRequest & { callbackUrl: string })): string {
  return createHash('sha256').update(JSON.stringify(request)).digest('hex');
}
