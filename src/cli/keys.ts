import { join } from 'node:path';
import type { Config } from '../config/env.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { addKey, createAccountWithKey } from '../auth/keys.js';

class CliError extends Error {
  override name = 'CliError';
}

export async function createKey(config: Config, opts: { name: string; account?: string; balance?: number; json?: boolean }): Promise<void> {
  const store = new SqliteStore(join(config.dataDir, 'vidgate.db'));
  try {
    let created;
    if (opts.account) {
      if (!(await store.getAccount(opts.account))) throw new CliError(`account ${opts.account} does not exist`);
      if (opts.balance !== undefined) throw new CliError('--balance applies to a new account; leave out --account');
      created = await addKey(store, opts.account, { name: opts.name });
    } else {
      created = await createAccountWithKey(store, { name: opts.name, balanceUsd: opts.balance });
    }
    if (opts.json) {
      console.log(JSON.stringify({ api_key: created.secret, key_id: created.key.id, account_id: created.key.accountId }));
    } else {
      console.log(created.secret);
      console.error(`key ${created.key.id} for account ${created.key.accountId}; the key is shown only once`);
    }
  } finally {
    await store.close();
  }
}
