import { Command, InvalidArgumentError } from 'commander';
import { loadConfig, ConfigError } from '../config/env.js';
import { serve } from './serve.js';
import { createKey } from './keys.js';

const usd = (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected an amount in USD, like 10 or 2.5');
  return n;
};

const program = new Command()
  .name('vidgate')
  .description('Self-hostable video-generation API speaking the APIMart Seedance 2.0 contract')
  .showHelpAfterError();

program
  .command('serve')
  .description('start the HTTP API and the task dispatcher')
  .action(async () => serve(loadConfig()));

const keys = program.command('keys').description('API keys (works on the database in VIDGATE_DATA_DIR)');
keys
  .command('create')
  .description('create an API key and print it (a new account unless --account is given)')
  .option('--name <name>', 'a label for the key', 'cli')
  .option('--account <id>', 'add the key to this existing account')
  .option('--balance <usd>', 'starting balance of a new account in USD (default: unlimited)', usd)
  .option('--json', 'print JSON')
  .action(async (opts: { name: string; account?: string; balance?: number; json?: boolean }) => createKey(loadConfig(), opts));

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof ConfigError || (err as Error).name === 'CliError') {
    console.error(`vidgate: ${(err as Error).message}`);
    process.exit(2);
  }
  throw err;
}
