import pg from 'pg';
import type { StoreChangeFeed, TaskChange } from '../change-feed.js';
import type { KnownVersion, PgQueries } from './connection.js';

export const TASKS_CHANNEL = 'vidgate_tasks';
/** Carries the new keys version of each change to what authenticates a key (accounts.ts). */
export const KEYS_CHANNEL = 'vidgate_keys';
/** Notification payloads must stay under 8000 bytes; task ids are about 31 characters. */
const IDS_PER_NOTIFICATION = 200;
const CHANGES: ReadonlySet<string> = new Set<TaskChange>(['queued', 'claimed', 'progress', 'settled']);

/** The channel and payload of one announcement (at most IDS_PER_NOTIFICATION ids), for a statement that sends it itself. */
export function announcement(origin: string, change: TaskChange, ids: readonly string[]): [string, string] {
  return [TASKS_CHANNEL, `${origin} ${change} ${ids.join(',')}`];
}

/** Tells every listening process, at commit, that these tasks changed (nothing if the transaction rolls back). */
export async function announceTasks(tx: PgQueries, origin: string, change: TaskChange, ids: readonly string[]): Promise<void> {
  for (let i = 0; i < ids.length; i += IDS_PER_NOTIFICATION) {
    await tx.run('SELECT pg_notify($1, $2)', announcement(origin, change, ids.slice(i, i + IDS_PER_NOTIFICATION)));
  }
}

/**
 * LISTEN on one dedicated connection. Notifications of this process's own commits are skipped (it
 * told itself already). When the connection drops it is opened again after a pause; meanwhile the
 * polling safety nets of the dispatcher, event streams and webhook worker find what was missed.
 */
export class PgChangeFeed implements StoreChangeFeed {
  private readonly listeners = new Set<(change: TaskChange, ids: readonly string[]) => void>();
  private client: pg.Client | null = null;
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly url: string,
    private readonly origin: string,
    /** Key caches compare the keys version on every request: while listening, it is known without a query. */
    private readonly keys: KnownVersion,
    private readonly onError: (error: Error) => void = () => undefined,
  ) {}

  onRemoteTaskChanges(listener: (change: TaskChange, ids: readonly string[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves once listening (so a change committed after it is heard). */
  async start(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({ connectionString: this.url, application_name: 'vidgate-listen', keepAlive: true });
    client.on('notification', (message) => (message.channel === KEYS_CHANNEL ? this.keysHeard(message.payload) : this.deliver(message.payload ?? '')));
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client, new Error('the LISTEN connection ended')));
    await client.connect();
    await client.query(`LISTEN ${TASKS_CHANNEL}`);
    await client.query(`LISTEN ${KEYS_CHANNEL}`);
    // Read after LISTEN: a change committed from here on is heard, one before it is in the value.
    const { rows } = await client.query<{ value: string }>(`SELECT value FROM settings WHERE name = 'keys_version'`);
    this.client = client;
    this.keys.listening(Number(rows[0]?.value));
  }

  private keysHeard(payload: string | undefined): void {
    this.keys.heard(Number(payload));
  }

  private deliver(payload: string): void {
    const [origin, change, ids] = payload.split(' ');
    if (origin === this.origin || !change || !CHANGES.has(change) || !ids) return;
    const list = ids.split(',');
    for (const listener of this.listeners) listener(change as TaskChange, list);
  }

  private lost(client: pg.Client, error: Error): void {
    if (this.client !== client || this.closed) return;
    this.client = null;
    this.keys.forget();
    this.onError(error);
    client.end().catch(() => undefined);
    const retry = () => {
      this.retryTimer = undefined;
      this.start().catch((e: Error) => {
        this.onError(e);
        if (!this.closed) this.retryTimer = setTimeout(retry, 1000).unref();
      });
    };
    this.retryTimer = setTimeout(retry, 1000).unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = null;
    this.keys.forget();
    await client?.end().catch(() => undefined);
  }
}
