import { newUlid } from '../contract/ids.js';
import { usdToMicros } from '../contract/prices.js';
import type { Account, AccountStore } from '../store/types.js';

/** Opens an account; without a balance it has unlimited quota. The opening balance is a ledger top-up. */
export async function openAccount(store: AccountStore, opts: { name: string; balanceUsd?: number; now?: number }): Promise<Account> {
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

/** Why a top-up was refused; the API and the CLI each say it their way. */
export class TopUpRefused extends Error {
  override name = 'TopUpRefused';
  constructor(
    readonly reason: 'no_account' | 'unlimited' | 'not_positive',
    message: string,
  ) {
    super(message);
  }
}

/** Adds `usd` to a limited account's balance, as a ledger top-up; returns the new balance in micro-USD. */
export async function topUpAccount(store: AccountStore, accountId: string, usd: number, note: string | null, now: number): Promise<number> {
  const account = await store.getAccount(accountId);
  if (!account) throw new TopUpRefused('no_account', `account ${accountId} does not exist`);
  if (account.unlimited) throw new TopUpRefused('unlimited', `account ${accountId} has unlimited quota; a top-up would have no effect`);
  if (!(usd > 0)) throw new TopUpRefused('not_positive', 'the amount must be more than 0');
  return store.topUp(accountId, usdToMicros(usd), note, now);
}
