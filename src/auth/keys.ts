import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ulid } from 'ulid';
import type { ApiKeyRecord, KeyLimits, Store } from '../store/types.js';
import { openAccount } from '../billing/accounts.js';

const KEY_PREFIX = 'sk-vg-';

/** 32 random bytes: a key cannot be guessed, so a plain sha256 is a safe way to store it. */
export function generateApiKey(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64url');
}

export function hashApiKey(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** The lookup is by hash; the final comparison is constant-time so no prefix of a hash leaks through timing. */
export async function authenticate(store: Store, secret: string): Promise<ApiKeyRecord | null> {
  const hash = hashApiKey(secret);
  const record = await store.findApiKeyByHash(hash);
  if (!record || record.disabled) return null;
  const same = timingSafeEqual(Buffer.from(record.hash, 'hex'), Buffer.from(hash, 'hex'));
  return same ? record : null;
}

export interface CreatedKey {
  secret: string;
  key: ApiKeyRecord;
}

export async function createAccountWithKey(
  store: Store,
  opts: { name: string; balanceUsd?: number; secret?: string; now?: number },
): Promise<CreatedKey> {
  const now = opts.now ?? Date.now();
  const account = await openAccount(store, { name: opts.name, balanceUsd: opts.balanceUsd, now });
  return addKey(store, account.id, { name: opts.name, secret: opts.secret, now });
}

const NO_LIMITS: KeyLimits = { spendCapMicros: null, rpmLimit: null, inFlightLimit: null };

export async function addKey(
  store: Store,
  accountId: string,
  opts: { name: string; secret?: string; now?: number; limits?: Partial<KeyLimits> },
): Promise<CreatedKey> {
  const secret = opts.secret ?? generateApiKey();
  const key: Omit<ApiKeyRecord, 'spentMicros'> = {
    id: `key_${ulid()}`,
    accountId,
    hash: hashApiKey(secret),
    prefix: secret.slice(0, Math.min(10, secret.length)),
    name: opts.name,
    disabled: false,
    createdAt: opts.now ?? Date.now(),
    limits: { ...NO_LIMITS, ...opts.limits },
  };
  await store.createApiKey(key);
  return { secret, key: { ...key, spentMicros: 0 } };
}

/**
 * VIDGATE_BOOTSTRAP_KEY: make sure an account answers to this key. Returns null when it already exists.
 */
export async function ensureBootstrapKey(store: Store, secret: string, balanceUsd: number | undefined): Promise<CreatedKey | null> {
  if (await store.findApiKeyByHash(hashApiKey(secret))) return null;
  return createAccountWithKey(store, { name: 'bootstrap', balanceUsd, secret });
}
