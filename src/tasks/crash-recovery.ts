import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { DispatcherOptions } from './dispatcher-options.js';
import { isDeadLocalOwner } from './lease-owner.js';

type CrashRecoveryOptions = Pick<DispatcherOptions, 'store' | 'owner' | 'logger' | 'workRoot'>;

/**
 * At start, after kill -9: dead processes of this host still hold leases and work directories.
 * Their leases end now so their tasks run at once (elsewhere the lease has to run out), and their
 * directories go. What the dead runs make of their tasks (suspects) is suspects.ts.
 */
export async function recoverFromDeadProcesses(o: CrashRecoveryOptions): Promise<void> {
  for (const held of await o.store.listLeasedBy(`${o.owner.host}/`)) {
    if (isDeadLocalOwner(held.owner, o.owner) && (await o.store.expireLease(held))) {
      o.logger.info({ task: held.id, previousOwner: held.owner }, 'reclaiming task from a process that died');
    }
  }
  const entries = await readdir(o.workRoot).catch(() => [] as string[]);
  for (const name of entries) {
    // Work directories are named by their owner's id (see Dispatcher.workDir).
    const owner = safeDecode(name);
    if (isDeadLocalOwner(owner, o.owner)) await rm(join(o.workRoot, name), { recursive: true, force: true });
  }
}

function safeDecode(name: string): string {
  try {
    return decodeURIComponent(name);
  } catch {
    return name;
  }
}
