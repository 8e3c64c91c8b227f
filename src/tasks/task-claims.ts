import type { TaskRecord } from '../store/types.js';
import type { Provider } from '../providers/types.js';
import type { DispatcherOptions } from './dispatcher-options.js';
import type { ChannelSlots } from './channel-slots.js';
import type { Suspects } from './suspects.js';

type TaskClaimsOptions = Pick<DispatcherOptions, 'store' | 'providers' | 'owner' | 'clock' | 'leaseMs' | 'idlePollMs'>;

export interface TaskClaimsHost {
  slots: ChannelSlots;
  suspects: Suspects;
  isStopping: () => boolean;
  launch: (task: TaskRecord, provider: Provider) => void;
}

/**
 * What the dispatcher's claim loop (claim-loop.ts) claims: a suspect goes first and alone; else
 * each channel fills its free slots. A task for an upstream channel stays `pending` when claimed:
 * the client sees `processing` once the upstream says it runs.
 */
export class TaskClaims {
  constructor(
    private readonly o: TaskClaimsOptions,
    private readonly host: TaskClaimsHost,
  ) {}

  // biome-ignore lint/suspicious/noConfusingVoidType: the claim loop's own contract (claim-loop.ts)
  async claimDue(): Promise<void | 'on hold'> {
    if (await this.host.suspects.holdForSuspect()) return 'on hold';
    for (const provider of this.o.providers.all()) await this.claimFor(provider);
  }

  /** Wakes up when the next abandoned lease runs out, and now and then for tasks queued elsewhere. */
  async wakeIn(): Promise<number | null> {
    const withRoom = this.host.slots.withRoom(this.o.providers.all()).map((p) => p.name);
    if (withRoom.length === 0) return null;
    const idle = this.o.idlePollMs ?? 5000;
    const expiry = await this.o.store.nextLeaseExpiry(withRoom);
    return expiry === null ? idle : Math.min(idle, Math.max(0, expiry - this.o.clock()) + 5);
  }

  private async claimFor(provider: Provider): Promise<void> {
    const limit = this.host.slots.freeFor(provider);
    if (limit <= 0 || this.host.isStopping()) return;
    const claimed = await this.o.store.claimTasks({
      owner: this.o.owner.id,
      now: this.o.clock(),
      leaseMs: this.o.leaseMs,
      limit,
      providers: [provider.name],
      markProcessing: !provider.queuesElsewhere,
      interrupted: 'exclude',
    });
    for (const task of claimed) this.host.launch(task, provider);
  }
}
