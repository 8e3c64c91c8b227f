import { afterEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { insertTask, newTask, seedAccount } from '../helpers/store-fixtures.js';
import { checkSubmitRules } from '../../src/contract/submit.js';
import type { Store } from '../../src/store/types.js';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const shape = (duration: number) => ({ model: 'doubao-seedance-2.0', prompt: 'history', resolution: '480p', duration });

/** A completed task of this shape that took `seconds` from submit to completion. */
async function finished(store: Store, owner: { accountId: string; keyId: string }, duration: number, seconds: number, provider = 'local') {
  const createdAt = Date.now() - 3_600_000;
  const task = newTask(owner, { request: checkSubmitRules(shape(duration)), provider, createdAt });
  await insertTask(store, task);
  const [claimed] = await store.claimTasks({ owner: 'history', now: createdAt, leaseMs: 3_600_000 * 2, limit: 1, providers: [provider] });
  expect(claimed!.id).toBe(task.id);
  const file = { key: 'x', bytes: 1, contentType: 'video/mp4' };
  expect(
    await store.completeTask({ id: task.id, owner: 'history' }, { video: file, lastFrame: null, expiresAt: Date.now() + 1000 }, createdAt + seconds * 1000, 0),
  ).toBe(true);
}

async function estimate(body: object): Promise<number> {
  const id = await t!.submit(body);
  const res = await t!.app.server.inject({ method: 'GET', url: `/v1/tasks/${id}`, headers: t!.auth });
  // Out of the queue again, so the history tasks below are the only ones to claim.
  await t!.app.server.inject({ method: 'POST', url: `/v1/tasks/${id}/cancel`, headers: t!.auth });
  return res.json().data.estimated_time;
}

describe('estimated_time', () => {
  it('is the median actual_time of the latest completed tasks of the same model, resolution and duration on the channel', async () => {
    t = await startTestApp({}, { runDispatcher: false });
    const owner = await seedAccount(t.app.store);
    const fallback = await estimate(shape(6));
    expect(fallback).toBeLessThan(50);
    for (const seconds of [140, 100, 120]) await finished(t.app.store, owner, 4, seconds);
    // Fewer than three of a shape: the channel's own estimate; other channels' history does not count.
    for (const seconds of [300, 300]) await finished(t.app.store, owner, 5, seconds);
    for (const seconds of [500, 500, 500]) await finished(t.app.store, owner, 5, seconds, 'elsewhere');
    t.app.notifications.estimates.forget();

    expect(await estimate(shape(4))).toBe(120);
    expect(await estimate(shape(5))).toBeLessThan(50);
    expect(await estimate(shape(6))).toBe(fallback);
    // Only the latest 20 count.
    for (let i = 0; i < 20; i++) await finished(t.app.store, owner, 4, 60);
    t.app.notifications.estimates.forget();
    expect(await estimate(shape(4))).toBe(60);
  });
});
