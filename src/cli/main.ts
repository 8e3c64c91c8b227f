import { Command, InvalidArgumentError, Option } from 'commander';
import { loadConfig, ConfigError } from '../config/env.js';
import { registerClientCommands } from './client-commands.js';

// Server and operator commands load the server (and its native SQLite driver) only when run, so
// the client commands start fast and work on machines that only talk to a remote vidgate.
const server = () => import('./serve.js');
const operator = () => import('./keys.js');
const webhooks = () => import('./webhooks-log.js');
const database = () => import('./db-migrate.js');

const usd = (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected an amount in USD, like 10 or 2.5');
  return n;
};
const count = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number of at least 1');
  return n;
};

const postgresUrl = (value: string): string => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(`not a URL: expected postgres://user:password@host:5432/database`);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new InvalidArgumentError(`expected a postgres:// or postgresql:// URL, not ${url.protocol}//…`);
  }
  return value;
};

const program = new Command().name('vidgate').description('Self-hostable video-generation API speaking the APIMart Seedance 2.0 contract').showHelpAfterError();

program
  .command('serve')
  .description('start the HTTP API and the task dispatcher')
  .addOption(
    new Option(
      '--role <role>',
      'api: answer clients only; worker: run tasks, serving only health and metrics; all: both (default: VIDGATE_ROLE, else all)',
    ).choices(['all', 'api', 'worker']),
  )
  .action(async (opts: { role?: string }) => (await server()).serve(loadConfig(opts.role ? { ...process.env, VIDGATE_ROLE: opts.role } : process.env)));

const keys = program.command('keys').description('API keys (works on the database in VIDGATE_DATA_DIR)');
keys
  .command('create')
  .description('create an API key and print it (for a new account unless --account is given)')
  .option('--name <name>', 'a label for the key', 'cli')
  .option('--account <id>', 'add the key to this existing account')
  .option('--balance <usd>', 'starting balance of a new account in USD (default: unlimited)', usd)
  .option('--spend-cap <usd>', 'most this key may spend in all', usd)
  .option('--rpm <n>', 'requests per minute for this key', count)
  .option('--in-flight <n>', 'unfinished tasks at once for this key', count)
  .option('--json', 'print JSON')
  .action(async (opts) => (await operator()).createKey(loadConfig(), opts));
keys
  .command('disable <key_id>')
  .description('disable a key: it answers 401 from now on')
  .action(async (keyId: string) => (await operator()).disableKey(loadConfig(), keyId, true));
keys
  .command('enable <key_id>')
  .description('enable a disabled key again')
  .action(async (keyId: string) => (await operator()).disableKey(loadConfig(), keyId, false));

const accounts = program.command('accounts').description('accounts and their balances');
accounts
  .command('create')
  .description('open an account (unlimited quota unless --balance is given)')
  .option('--name <name>', 'a label for the account', 'account')
  .option('--balance <usd>', 'starting balance in USD', usd)
  .option('--json', 'print JSON')
  .action(async (opts) => (await operator()).createAccount(loadConfig(), opts));
accounts
  .command('list')
  .description('list accounts with balances')
  .option('--json', 'print JSON')
  .action(async (opts) => (await operator()).listAccounts(loadConfig(), opts));

program
  .command('topup <account_id> <usd>')
  .description("add money to an account's balance")
  .option('--note <text>', 'a note for the ledger')
  .option('--json', 'print JSON')
  .action(async (accountId: string, amount: string, opts) => (await operator()).topUp(loadConfig(), accountId, usd(amount), opts));

program
  .command('webhooks')
  .description('webhook deliveries (works on the database in VIDGATE_DATA_DIR)')
  .command('log')
  .description('the delivery log, newest first, with every attempt')
  .option('--account <id>', "only this account's deliveries")
  .option('--task <id>', "only this task's deliveries")
  .option('--state <state>', 'only pending, delivered or failed deliveries')
  .option('--limit <n>', 'how many deliveries', count, 50)
  .option('--json', 'print JSON')
  .action(async (opts) => (await webhooks()).webhookLog(loadConfig(), opts));

program
  .command('db')
  .description('the database (the SQLite file in VIDGATE_DATA_DIR)')
  .command('migrate-to <url>')
  .description('copy this SQLite installation into an empty PostgreSQL database and verify it (stop vidgate first)')
  .option('--force', 'copy even if another process has the SQLite file open or holds task leases')
  .option('--json', 'print the report as JSON')
  // Validated in the action, so a bad URL exits 2 with one line like the other usage errors.
  .action(async (url: string, opts) => (await database()).migrateTo(loadConfig(), postgresUrl(url), opts));

registerClientCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // CliError is matched by name: its module is loaded lazily.
  if (err instanceof ConfigError || err instanceof InvalidArgumentError || (err as Error).name === 'CliError') {
    console.error(`vidgate: ${(err as Error).message}`);
    process.exit(2);
  }
  throw err;
}
