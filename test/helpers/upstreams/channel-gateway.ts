import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestApp, type TestApp } from '../test-app.js';

/** Cleanups a test file runs after each test, last first. */
export type Cleanups = Array<() => Promise<unknown>>;

export const FAST_POLLING = 'first_poll_ms: 5\n    max_poll_ms: 20';
export const LOCAL_CHANNEL = '  - name: sandbox\n    provider: local\n    models: "*"\n    priority: 0\n';

/** A vidgate whose configuration file holds these channels (YAML list items); media and results may come from 127.0.0.1. */
export async function channelGateway(cleanups: Cleanups, channelsYaml: string, env: Record<string, string> = {}): Promise<TestApp & { configFile: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'vidgate-channels-'));
  const configFile = join(dir, 'vidgate.yaml');
  await writeFile(configFile, `channels:\n${channelsYaml}`);
  const t = await startTestApp({ VIDGATE_CONFIG: configFile, VIDGATE_MEDIA_ALLOW_HOSTS: '127.0.0.1', ...env });
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  cleanups.push(() => t.close());
  return Object.assign(t, { configFile });
}

/** The ledger movements of one task, sorted by kind. */
export const ledgerKinds = async (t: TestApp, task: { id: string; accountId: string }) =>
  (await t.app.store.listLedger(task.accountId, 1000))
    .filter((e) => e.taskId === task.id)
    .map((e) => e.kind)
    .sort();

/** The task as `GET /v1/tasks/{id}` shows it (`data`). */
export const taskView = async (t: TestApp, id: string, headers = t.auth) =>
  (await t.app.server.inject({ method: 'GET', url: `/v1/tasks/${id}`, headers })).json().data;

/** The channel's checkpoint of the task (its upstream id) once it has one. */
export async function upstreamIdOf(t: TestApp, id: string): Promise<string> {
  for (let i = 0; ; i++) {
    const task = await t.app.store.getTask(id);
    const state = task?.providerState as { data?: { upstreamId?: string } } | null | undefined;
    if (state?.data?.upstreamId) return state.data.upstreamId;
    if (i === 2000) throw new Error(`no upstream task for ${id}: ${JSON.stringify(task)}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
