export interface Account {
  id: string;
  name: string;
  unlimited: boolean;
  /** Spendable money; stays 0 and unused for unlimited accounts. Never negative. */
  balanceMicros: number;
  /** Net charges so far (reservations minus refunds). */
  spentMicros: number;
  createdAt: number;
  /** Its API keys, disabled ones included. */
  keyCount: number;
}

/** An account as it is opened: nothing spent, no keys yet. */
export type NewAccount = Omit<Account, 'spentMicros' | 'keyCount'>;

export interface KeyLimits {
  /** Most this key may spend in all; null = only the account balance limits it. */
  spendCapMicros: number | null;
  /** Requests per minute; null = the service default. */
  rpmLimit: number | null;
  /** Unfinished tasks at once; null = the service default. */
  inFlightLimit: number | null;
}

export interface ApiKeyRecord {
  id: string;
  accountId: string;
  /** sha256 of the secret, hex; the secret itself is never stored. */
  hash: string;
  prefix: string;
  name: string;
  disabled: boolean;
  createdAt: number;
  limits: KeyLimits;
  spentMicros: number;
  /** Its tasks that are pending or processing now. */
  inFlight: number;
  /** Default callback URL of its tasks that name none. */
  callbackUrl?: string | null;
  /**
   * Unix ms of the last task submitted with this key (null: none yet), computed from its tasks when
   * read by `getApiKey` and `listApiKeys`; absent where the key is looked up to authenticate a request.
   */
  lastUsedAt?: number | null;
}

export type LedgerKind = 'topup' | 'reserve' | 'settle' | 'refund';

/** One movement of money. Amounts are signed: a reservation is negative, a refund positive. */
export interface LedgerEntry {
  id: number;
  accountId: string;
  keyId: string | null;
  taskId: string | null;
  kind: LedgerKind;
  amountMicros: number;
  /** null for unlimited accounts, whose balance is not tracked. */
  balanceAfterMicros: number | null;
  note: string | null;
  createdAt: number;
}

/** Accounts, their API keys and the ledger of their money. */
export interface AccountStore {
  createAccount(account: NewAccount): Promise<void>;
  getAccount(id: string): Promise<Account | null>;
  listAccounts(limit: number, after?: string): Promise<Account[]>;
  /** Adds money (a positive amount) with a ledger row; returns the new balance. */
  topUp(accountId: string, amountMicros: number, note: string | null, now: number): Promise<number>;
  /**
   * The account's ledger by id, oldest first (`asc`, the default) or newest first (`desc`). `afterId`
   * is an exclusive cursor that follows the order: ids above it for `asc`, below it for `desc`.
   */
  listLedger(accountId: string, limit: number, afterId?: number, order?: 'asc' | 'desc'): Promise<LedgerEntry[]>;
  createApiKey(key: Omit<ApiKeyRecord, 'spentMicros' | 'inFlight' | 'lastUsedAt'>): Promise<void>;
  getApiKey(id: string): Promise<ApiKeyRecord | null>;
  listApiKeys(accountId: string): Promise<ApiKeyRecord[]>;
  updateApiKeyLimits(id: string, limits: Partial<KeyLimits>): Promise<boolean>;
  findApiKeyByHash(hash: string): Promise<ApiKeyRecord | null>;
  /** Rises with every change to a key's status or limits, by any process: caches of keys compare it. */
  keysVersion(): Promise<number>;
  hasApiKeys(): Promise<boolean>;
  setApiKeyDisabled(id: string, disabled: boolean): Promise<boolean>;
  /** Changes a key's status, limits and default callback URL together, all or nothing; null when there is no such key. */
  updateApiKey(id: string, change: { disabled?: boolean; limits?: Partial<KeyLimits>; callbackUrl?: string | null }): Promise<ApiKeyRecord | null>;
}
