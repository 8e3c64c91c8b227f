/**
 * One `VIDGATE_ROLE=worker` instance on PostgreSQL in a process of its own, for bench/postgres.ts
 * (forked with tsx as loader; its environment configures it). Its channels are the no-op provider,
 * so what it does is the queue's work. It waits with its dispatcher stopped so several workers can
 * be started first and released at one moment.
 *
 * IPC, child → parent: `{ type: 'ready' }`, then `{ type: 'stats', … }` in answer to `stats`.
 * Parent → child: `{ type: 'go' }` starts the dispatcher; `{ type: 'stats' }`. The child closes
 * the app and exits when the IPC channel closes.
 */
import pino from 'pino';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config/env.js';
import { noopChannels } from './noop-provider.js';
import { countPgQueries, type QueryCounts } from './pg-probe.js';

export interface WorkerStats {
  type: 'stats';
  /** CPU of this process since `go`, µs. */
  cpuMicros: number;
  queries: QueryCounts;
}

const send = (message: object) => new Promise<void>((resolve, reject) => process.send!(message, (err: Error | null) => (err ? reject(err) : resolve())));

async function main(): Promise<void> {
  const queries = countPgQueries();
  const config = loadConfig(process.env);
  const concurrency = Number(process.env.BENCH_NOOP_CONCURRENCY ?? 16);
  const logger = pino({ level: 'warn', base: { service: 'vidgate-worker' } }, pino.destination({ dest: 2, sync: false }));
  const app = await createApp(config, { logger, runDispatcher: false, providers: noopChannels(concurrency, process.env.BENCH_NOOP_MP4!) });
  let cpuFrom = process.cpuUsage();
  process.on('message', (message: { type?: string }) => {
    if (message?.type === 'go') {
      queries.reset();
      cpuFrom = process.cpuUsage();
      void Promise.all([app.dispatcher.start(), app.notifications.start()]).catch((err: Error) => {
        process.stderr.write(`worker: ${err.stack ?? err}\n`);
        process.exit(1);
      });
    } else if (message?.type === 'stats') {
      const cpu = process.cpuUsage(cpuFrom);
      void send({ type: 'stats', cpuMicros: cpu.user + cpu.system, queries: queries.read() } satisfies WorkerStats);
    }
  });
  process.once('disconnect', () => {
    void app.close().finally(() => process.exit(0));
  });
  await send({ type: 'ready' });
}

main().catch((err: unknown) => {
  process.stderr.write(`pg-worker-process failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
