import { z } from 'zod';
import { microsToUsd } from '../../contract/prices.js';
import type { Account, ApiKeyRecord, LedgerEntry } from '../../store/types.js';

export const AccountView = z
  .object({
    id: z.string(),
    name: z.string(),
    unlimited: z.boolean(),
    balance: z.number().meta({ description: 'USD; 0 for unlimited accounts' }),
    spent: z.number().meta({ description: 'USD charged so far, net: reservations minus what settlements and refunds gave back' }),
    key_count: z.number().int().meta({ description: 'its API keys, disabled ones included' }),
    created_at: z.number().int(),
  })
  .meta({ id: 'AdminAccount' });

export const KeyView = z
  .object({
    id: z.string(),
    account_id: z.string(),
    name: z.string(),
    prefix: z.string(),
    disabled: z.boolean(),
    spend_cap: z.number().nullable(),
    rpm_limit: z.number().int().nullable(),
    in_flight_limit: z.number().int().nullable(),
    spent: z.number(),
    in_flight: z.number().int().meta({ description: 'tasks pending or processing now' }),
    callback_url: z.string().nullable().meta({ description: 'default webhook URL of its tasks' }),
    created_at: z.number().int(),
    last_used_at: z.number().int().nullable().meta({ description: 'unix seconds: the last task submitted with this key; null when none was' }),
  })
  .meta({ id: 'AdminKey' });

export const LedgerView = z
  .object({
    id: z.number().int(),
    kind: z.enum(['topup', 'reserve', 'settle', 'refund']),
    amount: z.number(),
    balance_after: z.number().nullable(),
    task_id: z.string().nullable(),
    key_id: z.string().nullable(),
    note: z.string().nullable(),
    created_at: z.number().int(),
  })
  .meta({ id: 'AdminLedgerEntry' });

const unix = (ms: number) => Math.floor(ms / 1000);

export const accountView = (a: Account): z.infer<typeof AccountView> => ({
  id: a.id,
  name: a.name,
  unlimited: a.unlimited,
  balance: microsToUsd(a.balanceMicros),
  spent: microsToUsd(a.spentMicros),
  key_count: a.keyCount,
  created_at: unix(a.createdAt),
});

export const keyView = (k: ApiKeyRecord): z.infer<typeof KeyView> => ({
  id: k.id,
  account_id: k.accountId,
  name: k.name,
  prefix: k.prefix,
  disabled: k.disabled,
  spend_cap: k.limits.spendCapMicros === null ? null : microsToUsd(k.limits.spendCapMicros),
  rpm_limit: k.limits.rpmLimit,
  in_flight_limit: k.limits.inFlightLimit,
  spent: microsToUsd(k.spentMicros),
  in_flight: k.inFlight,
  callback_url: k.callbackUrl ?? null,
  created_at: unix(k.createdAt),
  last_used_at: k.lastUsedAt == null ? null : unix(k.lastUsedAt),
});

export const ledgerView = (e: LedgerEntry): z.infer<typeof LedgerView> => ({
  id: e.id,
  kind: e.kind,
  amount: microsToUsd(e.amountMicros),
  balance_after: e.balanceAfterMicros === null ? null : microsToUsd(e.balanceAfterMicros),
  task_id: e.taskId,
  key_id: e.keyId,
  note: e.note,
  created_at: unix(e.createdAt),
});
