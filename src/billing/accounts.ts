import { newUlid } from '../contract/ids.js';
import { usdToMicros } from '../contract/prices.js';
import type { Account, Store } from '../store/types.js';

/** Opens an account; without a balance it has unlimited quota. The opening balance is a ledger top-up. */
export async function openAccount(store: Store, opts: { name: string; balanceUsd?: number; now?: number }): Promise<Account> {
  const account = {
    id: `acct_${newUlid()}`,
    name: opts.name,
    unlimited: opts.balanceUsd === undefined,
    balanceMicros: opts.balanceUsd === undefined ? 0 : usdToMicros(opts.balanceUsd),
    createdAt: opts.now ?? Date.now(),
  };
  await store.createAccount(account);
  return (await store.getAccount(account.id))!;
}
