import { spentDelta } from '../../billing/money-rules.js';
import type { Movement } from '../sql/ledger-row.js';
import type { PgQueries } from './connection.js';

/**
 * Every change of a balance, inside the caller's transaction: the ledger row, the account and the
 * key change together or not at all. The account row is updated (so locked) before anything reads
 * its balance for a decision, which keeps balances exact when several processes move money at once.
 */
export class PgLedgerWriter {
  /** Returns false (and changes nothing) when this task already had a movement of this kind. */
  async move(tx: PgQueries, m: Movement): Promise<boolean> {
    // ON CONFLICT without a target covers the partial unique index: a concurrent duplicate waits for
    // the first to commit, then inserts nothing.
    const inserted = await tx.row<{ id: number }>(
      `INSERT INTO ledger (account_id, key_id, task_id, kind, amount_micros, balance_after_micros, note, created_at)
       VALUES ($1, $2, $3, $4, $5, NULL, $6, $7) ON CONFLICT DO NOTHING RETURNING id`,
      [m.accountId, m.keyId, m.taskId, m.kind, m.amountMicros, m.note, m.now],
    );
    if (!inserted) return false;
    // The balances and the row's balance-after in one statement: the account's UPDATE locks its row
    // and returns the balance the ledger row records.
    const spent = spentDelta(m.kind, m.amountMicros);
    const account = await tx.row<{ unlimited: number }>(
      `WITH account AS (
         UPDATE accounts SET balance_micros = CASE WHEN unlimited = 1 THEN balance_micros ELSE balance_micros + $2 END,
           spent_micros = spent_micros + $3
         WHERE id = $1 RETURNING unlimited, balance_micros),
       -- Reading the account's result makes its UPDATE (and lock) come first: the order every
       -- transaction takes them in (sibling statements of a WITH otherwise run in no set order).
       key AS (UPDATE api_keys SET spent_micros = spent_micros + $3 WHERE id = $4 AND $3::bigint <> 0 AND EXISTS (SELECT 1 FROM account)),
       recorded AS (UPDATE ledger SET balance_after_micros = account.balance_micros FROM account WHERE ledger.id = $5 AND account.unlimited = 0)
       SELECT unlimited FROM account`,
      [m.accountId, m.amountMicros, spent, m.keyId, inserted.id],
    );
    if (!account) throw new Error(`account ${m.accountId} does not exist`);
    return true;
  }
}
