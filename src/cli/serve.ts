import type { Config } from '../config/env.js';
import { createApp } from '../app.js';
import { applyHeapGrowth } from './heap-growth.js';

export async function serve(config: Config): Promise<void> {
  const heapFlag = applyHeapGrowth(config.heapGrowingPercent);
  const app = await createApp(config);
  const address = await app.server.listen({ host: config.host, port: config.port, backlog: config.listenBacklog });
  app.logger.info({ address, role: config.role, dataDir: config.dataDir, store: app.store.kind, heap: heapFlag }, `vidgate listening on ${address}`);
  if (config.role !== 'worker' && process.stderr.isTTY) process.stderr.write(`vidgate: web console at ${consoleUrl(address)}\n`);

  // The log is written asynchronously: flush what is buffered before the process ends.
  const exit = (code: number) => app.logger.flush(() => process.exit(code));
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.logger.info({ signal }, 'shutting down: no new work; running tasks finish or return to the queue');
    app
      .close()
      .then(() => exit(0))
      .catch((err) => {
        app.logger.error({ err }, 'shutdown failed');
        exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/** A browsable address: a server bound to every interface is reached on localhost. */
function consoleUrl(address: string): string {
  const url = new URL(address);
  if (url.hostname === '0.0.0.0' || url.hostname === '[::]') url.hostname = 'localhost';
  return url.href;
}
