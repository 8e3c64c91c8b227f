import { openingBalance } from '../../billing/money-rules.js';
import type { Account, AccountStore, ApiKeyRecord, KeyLimits, LedgerEntry, NewAccount } from '../account-store.js';
import { ACCOUNT_COLUMNS, type AccountRow, KEY_COLUMNS, type KeyRow, LIMIT_COLUMNS, toAccount, toKey } from '../sql/account-rows.js';
import { type LedgerRow, toLedgerEntry } from '../sql/ledger-row.js';
import { KEYS_CHANNEL } from './change-feed.js';
import type { KnownVersion, PgConnection, PgQueries } from './connection.js';
import type { PgLedgerWriter } from './ledger-writer.js';

/**
 * Counts a change to what authenticates a key, in the transaction of the change: every other
 * instance hears the new version at commit, and this one knows it once committed, so its own next
 * read already compares against it.
 */
export async function keysChanged(tx: PgQueries, known: KnownVersion): Promise<void> {
  const row = await tx.row<{ value: string }>(`UPDATE settings SET value = (value::bigint + 1)::text WHERE name = 'keys_version' RETURNING value`);
  const version = row?.value ?? '';
  await tx.run('SELECT pg_notify($1, $2)', [KEYS_CHANNEL, version]);
  tx.afterCommit(() => known.heard(Number(version)));
}

/** Accounts, keys and the ledger; money moves only through the shared `PgLedgerWriter`. */
export class PgAccounts implements AccountStore {
  constructor(
    private readonly connection: PgConnection,
    private readonly money: PgLedgerWriter,
  ) {}

  async createAccount(account: NewAccount): Promise<void> {
    await this.connection.transaction(async (tx) => {
      await tx.run('INSERT INTO accounts (id, name, unlimited, balance_micros, created_at) VALUES ($1, $2, $3, 0, $4)', [
        account.id,
        account.name,
        account.unlimited ? 1 : 0,
        account.createdAt,
      ]);
      const opening = openingBalance(account);
      if (opening) await this.money.move(tx, opening);
    });
  }

  async getAccount(id: string): Promise<Account | null> {
    const row = await this.connection.row<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE id = $1`, [id]);
    return row ? toAccount(row) : null;
  }

  async listAccounts(limit: number, after = ''): Promise<Account[]> {
    return (await this.connection.rows<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE id > $1 ORDER BY id LIMIT $2`, [after, limit])).map(
      toAccount,
    );
  }

  async topUp(accountId: string, amountMicros: number, note: string | null, now: number): Promise<number> {
    if (!Number.isSafeInteger(amountMicros) || amountMicros <= 0) throw new Error('a top-up must be a positive amount');
    return this.connection.transaction(async (tx) => {
      await this.money.move(tx, { accountId, keyId: null, taskId: null, kind: 'topup', amountMicros, note, now });
      return (await tx.row<{ balance_micros: number }>('SELECT balance_micros FROM accounts WHERE id = $1', [accountId]))!.balance_micros;
    });
  }

  async listLedger(accountId: string, limit: number, afterId?: number, order: 'asc' | 'desc' = 'asc'): Promise<LedgerEntry[]> {
    const rows =
      order === 'asc'
        ? await this.connection.rows<LedgerRow>('SELECT * FROM ledger WHERE account_id = $1 AND id > $2 ORDER BY id LIMIT $3', [accountId, afterId ?? 0, limit])
        : await this.connection.rows<LedgerRow>('SELECT * FROM ledger WHERE account_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3', [
            accountId,
            afterId ?? Number.MAX_SAFE_INTEGER,
            limit,
          ]);
    return rows.map(toLedgerEntry);
  }

  async createApiKey(key: Omit<ApiKeyRecord, 'spentMicros' | 'inFlight' | 'lastUsedAt'>): Promise<void> {
    await this.connection.run(
      `INSERT INTO api_keys (id, account_id, hash, prefix, name, disabled, created_at, spend_cap_micros, rpm_limit, in_flight_limit, callback_url)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      [
        key.id,
        key.accountId,
        key.hash,
        key.prefix,
        key.name,
        key.disabled ? 1 : 0,
        key.createdAt,
        key.limits.spendCapMicros,
        key.limits.rpmLimit,
        key.limits.inFlightLimit,
        key.callbackUrl ?? null,
      ],
    );
  }

  async getApiKey(id: string): Promise<ApiKeyRecord | null> {
    const row = await this.connection.row<KeyRow>(`SELECT ${KEY_COLUMNS} FROM api_keys WHERE id = $1`, [id]);
    return row ? toKey(row) : null;
  }

  async listApiKeys(accountId: string): Promise<ApiKeyRecord[]> {
    return (await this.connection.rows<KeyRow>(`SELECT ${KEY_COLUMNS} FROM api_keys WHERE account_id = $1 ORDER BY id`, [accountId])).map(toKey);
  }

  async updateApiKeyLimits(id: string, limits: Partial<KeyLimits>): Promise<boolean> {
    const set = (Object.keys(limits) as Array<keyof KeyLimits>).filter((k) => k in LIMIT_COLUMNS);
    if (set.length === 0) return (await this.getApiKey(id)) !== null;
    return this.connection.transaction(async (tx) => {
      if ((await this.setLimits(tx, id, limits)) !== 1) return false;
      await keysChanged(tx, this.connection.keysVersion);
      return true;
    });
  }

  private async setLimits(tx: PgQueries, id: string, limits: Partial<KeyLimits>): Promise<number> {
    const set = (Object.keys(limits) as Array<keyof KeyLimits>).filter((k) => k in LIMIT_COLUMNS);
    if (set.length === 0) return 1;
    const sql = `UPDATE api_keys SET ${set.map((k, i) => `${LIMIT_COLUMNS[k]} = $${i + 2}`).join(', ')} WHERE id = $1`;
    return tx.run(sql, [id, ...set.map((k) => limits[k] ?? null)]);
  }

  async keysVersion(): Promise<number> {
    const known = this.connection.keysVersion.get();
    if (known !== null) return known;
    const row = await this.connection.row<{ value: string }>(`SELECT value FROM settings WHERE name = 'keys_version'`);
    return row ? Number(row.value) : 0;
  }

  async findApiKeyByHash(hash: string): Promise<ApiKeyRecord | null> {
    const row = await this.connection.row<KeyRow>('SELECT * FROM api_keys WHERE hash = $1', [hash]);
    return row ? toKey(row) : null;
  }

  async hasApiKeys(): Promise<boolean> {
    return (await this.connection.row('SELECT 1 FROM api_keys LIMIT 1')) !== undefined;
  }

  async updateApiKey(id: string, change: { disabled?: boolean; limits?: Partial<KeyLimits>; callbackUrl?: string | null }): Promise<ApiKeyRecord | null> {
    const found = await this.connection.transaction(async (tx) => {
      if (!(await tx.row('SELECT 1 FROM api_keys WHERE id = $1 FOR NO KEY UPDATE', [id]))) return false;
      if (change.disabled !== undefined) await tx.run('UPDATE api_keys SET disabled = $2 WHERE id = $1', [id, change.disabled ? 1 : 0]);
      if (change.limits) await this.setLimits(tx, id, change.limits);
      if (change.callbackUrl !== undefined) await tx.run('UPDATE api_keys SET callback_url = $2 WHERE id = $1', [id, change.callbackUrl]);
      await keysChanged(tx, this.connection.keysVersion);
      return true;
    });
    return found ? this.getApiKey(id) : null;
  }

  async setApiKeyDisabled(id: string, disabled: boolean): Promise<boolean> {
    return this.connection.transaction(async (tx) => {
      if ((await tx.run('UPDATE api_keys SET disabled = $2 WHERE id = $1', [id, disabled ? 1 : 0])) !== 1) return false;
      await keysChanged(tx, this.connection.keysVersion);
      return true;
    });
  }
}
