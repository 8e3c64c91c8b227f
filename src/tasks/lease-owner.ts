import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';

/**
 * A lease owner names the process holding a task: `<host>/<pid>/<random>`. After a crash, a new
 * process on the same host can tell that the holder is gone and take its tasks back at once instead
 * of waiting for the lease to run out.
 */
export interface LeaseOwner {
  id: string;
  host: string;
  pid: number;
}

const HOST = hostname().replace(/\//g, '_');

export function newLeaseOwner(): LeaseOwner {
  return { id: `${HOST}/${process.pid}/${randomBytes(6).toString('hex')}`, host: HOST, pid: process.pid };
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True when `other` was a process on this host that no longer runs (or whose pid we now hold). */
export function isDeadLocalOwner(other: string, self: LeaseOwner): boolean {
  const [host, pidText] = other.split('/');
  if (host !== self.host || other === self.id) return false;
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  return pid === self.pid || !processAlive(pid);
}
