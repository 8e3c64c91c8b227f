import type { LedgerKind, NewAccount } from '../store/account-store.js';
import type { Movement } from '../store/sql/ledger-row.js';
import type { SubmitOutcome, TaskStatus } from '../store/task-queue-store.js';

/**
 * The money rules every store applies inside its own transactions, so that SQLite and PostgreSQL
 * cannot disagree about what a task may cost: the SQL only reads and writes what these decide.
 */

export interface SubmitFunds {
  account: { unlimited: boolean; balanceMicros: number };
  key: { inFlight: number; spendCapMicros: number | null; spentMicros: number };
  costMicros: number;
  inFlightLimit: number;
}

/** Why a submit must be refused (nothing written), or null when the key and the balance allow it. */
export function submitRefusal({
  account,
  key,
  costMicros,
  inFlightLimit,
}: SubmitFunds): Exclude<SubmitOutcome, { kind: 'created' | 'replayed' | 'idempotency_conflict' }> | null {
  if (key.inFlight >= inFlightLimit) return { kind: 'too_many_in_flight', limit: inFlightLimit };
  if (key.spendCapMicros !== null && key.spentMicros + costMicros > key.spendCapMicros) {
    return { kind: 'key_cap_reached', remainingMicros: Math.max(0, key.spendCapMicros - key.spentMicros) };
  }
  if (!account.unlimited && account.balanceMicros < costMicros) return { kind: 'insufficient_balance', balanceMicros: account.balanceMicros };
  return null;
}

/**
 * What a completed task finally costs and how much of its reservation goes back. Never more than
 * was reserved: the reservation is the price the client agreed to.
 */
export function settlement(reservedMicros: number, finalCostMicros: number): { costMicros: number; giveBackMicros: number } {
  const costMicros = Math.min(Math.max(0, Math.round(finalCostMicros)), reservedMicros);
  return { costMicros, giveBackMicros: reservedMicros - costMicros };
}

/**
 * What the operator keeps of a completed task: the price it settled to minus its upstream cost
 * (README: Configuration, `cost`); null when its channel declares no cost for it. May be negative.
 */
export function margin(settledCostMicros: number, upstreamCostMicros: number | null): number | null {
  return upstreamCostMicros === null ? null : settledCostMicros - upstreamCostMicros;
}

/**
 * What a refund may still give back: nothing for a completed task (it was settled) or one already
 * refunded (its cost is 0); the ledger's once-per-task-and-kind constraint makes a second refund a no-op.
 */
export function refundableMicros(task: { status: TaskStatus; reservedMicros: number }): number {
  return task.status === 'completed' ? 0 : task.reservedMicros;
}

/** How a movement changes "spent": top-ups are not spending; everything else moves opposite to the balance. */
export function spentDelta(kind: LedgerKind, amountMicros: number): number {
  return kind === 'topup' ? 0 : -amountMicros;
}

/** A new account's balance arrives as a top-up, so its ledger adds up from the first row; unlimited accounts have none. */
export function openingBalance(account: NewAccount): Movement | null {
  if (account.unlimited || account.balanceMicros <= 0) return null;
  return {
    accountId: account.id,
    keyId: null,
    taskId: null,
    kind: 'topup',
    amountMicros: account.balanceMicros,
    note: 'opening balance',
    now: account.createdAt,
  };
}
