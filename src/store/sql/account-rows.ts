import type { Account, ApiKeyRecord, KeyLimits } from '../account-store.js';

export interface AccountRow {
  id: string;
  name: string;
  unlimited: number;
  balance_micros: number;
  spent_micros: number;
  created_at: number;
  /** Computed by the query that reads the account (ACCOUNT_COLUMNS). */
  key_count: number;
}
export const toAccount = (row: AccountRow): Account => ({
  id: row.id,
  name: row.name,
  unlimited: row.unlimited === 1,
  balanceMicros: row.balance_micros,
  spentMicros: row.spent_micros,
  createdAt: row.created_at,
  keyCount: Number(row.key_count),
});

/** An account row with the count of its keys (read through the api_keys_by_account index). */
export const ACCOUNT_COLUMNS = 'accounts.*, (SELECT COUNT(*) FROM api_keys WHERE api_keys.account_id = accounts.id) AS key_count';

/** A key row with the creation time of its last task (read through the tasks_by_key_created index). */
export const KEY_COLUMNS = 'api_keys.*, (SELECT MAX(created_at) FROM tasks WHERE tasks.key_id = api_keys.id) AS last_used_at';

export interface KeyRow {
  id: string;
  account_id: string;
  hash: string;
  prefix: string;
  name: string;
  disabled: number;
  created_at: number;
  spend_cap_micros: number | null;
  spent_micros: number;
  in_flight: number;
  rpm_limit: number | null;
  in_flight_limit: number | null;
  callback_url: string | null;
  /** Only where the query computed it (KEY_COLUMNS). */
  last_used_at?: number | null;
}
export const toKey = (row: KeyRow): ApiKeyRecord => ({
  id: row.id,
  accountId: row.account_id,
  hash: row.hash,
  prefix: row.prefix,
  name: row.name,
  disabled: row.disabled === 1,
  createdAt: row.created_at,
  limits: { spendCapMicros: row.spend_cap_micros, rpmLimit: row.rpm_limit, inFlightLimit: row.in_flight_limit },
  spentMicros: row.spent_micros,
  inFlight: row.in_flight,
  callbackUrl: row.callback_url,
  ...(row.last_used_at === undefined ? {} : { lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at) }),
});

export const LIMIT_COLUMNS: Record<keyof KeyLimits, string> = { spendCapMicros: 'spend_cap_micros', rpmLimit: 'rpm_limit', inFlightLimit: 'in_flight_limit' };
