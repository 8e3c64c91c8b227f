import type { Config } from '../config/env.js';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/types.js';
import { addKey, createAccountWithKey, type CreatedKey } from '../auth/keys.js';
import { openAccount, topUpAccount, TopUpRefused } from '../billing/accounts.js';
import { microsToUsd, usdToMicros } from '../contract/prices.js';

export class CliError extends Error {
  override name = 'CliError';
}

/** Operator commands work on the database directly, so they need no running server. */
async function withStore<T>(config: Config, work: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore(config);
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

const print = (json: boolean | undefined, value: object, text: string) => console.log(json ? JSON.stringify(value) : text);

export interface KeyOptions {
  name: string;
  account?: string;
  balance?: number;
  spendCap?: number;
  rpm?: number;
  inFlight?: number;
  json?: boolean;
}

export async function createKey(config: Config, opts: KeyOptions): Promise<void> {
  await withStore(config, async (store) => {
    const limits = {
      ...(opts.spendCap !== undefined ? { spendCapMicros: usdToMicros(opts.spendCap) } : {}),
      ...(opts.rpm !== undefined ? { rpmLimit: opts.rpm } : {}),
      ...(opts.inFlight !== undefined ? { inFlightLimit: opts.inFlight } : {}),
    };
    let created: CreatedKey;
    if (opts.account) {
      if (!(await store.getAccount(opts.account))) throw new CliError(`account ${opts.account} does not exist`);
      if (opts.balance !== undefined) throw new CliError('--balance applies to a new account; leave out --account or use `vidgate topup`');
      created = await addKey(store, opts.account, { name: opts.name, limits });
    } else {
      created = await createAccountWithKey(store, { name: opts.name, balanceUsd: opts.balance });
      if (Object.keys(limits).length) await store.updateApiKeyLimits(created.key.id, limits);
    }
    print(opts.json, { api_key: created.secret, key_id: created.key.id, account_id: created.key.accountId }, created.secret);
    if (!opts.json) console.error(`key ${created.key.id} for account ${created.key.accountId}; the key is shown only once`);
  });
}

export async function disableKey(config: Config, keyId: string, disabled: boolean): Promise<void> {
  await withStore(config, async (store) => {
    if (!(await store.setApiKeyDisabled(keyId, disabled))) throw new CliError(`key ${keyId} does not exist`);
    console.log(`key ${keyId} ${disabled ? 'disabled' : 'enabled'}`);
  });
}

export async function createAccount(config: Config, opts: { name: string; balance?: number; json?: boolean }): Promise<void> {
  await withStore(config, async (store) => {
    const account = await openAccount(store, { name: opts.name, balanceUsd: opts.balance });
    print(opts.json, { account_id: account.id, unlimited: account.unlimited, balance: microsToUsd(account.balanceMicros) }, account.id);
  });
}

export async function listAccounts(config: Config, opts: { json?: boolean }): Promise<void> {
  await withStore(config, async (store) => {
    const accounts = await store.listAccounts(1000);
    if (opts.json)
      return console.log(
        JSON.stringify(
          accounts.map((a) => ({ id: a.id, name: a.name, unlimited: a.unlimited, balance: microsToUsd(a.balanceMicros), spent: microsToUsd(a.spentMicros) })),
        ),
      );
    for (const a of accounts) {
      console.log(`${a.id}\t${a.name}\t${a.unlimited ? 'unlimited' : `$${microsToUsd(a.balanceMicros)}`}\tspent $${microsToUsd(a.spentMicros)}`);
    }
  });
}

export async function topUp(config: Config, accountId: string, usd: number, opts: { note?: string; json?: boolean }): Promise<void> {
  await withStore(config, async (store) => {
    const balance = await topUpAccount(store, accountId, usd, opts.note ?? 'cli top-up', Date.now()).catch((err: unknown) => {
      throw err instanceof TopUpRefused ? new CliError(err.message) : err;
    });
    print(opts.json, { account_id: accountId, balance: microsToUsd(balance) }, `balance of ${accountId}: $${microsToUsd(balance)}`);
  });
}
