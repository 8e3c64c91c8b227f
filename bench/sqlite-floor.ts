/**
 * Same-work floors for the SQLite HTTP rows of `npm run bench` (issue 17): bare Fastify 5 routes (no
 * logging, no schemas, no hooks) that do on the database what vidgate's route must do, with the same
 * better-sqlite3 driver, the same schema and pragmas (the file is opened with src/'s own
 * `SqliteConnection`: WAL, synchronous NORMAL, wal_autocheckpoint 0 and its checkpoint thread).
 *
 * - Status: sha256 of the bearer secret, `SELECT * FROM api_keys WHERE hash = ?`, a disabled check,
 *   `SELECT * FROM tasks WHERE id = ?`, an owner check, the row serialised with its request parsed.
 *   It reads the very file (same key row, same task row) the vidgate status server reads.
 * - Submit: the same key lookup, a minimal body check (model and prompt are strings), then
 *   `SqliteTaskQueue.submitOne` + `LedgerWriter.move` statement for statement, text for text: in a
 *   savepoint, account and key rows read, the in-flight / cap / balance checks, INSERT task
 *   RETURNING *, UPDATE api_keys in_flight, INSERT ledger, UPDATE accounts RETURNING, UPDATE api_keys
 *   spent (the balance-after UPDATE is skipped by both: the bench account is unlimited). vidgate
 *   group-commits the submits that arrive in one turn of the event loop (GroupCommit, one IMMEDIATE
 *   transaction, a savepoint each); the floor does too (`grouped`), or commits each on its own.
 */
import { createHash } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { ensureBootstrapKey } from '../src/auth/keys.js';
import { newUlid } from '../src/contract/ids.js';
import { SqliteConnection } from '../src/store/sqlite/connection.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';

export interface Floor {
  base: string;
  /** The Fastify instance (profiling injects into it without sockets). */
  server: FastifyInstance;
  close: () => Promise<void>;
}

/** The floor submit's price: a fixed reservation (vidgate's PriceBook gives seed case 1 about this). */
const FLOOR_COST_MICROS = 250_000;

/** A fresh database file with vidgate's schema and the bench key, written through src/ as vidgate's start does. */
export async function preparedSqliteFile(file: string, apiKey: string): Promise<void> {
  const store = new SqliteStore(file);
  try {
    await ensureBootstrapKey(store, apiKey, undefined);
  } finally {
    await store.close();
  }
}

interface KeyRow {
  id: string;
  account_id: string;
  hash: string;
  disabled: number;
  in_flight: number;
  in_flight_limit: number | null;
  spend_cap_micros: number | null;
  spent_micros: number;
}

/** A bare Fastify server on `file` with the two floor routes. */
export async function startSqliteFloor(file: string, opts: { grouped: boolean; inFlightLimit: number; backlog?: number }): Promise<Floor> {
  const connection = new SqliteConnection(file);
  const db = connection.db;
  // Text for text the statements of SqliteAccounts.findApiKeyByHash, SqliteTaskQueue and LedgerWriter.
  const s = {
    keyByHash: db.prepare('SELECT * FROM api_keys WHERE hash = ?'),
    getTask: db.prepare('SELECT * FROM tasks WHERE id = ?'),
    getAccount: db.prepare('SELECT * FROM accounts WHERE id = ?'),
    getKey: db.prepare('SELECT * FROM api_keys WHERE id = ?'),
    enterFlight: db.prepare('UPDATE api_keys SET in_flight = in_flight + 1 WHERE id = ?'),
    insertTask: db.prepare(`
        INSERT INTO tasks (id, account_id, key_id, status, model, request, seed, provider, estimated_seconds, cost_micros, reserved_micros, created_at, callback_url)
        VALUES (@id, @accountId, @keyId, 'pending', @model, @request, @seed, @provider, @estimatedSeconds, @costMicros, @costMicros, @createdAt, @callbackUrl)
        RETURNING *`),
    insertLedger: db.prepare(`
        INSERT INTO ledger (account_id, key_id, task_id, kind, amount_micros, balance_after_micros, note, created_at)
        VALUES (@accountId, @keyId, @taskId, @kind, @amountMicros, @balanceAfter, @note, @now)
        ON CONFLICT DO NOTHING`),
    updateAccount: db.prepare(`
        UPDATE accounts
        SET balance_micros = CASE WHEN unlimited = 1 THEN balance_micros ELSE balance_micros + @amountMicros END,
            spent_micros = spent_micros + @spentDelta
        WHERE id = @accountId
        RETURNING unlimited, balance_micros AS balance`),
    keySpent: db.prepare('UPDATE api_keys SET spent_micros = spent_micros + @spentDelta WHERE id = @keyId'),
    fixBalanceAfter: db.prepare('UPDATE ledger SET balance_after_micros = ? WHERE id = ?'),
  };

  const authenticate = (header: string | undefined): KeyRow | null => {
    const secret = /^Bearer (.+)$/.exec(header ?? '')?.[1];
    if (!secret) return null;
    const hash = createHash('sha256').update(secret, 'utf8').digest('hex');
    const key = s.keyByHash.get(hash) as KeyRow | undefined;
    return key && !key.disabled ? key : null;
  };

  type Submit = { key: KeyRow; body: Record<string, unknown> };
  type Outcome = { id: string } | { refused: string };
  const submitOne = db.transaction(({ key, body }: Submit): Outcome => {
    const now = Date.now();
    const id = `task_${newUlid(now)}`;
    const account = s.getAccount.get(key.account_id) as { id: string; unlimited: number; balance_micros: number };
    const k = s.getKey.get(key.id) as KeyRow;
    if (k.in_flight >= (k.in_flight_limit ?? opts.inFlightLimit)) return { refused: 'too_many_in_flight' };
    if (k.spend_cap_micros !== null && k.spent_micros + FLOOR_COST_MICROS > k.spend_cap_micros) return { refused: 'key_cap_reached' };
    if (account.unlimited !== 1 && account.balance_micros < FLOOR_COST_MICROS) return { refused: 'insufficient_balance' };
    s.insertTask.get({
      id,
      accountId: account.id,
      keyId: key.id,
      model: body.model,
      request: JSON.stringify(body),
      seed: 1,
      provider: 'local',
      estimatedSeconds: 5,
      costMicros: FLOOR_COST_MICROS,
      createdAt: now,
      callbackUrl: null,
    });
    s.enterFlight.run(key.id);
    const inserted = s.insertLedger.run({
      accountId: account.id,
      keyId: key.id,
      taskId: id,
      kind: 'reserve',
      amountMicros: -FLOOR_COST_MICROS,
      balanceAfter: null,
      note: null,
      now,
    });
    if (inserted.changes === 1) {
      const moved = s.updateAccount.get({ accountId: account.id, amountMicros: -FLOOR_COST_MICROS, spentDelta: FLOOR_COST_MICROS }) as {
        unlimited: number;
        balance: number;
      };
      s.keySpent.run({ keyId: key.id, spentDelta: FLOOR_COST_MICROS });
      if (moved.unlimited === 0) s.fixBalanceAfter.run(moved.balance, inserted.lastInsertRowid);
    }
    return { id };
  });

  // GroupCommit as src/store/sqlite/group-commit.ts does it: what arrives in one turn shares one
  // IMMEDIATE transaction, each submit in its own savepoint (the nested transaction above).
  const waiting: Array<{ item: Submit; resolve: (o: Outcome) => void; reject: (e: unknown) => void }> = [];
  const flush = () => {
    const batch = waiting.splice(0);
    const outcomes: Array<{ ok: true; value: Outcome } | { ok: false; error: unknown }> = [];
    try {
      db.transaction(() => {
        for (const w of batch) {
          try {
            outcomes.push({ ok: true, value: submitOne(w.item) });
          } catch (error) {
            outcomes.push({ ok: false, error });
          }
        }
      }).immediate();
    } catch (error) {
      for (const w of batch) w.reject(error);
      return;
    }
    batch.forEach((w, i) => {
      const o = outcomes[i]!;
      if (o.ok) w.resolve(o.value);
      else w.reject(o.error);
    });
  };
  const submit = (item: Submit): Promise<Outcome> =>
    opts.grouped
      ? new Promise((resolve, reject) => {
          waiting.push({ item, resolve, reject });
          if (waiting.length === 1) setImmediate(flush);
        })
      : Promise.resolve(submitOne.immediate(item));

  const server = Fastify({ logger: false });
  server.get<{ Params: { id: string } }>('/v1/tasks/:id', async (req, reply) => {
    const key = authenticate(req.headers.authorization);
    if (!key) return reply.code(401).send({ code: 401 });
    const row = s.getTask.get(req.params.id) as (Record<string, unknown> & { account_id: string; request: string }) | undefined;
    if (!row || row.account_id !== key.account_id) return reply.code(404).send({ code: 404 });
    return { code: 200, data: { ...row, request: JSON.parse(row.request) } };
  });
  server.post<{ Body: Record<string, unknown> | undefined }>('/v1/videos/generations', async (req, reply) => {
    const key = authenticate(req.headers.authorization);
    if (!key) return reply.code(401).send({ code: 401 });
    const body = req.body;
    if (typeof body?.model !== 'string' || typeof body.prompt !== 'string') return reply.code(400).send({ code: 400 });
    const outcome = await submit({ key, body });
    if ('refused' in outcome) return reply.code(402).send({ code: 402, error: outcome.refused });
    return { code: 200, data: [{ status: 'submitted', task_id: outcome.id }] };
  });
  await server.listen({ host: '127.0.0.1', port: 0, ...(opts.backlog ? { backlog: opts.backlog } : {}) });
  const address = server.server.address();
  if (!address || typeof address === 'string') throw new Error('SQLite floor did not bind a TCP port');
  return {
    base: `http://127.0.0.1:${address.port}`,
    server,
    close: async () => {
      await server.close();
      await connection.close();
    },
  };
}
