import type Database from 'better-sqlite3';
import { spentDelta } from '../../billing/money-rules.js';
import type { Movement } from '../sql/ledger-row.js';

/**
 * Every change of a balance goes through `move`, inside the caller's transaction: the ledger row,
 * the account and the key change together or not at all. Unlimited accounts keep their balance
 * untouched but still get ledger rows, so their usage is on record.
 */
export class LedgerWriter {
  private readonly s;

  constructor(db: Database.Database) {
    this.s = {
      insert: db.prepare(`
        INSERT INTO ledger (account_id, key_id, task_id, kind, amount_micros, balance_after_micros, note, created_at)
        VALUES (@accountId, @keyId, @taskId, @kind, @amountMicros, @balanceAfter, @note, @now)
        ON CONFLICT DO NOTHING`),
      account: db.prepare(`
        UPDATE accounts
        SET balance_micros = CASE WHEN unlimited = 1 THEN balance_micros ELSE balance_micros + @amountMicros END,
            spent_micros = spent_micros + @spentDelta
        WHERE id = @accountId
        RETURNING unlimited, balance_micros AS balance`),
      key: db.prepare('UPDATE api_keys SET spent_micros = spent_micros + @spentDelta WHERE id = @keyId'),
      fixBalanceAfter: db.prepare('UPDATE ledger SET balance_after_micros = ? WHERE id = ?'),
    };
  }

  /** Returns false (and changes nothing) when this task already had a movement of this kind. */
  move(m: Movement): boolean {
    const inserted = this.s.insert.run({ ...m, balanceAfter: null });
    if (inserted.changes === 0) return false;
    const spent = spentDelta(m.kind, m.amountMicros);
    const row = this.s.account.get({ accountId: m.accountId, amountMicros: m.amountMicros, spentDelta: spent }) as
      | { unlimited: number; balance: number }
      | undefined;
    if (!row) throw new Error(`account ${m.accountId} does not exist`);
    if (m.keyId && spent !== 0) this.s.key.run({ keyId: m.keyId, spentDelta: spent });
    if (row.unlimited === 0) this.s.fixBalanceAfter.run(row.balance, inserted.lastInsertRowid);
    return true;
  }
}
