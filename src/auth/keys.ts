import * as crypto from 'node:crypto';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { newUlid } from '../contract/ids.js';
import { usdToMicros } from '../contract/prices.js';
import type { AccountStore, ApiKeyRecord, KeyLimits } from '../store/types.js';
import { openAccount } from '../billing/accounts.js';

const KEY_PREFIX = 'sk-vg-';

/** 32 random bytes: a key cannot be guessed, so a plain sha256 is a safe way to store it. */
export function generateApiKey(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64url');
}

/** Node's one-shot `crypto.hash` (20.12+) hashes a short string in well under half the time of a Hash object. */
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;

export function hashApiKey(secret: string): string {
  // Both hash the UTF-8 bytes of the string: the same digest either way.
  return oneShot ? oneShot('sha256', secret, 'hex') : createHash('sha256').update(secret, 'utf8').digest('hex');
}

/**
 * Recently accepted keys, so a polling client does not cost a key lookup per request. Each entry
 * holds the store's keys version it was read at; any change to any key, by any process (the CLI,
 * another instance), raises that version, so a disabled key is refused on its very next request.
 */
export class KeyCache {
  private readonly entries = new Map<string, { key: ApiKeyRecord; until: number; version: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  get(hash: string, now: number, version: number): ApiKeyRecord | undefined {
    const entry = this.entries.get(hash);
    if (entry && entry.until > now && entry.version === version) return entry.key;
    if (entry) this.entries.delete(hash);
    return undefined;
  }

  set(key: ApiKeyRecord, now: number, version: number): void {
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    this.entries.set(key.hash, { key, until: now + this.ttlMs, version });
  }

  clear(): void {
    this.entries.clear();
  }
}

/** The lookup is by hash; the final comparison is constant-time so no prefix of a hash leaks through timing. */
export async function authenticate(store: AccountStore, secret: string, cache?: KeyCache, now = Date.now()): Promise<ApiKeyRecord | null> {
  const hash = hashApiKey(secret);
  // Read before the key, so a change landing in between makes the entry stale rather than lasting.
  const version = cache ? await store.keysVersion() : 0;
  const record = cache?.get(hash, now, version) ?? (await store.findApiKeyByHash(hash));
  if (!record || record.disabled) return null;
  if (!timingSafeEqual(Buffer.from(record.hash, 'hex'), Buffer.from(hash, 'hex'))) return null;
  cache?.set(record, now, version);
  return record;
}

export interface CreatedKey {
  secret: string;
  key: ApiKeyRecord;
}

export async function createAccountWithKey(
  store: AccountStore,
  opts: { name: string; balanceUsd?: number; secret?: string; now?: number },
): Promise<CreatedKey> {
  const now = opts.now ?? Date.now();
  const account = await openAccount(store, { name: opts.name, balanceUsd: opts.balanceUsd, now });
  return addKey(store, account.id, { name: opts.name, secret: opts.secret, now });
}

const NO_LIMITS: KeyLimits = { spendCapMicros: null, rpmLimit: null, inFlightLimit: null };

export async function addKey(
  store: AccountStore,
  accountId: string,
  opts: { name: string; secret?: string; now?: number; limits?: Partial<KeyLimits> /** Default webhook URL of its tasks. */; callbackUrl?: string | null },
): Promise<CreatedKey> {
  const secret = opts.secret ?? generateApiKey();
  const key: Omit<ApiKeyRecord, 'spentMicros' | 'inFlight'> = {
    id: `key_${newUlid()}`,
    accountId,
    hash: hashApiKey(secret),
    prefix: secret.slice(0, Math.min(10, secret.length)),
    name: opts.name,
    disabled: false,
    createdAt: opts.now ?? Date.now(),
    limits: { ...NO_LIMITS, ...opts.limits },
    callbackUrl: opts.callbackUrl ?? null,
  };
  await store.createApiKey(key);
  return { secret, key: { ...key, spentMicros: 0, inFlight: 0 } };
}

/**
 * VIDGATE_BOOTSTRAP_KEY: make sure an account answers to this key. Returns null when it already exists.
 *
 * Instances sharing a database start together with the same key: the account's id is derived from
 * the key, so they all aim at one account (its opening balance is written with it, once) and one
 * key, and the one that loses a race to create either finds the winner's row instead of failing.
 */
export async function ensureBootstrapKey(store: AccountStore, secret: string, balanceUsd: number | undefined, now = Date.now()): Promise<CreatedKey | null> {
  const hash = hashApiKey(secret);
  if (await store.findApiKeyByHash(hash)) return null;
  const id = `acct_bootstrap_${createHash('sha256').update(`bootstrap account of ${hash}`).digest('hex').slice(0, 20)}`;
  if (!(await store.getAccount(id))) {
    const unlimited = balanceUsd === undefined;
    try {
      await store.createAccount({ id, name: 'bootstrap', unlimited, balanceMicros: unlimited ? 0 : usdToMicros(balanceUsd), createdAt: now });
    } catch (err) {
      if (!(await store.getAccount(id))) throw err;
    }
  }
  try {
    return await addKey(store, id, { name: 'bootstrap', secret, now });
  } catch (err) {
    if (await store.findApiKeyByHash(hash)) return null;
    throw err;
  }
}
