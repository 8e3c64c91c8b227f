import { ulid } from 'ulid';
import type { NewTask, Store } from '../../src/store/types.js';
import { checkSubmitRules } from '../../src/contract/submit.js';

/** An account and a key to hang tasks on (the schema enforces both). */
export async function seedAccount(store: Store, now = Date.now()): Promise<{ accountId: string; keyId: string }> {
  const accountId = `acct_${ulid()}`;
  const keyId = `key_${ulid()}`;
  await store.createAccount({ id: accountId, name: 'test', unlimited: true, balanceMicros: 0, createdAt: now });
  await store.createApiKey({
    id: keyId,
    accountId,
    hash: `${keyId}-hash`,
    prefix: 'sk-test',
    name: 'test',
    disabled: false,
    createdAt: now,
    limits: { spendCapMicros: null, rpmLimit: null, inFlightLimit: null },
  });
  return { accountId, keyId };
}

/** Task ids are random ULIDs: only ids made in different milliseconds sort by creation time. */
let lastTime = 0;
const laterId = () => {
  lastTime = Math.max(lastTime + 1, Date.now());
  return `task_${ulid(lastTime)}`;
};

export function newTask(owner: { accountId: string; keyId: string }, over: Partial<NewTask> = {}): NewTask {
  return {
    id: laterId(),
    ...owner,
    request: checkSubmitRules({ model: 'doubao-seedance-2.0', prompt: 'a test scene', duration: 4, resolution: '480p' }),
    seed: 7,
    provider: 'local',
    estimatedSeconds: 1,
    costMicros: 264_000,
    createdAt: Date.now(),
    ...over,
  };
}

/** Queues a task with no limits in the way. */
export async function insertTask(store: Store, task: NewTask): Promise<void> {
  const outcome = await store.submitTask(task, { inFlightLimit: Number.MAX_SAFE_INTEGER });
  if (outcome.kind !== 'created') throw new Error(`task not created: ${outcome.kind}`);
}
