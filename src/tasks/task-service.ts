import { randomInt } from 'node:crypto';
import { ulid } from 'ulid';
import { badRequest, notFound } from '../contract/errors.js';
import { checkSubmitRules, MAX_SEED, type SubmitBody, type TaskRequest } from '../contract/submit.js';
import { taskPriceMicros } from '../contract/prices.js';
import type { Store, TaskRecord, TaskStatus } from '../store/types.js';
import type { ProviderRegistry } from '../providers/registry.js';
import type { AssetDirectory } from '../assets/asset-directory.js';

export interface Caller {
  accountId: string;
  keyId: string;
}

export const newTaskId = (): string => `task_${ulid()}`;

/** Submit, read and list tasks on behalf of an authenticated caller. */
export class TaskService {
  constructor(
    private readonly store: Store,
    private readonly providers: ProviderRegistry,
    private readonly assets: AssetDirectory,
    private readonly clock: () => number,
    private readonly onSubmitted: (task: string) => void,
  ) {}

  async submit(caller: Caller, body: SubmitBody): Promise<TaskRecord> {
    const request = checkSubmitRules(body);
    await this.checkAssets(caller, request);
    const provider = this.providers.forModel(request.model);
    const id = newTaskId();
    await this.store.insertTask({
      id,
      accountId: caller.accountId,
      keyId: caller.keyId,
      request,
      seed: request.requestedSeed === -1 ? randomInt(0, MAX_SEED) : request.requestedSeed,
      provider: provider.name,
      estimatedSeconds: provider.estimateSeconds(request),
      costMicros: taskPriceMicros({
        model: request.model,
        resolution: request.resolution,
        durationSeconds: request.duration,
        hasReferenceVideo: request.media.some((m) => m.kind === 'video'),
        referenceVideoSeconds: null,
      }),
      createdAt: this.clock(),
    });
    this.onSubmitted(id);
    return (await this.store.getTask(id))!;
  }

  /** Another account's task is answered exactly like a missing one. */
  async get(caller: Caller, id: string): Promise<TaskRecord> {
    const task = /^task_[0-9A-HJKMNP-TV-Z]{26}$/.test(id) ? await this.store.getTask(id) : null;
    if (!task || task.accountId !== caller.accountId) throw notFound(`task ${id} was not found`);
    return task;
  }

  async list(caller: Caller, q: { status?: TaskStatus; model?: string; after?: string; limit: number }): Promise<TaskRecord[]> {
    return this.store.listTasks({ accountId: caller.accountId, ...q });
  }

  private async checkAssets(caller: Caller, request: TaskRequest): Promise<void> {
    for (const media of request.media) {
      if (!media.assetId) continue;
      const asset = await this.assets.findApproved(caller.accountId, media.assetId);
      if (!asset) {
        throw badRequest(`${media.field}: asset "${media.assetId}" was not found among this account's approved assets`, media.field);
      }
      if (asset.kind !== media.kind) {
        throw badRequest(`${media.field}: asset "${media.assetId}" is ${asset.kind === 'image' ? 'an' : 'a'} ${asset.kind}, not ${media.kind === 'image' ? 'an' : 'a'} ${media.kind}`, media.field);
      }
    }
  }
}
