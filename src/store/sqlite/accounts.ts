import { openingBalance } from '../../billing/money-rules.js';
import type { Account, AccountStore, ApiKeyRecord, KeyLimits, LedgerEntry, NewAccount } from '../account-store.js';
import { ACCOUNT_COLUMNS, type AccountRow, KEY_COLUMNS, type KeyRow, LIMIT_COLUMNS, toAccount, toKey } from '../sql/account-rows.js';
import type { SqliteConnection } from './connection.js';
import { type LedgerRow, toLedgerEntry } from '../sql/ledger-row.js';
import type { LedgerWriter } from './ledger-writer.js';

/** Accounts, keys and the ledger; money moves only through the shared `LedgerWriter`. */
export class SqliteAccounts implements AccountStore {
  private readonly s;

  constructor(
    private readonly connection: SqliteConnection,
    private readonly money: LedgerWriter,
  ) {
    const db = connection.db;
    this.s = {
      insertAccount: db.prepare(
        'INSERT INTO accounts (id, name, unlimited, balance_micros, created_at) VALUES (@id, @name, @unlimited, @balanceMicros, @createdAt)',
      ),
      getAccount: db.prepare(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE id = ?`),
      balance: db.prepare('SELECT balance_micros FROM accounts WHERE id = ?').pluck(),
      listAccounts: db.prepare(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE id > @after ORDER BY id LIMIT @limit`),
      ledger: db.prepare('SELECT * FROM ledger WHERE account_id = @accountId AND id > @after ORDER BY id LIMIT @limit'),
      ledgerDesc: db.prepare('SELECT * FROM ledger WHERE account_id = @accountId AND id < @before ORDER BY id DESC LIMIT @limit'),
      insertKey: db.prepare(`
        INSERT INTO api_keys (id, account_id, hash, prefix, name, disabled, created_at, spend_cap_micros, rpm_limit, in_flight_limit, callback_url)
        VALUES (@id, @accountId, @hash, @prefix, @name, @disabled, @createdAt, @spendCapMicros, @rpmLimit, @inFlightLimit, @callbackUrl)`),
      getKey: db.prepare(`SELECT ${KEY_COLUMNS} FROM api_keys WHERE id = ?`),
      keysOf: db.prepare(`SELECT ${KEY_COLUMNS} FROM api_keys WHERE account_id = ? ORDER BY id`),
      keyByHash: db.prepare('SELECT * FROM api_keys WHERE hash = ?'),
      keysVersion: db.prepare(`SELECT CAST(value AS INTEGER) FROM settings WHERE name = 'keys_version'`).pluck(),
      anyKey: db.prepare('SELECT 1 FROM api_keys LIMIT 1').pluck(),
      disableKey: db.prepare('UPDATE api_keys SET disabled = ? WHERE id = ?'),
    };
  }

  async createAccount(account: NewAccount): Promise<void> {
    this.connection.writeTransaction(() => {
      this.s.insertAccount.run({ ...account, unlimited: account.unlimited ? 1 : 0, balanceMicros: 0 });
      const opening = openingBalance(account);
      if (opening) this.money.move(opening);
    });
  }

  async getAccount(id: string): Promise<Account | null> {
    const row = this.s.getAccount.get(id) as AccountRow | undefined;
    return row ? toAccount(row) : null;
  }

  async listAccounts(limit: number, after = ''): Promise<Account[]> {
    return (this.s.listAccounts.all({ limit, after }) as AccountRow[]).map(toAccount);
  }

  async topUp(accountId: string, amountMicros: number, note: string | null, now: number): Promise<number> {
    if (!Number.isSafeInteger(amountMicros) || amountMicros <= 0) throw new Error('a top-up must be a positive amount');
    return this.connection.writeTransaction(() => {
      this.money.move({ accountId, keyId: null, taskId: null, kind: 'topup', amountMicros, note, now });
      return this.s.balance.get(accountId) as number;
    });
  }

  async listLedger(accountId: string, limit: number, afterId?: number, order: 'asc' | 'desc' = 'asc'): Promise<LedgerEntry[]> {
    const rows =
      order === 'asc'
        ? this.s.ledger.all({ accountId, limit, after: afterId ?? 0 })
        : this.s.ledgerDesc.all({ accountId, limit, before: afterId ?? Number.MAX_SAFE_INTEGER });
    return (rows as LedgerRow[]).map(toLedgerEntry);
  }

  async createApiKey(key: Omit<ApiKeyRecord, 'spentMicros' | 'inFlight' | 'lastUsedAt'>): Promise<void> {
    this.s.insertKey.run({ ...key, ...key.limits, disabled: key.disabled ? 1 : 0, callbackUrl: key.callbackUrl ?? null });
  }

  async getApiKey(id: string): Promise<ApiKeyRecord | null> {
    const row = this.s.getKey.get(id) as KeyRow | undefined;
    return row ? toKey(row) : null;
  }

  async listApiKeys(accountId: string): Promise<ApiKeyRecord[]> {
    return (this.s.keysOf.all(accountId) as KeyRow[]).map(toKey);
  }

  async updateApiKeyLimits(id: string, limits: Partial<KeyLimits>): Promise<boolean> {
    const set = (Object.keys(limits) as Array<keyof KeyLimits>).filter((k) => k in LIMIT_COLUMNS);
    if (set.length === 0) return (await this.getApiKey(id)) !== null;
    const sql = `UPDATE api_keys SET ${set.map((k) => `${LIMIT_COLUMNS[k]} = @${k}`).join(', ')} WHERE id = @id`;
    return this.connection.writeTransaction(() => {
      if (this.connection.statement(sql).run({ ...limits, id }).changes !== 1) return false;
      this.connection.keysChanged();
      return true;
    });
  }

  async keysVersion(): Promise<number> {
    return (this.s.keysVersion.get() as number | undefined) ?? 0;
  }

  async findApiKeyByHash(hash: string): Promise<ApiKeyRecord | null> {
    const row = this.s.keyByHash.get(hash) as KeyRow | undefined;
    return row ? toKey(row) : null;
  }

  async hasApiKeys(): Promise<boolean> {
    return this.s.anyKey.get() !== undefined;
  }

  async updateApiKey(id: string, change: { disabled?: boolean; limits?: Partial<KeyLimits>; callbackUrl?: string | null }): Promise<ApiKeyRecord | null> {
    // Synchronous statements inside one transaction: the async wrappers only return their results.
    return this.connection.writeTransaction(() => {
      if (!this.s.getKey.get(id)) return false;
      if (change.disabled !== undefined) this.s.disableKey.run(change.disabled ? 1 : 0, id);
      const set = (Object.keys(change.limits ?? {}) as Array<keyof KeyLimits>).filter((k) => k in LIMIT_COLUMNS);
      if (set.length)
        this.connection
          .statement(`UPDATE api_keys SET ${set.map((k) => `${LIMIT_COLUMNS[k]} = @${k}`).join(', ')} WHERE id = @id`)
          .run({ ...change.limits, id });
      if (change.callbackUrl !== undefined) this.connection.statement('UPDATE api_keys SET callback_url = ? WHERE id = ?').run(change.callbackUrl, id);
      this.connection.keysChanged();
      return true;
    })
      ? this.getApiKey(id)
      : null;
  }

  async setApiKeyDisabled(id: string, disabled: boolean): Promise<boolean> {
    return this.connection.writeTransaction(() => {
      if (this.s.disableKey.run(disabled ? 1 : 0, id).changes !== 1) return false;
      this.connection.keysChanged();
      return true;
    });
  }
}
