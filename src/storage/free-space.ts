import { statfs } from 'node:fs/promises';

export interface FreeSpace {
  /** Bytes an unprivileged process may still write. */
  freeBytes: number;
  totalBytes: number;
}

/** Reads the free space of the file system holding `dir`; tests stand in with their own. */
export type FreeSpaceReader = (dir: string) => Promise<FreeSpace>;

export const statfsFreeSpace: FreeSpaceReader = async (dir) => {
  const stats = await statfs(dir);
  return { freeBytes: stats.bavail * stats.bsize, totalBytes: stats.blocks * stats.bsize };
};

const MB = 1024 * 1024;
/** A 15 s 4K render with its last frame and temporary files takes tens of MB; below this, tasks would fail on a full disk. */
export const MIN_FREE_BYTES = 100 * MB;
const CACHE_MS = 5_000;

export interface DiskVerdict {
  ok: boolean;
  /** For /readyz's checks: the free space, or why it is too little or could not be read. */
  detail: string;
}

/**
 * Whether the data directory's file system has room for more work, for readiness. The answer is
 * kept a few seconds, so a load balancer polling /readyz often costs one statfs per interval;
 * callers asking meanwhile share one read.
 */
export class FreeSpaceCheck {
  private last: { atMs: number; verdict: Promise<DiskVerdict> } | undefined;

  constructor(
    private readonly dir: string,
    private readonly opts: { read?: FreeSpaceReader; minFreeBytes?: number; clock?: () => number; cacheMs?: number } = {},
  ) {}

  check(): Promise<DiskVerdict> {
    const now = (this.opts.clock ?? Date.now)();
    if (this.last && now - this.last.atMs < (this.opts.cacheMs ?? CACHE_MS)) return this.last.verdict;
    const verdict = this.measure();
    this.last = { atMs: now, verdict };
    return verdict;
  }

  private async measure(): Promise<DiskVerdict> {
    const minFree = this.opts.minFreeBytes ?? MIN_FREE_BYTES;
    try {
      const { freeBytes } = await (this.opts.read ?? statfsFreeSpace)(this.dir);
      if (freeBytes < minFree)
        return { ok: false, detail: `only ${megabytes(freeBytes)} free on the data directory's file system; at least ${megabytes(minFree)} needed` };
      return { ok: true, detail: `ok (${megabytes(freeBytes)} free)` };
    } catch (err) {
      return { ok: false, detail: `free space could not be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
    }
  }
}

const megabytes = (bytes: number) => `${Math.floor(bytes / MB)} MB`;
