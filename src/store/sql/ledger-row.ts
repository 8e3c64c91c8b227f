import type { LedgerEntry, LedgerKind } from '../account-store.js';

export interface LedgerRow {
  id: number;
  account_id: string;
  key_id: string | null;
  task_id: string | null;
  kind: LedgerKind;
  amount_micros: number;
  balance_after_micros: number | null;
  note: string | null;
  created_at: number;
}

export const toLedgerEntry = (r: LedgerRow): LedgerEntry => ({
  id: r.id,
  accountId: r.account_id,
  keyId: r.key_id,
  taskId: r.task_id,
  kind: r.kind,
  amountMicros: r.amount_micros,
  balanceAfterMicros: r.balance_after_micros,
  note: r.note,
  createdAt: r.created_at,
});

/** One movement of money as the stores' ledger writers take it. */
export interface Movement {
  accountId: string;
  keyId: string | null;
  taskId: string | null;
  kind: LedgerKind;
  /** Signed: negative takes money from the balance. */
  amountMicros: number;
  note: string | null;
  now: number;
}
