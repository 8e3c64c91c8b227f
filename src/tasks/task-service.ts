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
  constructor(private readonly o: TaskServiceOptions) {}

  /** `replayed`: answered from an earlier submit with the same Idempotency-Key and body. */
  async submit(caller: Caller, body: SubmitBody, idempotencyKey?: string): Promise<{ task: TaskRecord; replayed: boolean }> {
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw new TaskRefused('invalid_input', 'Idempotency-Key must be 1 to 255 printable ASCII characters', 'Idempotency-Key');
    }
    const request = checkSubmitRules(body);
    await this.checkAssets(caller, request);
    const provider = this.o.providers.forModel(request.model);
    if (!provider) throw new TaskRefused('invalid_input', `model ${request.model} is not served by this gateway`, 'model');
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
    });
    const id = this.answer(outcome, task.id, task.costMicros);
    if (outcome.kind === 'created') this.o.onSubmitted(id);
    return { task: outcome.kind === 'created' ? outcome.task : (await this.o.store.getTask(id))!, replayed: outcome.kind === 'replayed' };
  }

  private answer(outcome: SubmitOutcome, newId: string, price: number): string {
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

const article = (word: string) => (/^[aeiou]/.test(word) ? 'an' : 'a');

/** Same request ⇔ same hash: the normalized request, so key order and defaults do not matter. */
function hashRequest(request: TaskRequest | (TaskRequest & { callbackUrl: string })): string {
  return createHash('sha256').update(JSON.stringify(request)).digest('hex');
}
