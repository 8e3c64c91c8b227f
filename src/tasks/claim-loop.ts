import type { Logger } from 'pino';

export interface ClaimLoopOptions {
  logger: Logger;
  /**
   * One pass: claim what is due under a lease, as much as there is room for, and start it.
   * 'on hold' when claiming waits for something that pokes again once it ends, so that pokes
   * during this pass need no second pass.
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: a pass that returns nothing lets the loop go on
  claim: () => Promise<void | 'on hold'>;
  /** After every pass: how long until the next look (ms), or null to wait for a poke alone (no room). */
  wakeIn: () => Promise<number | null>;
  /** Logged with the error when a pass or the timer fails; each loop's lines say whose they are. */
  messages: { claimFailed: string; timerFailed: string };
}

/**
 * The loop of everything that takes work from a table under a lease (tasks, webhook deliveries).
 * Pokes are coalesced: one pass runs at a time, and a poke during it asks for one more, so a burst
 * of submits costs one or two claims, not one each. After a pass a timer is armed for work that
 * comes due without a poke here: a lease running out, a retry time, rows another process queued.
 */
export class ClaimLoop {
  private started = false;
  private stopped = false;
  private passing = false;
  private again = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly o: ClaimLoopOptions) {}

  /** True once stop() was called: nothing more is claimed. */
  get stopping(): boolean {
    return this.stopped;
  }

  start(): void {
    this.started = true;
    this.poke();
  }

  /** Something may be due: look now (coalesced). */
  poke(): void {
    if (!this.started || this.stopped) return;
    if (this.passing) {
      this.again = true;
      return;
    }
    this.passing = true;
    setImmediate(() => void this.pass());
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private async pass(): Promise<void> {
    try {
      do {
        this.again = false;
        if ((await this.o.claim()) === 'on hold') break;
      } while (this.again && !this.stopped);
    } catch (err) {
      this.o.logger.error({ err }, this.o.messages.claimFailed);
    } finally {
      this.passing = false;
      await this.armTimer().catch((err) => this.o.logger.error({ err }, this.o.messages.timerFailed));
    }
  }

  private async armTimer(): Promise<void> {
    clearTimeout(this.timer);
    if (this.stopped) return;
    const delay = await this.o.wakeIn();
    if (delay === null) return;
    this.timer = setTimeout(() => this.poke(), delay);
    this.timer.unref();
  }
}
