import type { Migration } from '../sql/migration.js';

/** The SQLite schema, versioned. Times are unix ms, money integer micro-USD. */

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'accounts, keys, tasks',
    sql: `
      CREATE TABLE settings (
        name  TEXT PRIMARY KEY,
        value TEXT NOT NULL
      );
      CREATE TABLE accounts (
        id             TEXT PRIMARY KEY,
        name           TEXT NOT NULL,
        unlimited      INTEGER NOT NULL,
        balance_micros INTEGER NOT NULL CHECK (balance_micros >= 0),
        created_at     INTEGER NOT NULL
      );
      CREATE TABLE api_keys (
        id         TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts(id),
        hash       TEXT NOT NULL UNIQUE,
        prefix     TEXT NOT NULL,
        name       TEXT NOT NULL,
        disabled   INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL
      );
      CREATE TABLE tasks (
        id                TEXT PRIMARY KEY,
        account_id        TEXT NOT NULL REFERENCES accounts(id),
        key_id            TEXT NOT NULL REFERENCES api_keys(id),
        status            TEXT NOT NULL CHECK (status IN ('pending','processing','completed','failed','cancelled')),
        progress          INTEGER NOT NULL DEFAULT 0,
        model             TEXT NOT NULL,
        request           TEXT NOT NULL,
        seed              INTEGER NOT NULL,
        provider          TEXT NOT NULL,
        estimated_seconds INTEGER NOT NULL,
        cost_micros       INTEGER NOT NULL,
        attempts          INTEGER NOT NULL DEFAULT 0,
        lease_owner       TEXT,
        lease_expires_at  INTEGER,
        created_at        INTEGER NOT NULL,
        started_at        INTEGER,
        finished_at       INTEGER,
        result            TEXT,
        error             TEXT,
        result_expires_at INTEGER,
        results_collected INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX tasks_by_account ON tasks (account_id, id);
      CREATE INDEX tasks_due ON tasks (provider, status, lease_expires_at) WHERE status IN ('pending', 'processing');
      CREATE INDEX tasks_results_to_collect ON tasks (result_expires_at) WHERE results_collected = 0 AND result_expires_at IS NOT NULL;
    `,
  },
  {
    version: 2,
    name: 'ledger, key limits, idempotency',
    sql: `
      ALTER TABLE accounts ADD COLUMN spent_micros INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE api_keys ADD COLUMN spend_cap_micros INTEGER;
      ALTER TABLE api_keys ADD COLUMN spent_micros INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE api_keys ADD COLUMN rpm_limit INTEGER;
      ALTER TABLE api_keys ADD COLUMN in_flight_limit INTEGER;
      ALTER TABLE tasks ADD COLUMN reserved_micros INTEGER NOT NULL DEFAULT 0;
      UPDATE tasks SET reserved_micros = cost_micros;
      CREATE TABLE ledger (
        id                   INTEGER PRIMARY KEY AUTOINCREMENT,
        account_id           TEXT NOT NULL REFERENCES accounts(id),
        key_id               TEXT REFERENCES api_keys(id),
        task_id              TEXT REFERENCES tasks(id),
        kind                 TEXT NOT NULL CHECK (kind IN ('topup', 'reserve', 'settle', 'refund')),
        amount_micros        INTEGER NOT NULL,
        balance_after_micros INTEGER,
        note                 TEXT,
        created_at           INTEGER NOT NULL
      );
      -- A task is reserved, settled and refunded at most once each, whatever retries happen.
      CREATE UNIQUE INDEX ledger_once_per_task ON ledger (task_id, kind) WHERE task_id IS NOT NULL;
      CREATE INDEX ledger_by_account ON ledger (account_id, id);
      CREATE TABLE idempotency_keys (
        account_id TEXT NOT NULL REFERENCES accounts(id),
        idem_key   TEXT NOT NULL,
        body_hash  TEXT NOT NULL,
        task_id    TEXT NOT NULL REFERENCES tasks(id),
        created_at INTEGER NOT NULL,
        PRIMARY KEY (account_id, idem_key)
      );
      CREATE INDEX tasks_in_flight_by_key ON tasks (key_id) WHERE status IN ('pending', 'processing');
    `,
  },
  {
    version: 3,
    name: 'provider state for resumable upstream tasks',
    sql: `ALTER TABLE tasks ADD COLUMN provider_state TEXT;`,
  },
  {
    version: 4,
    name: 'unfinished tasks counted per key',
    sql: `
      ALTER TABLE api_keys ADD COLUMN in_flight INTEGER NOT NULL DEFAULT 0 CHECK (in_flight >= 0);
      UPDATE api_keys SET in_flight = (
        SELECT COUNT(*) FROM tasks WHERE tasks.key_id = api_keys.id AND tasks.status IN ('pending', 'processing'));
    `,
  },
  {
    version: 5,
    name: 'assets and their reviews',
    sql: `
      CREATE TABLE asset_groups (
        id          TEXT PRIMARY KEY,
        account_id  TEXT NOT NULL REFERENCES accounts(id),
        name        TEXT NOT NULL,
        description TEXT NOT NULL,
        created_at  INTEGER NOT NULL
      );
      CREATE TABLE asset_reviews (
        id          TEXT PRIMARY KEY,
        account_id  TEXT NOT NULL REFERENCES accounts(id),
        group_id    TEXT NOT NULL REFERENCES asset_groups(id),
        status      TEXT NOT NULL CHECK (status IN ('pending', 'processing', 'completed', 'failed')),
        progress    INTEGER NOT NULL DEFAULT 0,
        created_at  INTEGER NOT NULL,
        finished_at INTEGER
      );
      CREATE INDEX asset_reviews_unfinished ON asset_reviews (status) WHERE status IN ('pending', 'processing');
      CREATE TABLE assets (
        id           TEXT PRIMARY KEY,
        account_id   TEXT NOT NULL REFERENCES accounts(id),
        group_id     TEXT NOT NULL REFERENCES asset_groups(id),
        review_id    TEXT NOT NULL REFERENCES asset_reviews(id),
        project_name TEXT NOT NULL,
        kind         TEXT NOT NULL CHECK (kind IN ('image', 'video', 'audio')),
        name         TEXT NOT NULL,
        source_url   TEXT NOT NULL,
        status       TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'failed')),
        reason       TEXT,
        file_key     TEXT,
        bytes        INTEGER,
        content_type TEXT,
        created_at   INTEGER NOT NULL,
        deleted_at   INTEGER
      );
      CREATE INDEX assets_by_account ON assets (account_id, id);
      CREATE INDEX assets_by_review ON assets (review_id);
    `,
  },
  {
    version: 6,
    name: 'webhooks: callback URLs, signing secrets, durable deliveries; run-time history index',
    sql: `
      ALTER TABLE tasks ADD COLUMN callback_url TEXT;
      ALTER TABLE api_keys ADD COLUMN callback_url TEXT;
      CREATE TABLE webhook_secrets (
        account_id     TEXT PRIMARY KEY REFERENCES accounts(id),
        secret         TEXT NOT NULL,
        previous       TEXT,
        previous_until INTEGER,
        created_at     INTEGER NOT NULL
      );
      CREATE TABLE webhook_deliveries (
        seq              INTEGER PRIMARY KEY AUTOINCREMENT,
        id               TEXT NOT NULL UNIQUE,
        account_id       TEXT NOT NULL REFERENCES accounts(id),
        task_id          TEXT NOT NULL REFERENCES tasks(id),
        event            TEXT NOT NULL,
        progress         INTEGER NOT NULL,
        cost_micros      INTEGER NOT NULL,
        url              TEXT NOT NULL,
        state            TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
        attempts         INTEGER NOT NULL DEFAULT 0,
        next_attempt_at  INTEGER,
        lease_owner      TEXT,
        lease_expires_at INTEGER,
        body             TEXT,
        last_status      INTEGER,
        last_error       TEXT,
        created_at       INTEGER NOT NULL,
        finished_at      INTEGER
      );
      CREATE UNIQUE INDEX webhook_deliveries_once ON webhook_deliveries (task_id, event);
      CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
      CREATE INDEX webhook_deliveries_by_account ON webhook_deliveries (account_id, seq);
      CREATE TABLE webhook_attempts (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        delivery_seq INTEGER NOT NULL REFERENCES webhook_deliveries(seq),
        attempt      INTEGER NOT NULL,
        started_at   INTEGER NOT NULL,
        duration_ms  INTEGER NOT NULL,
        status_code  INTEGER,
        error        TEXT,
        owner        TEXT
      );
      CREATE INDEX webhook_attempts_by_delivery ON webhook_attempts (delivery_seq, attempt);
      -- estimated_time from the last completed tasks of the same shape on the same channel.
      CREATE INDEX tasks_run_history ON tasks (provider, model, json_extract(request, '$.resolution'), json_extract(request, '$.duration'), finished_at)
        WHERE status = 'completed';
      -- The outbox: every status change a callback should hear of is queued in the very transaction
      -- that writes it, whichever code path or process makes the change. Once per task and status
      -- (a task given back to the queue and claimed again is not announced twice). The URL is the
      -- task's own callback_url, else its key's default at the time of the change.
      CREATE TRIGGER tasks_webhook_outbox AFTER UPDATE OF status ON tasks
      WHEN NEW.status <> OLD.status AND NEW.status <> 'pending'
      BEGIN
        INSERT INTO webhook_deliveries (id, account_id, task_id, event, progress, cost_micros, url, state, next_attempt_at, created_at)
        SELECT 'msg_' || lower(hex(randomblob(16))), NEW.account_id, NEW.id, NEW.status, NEW.progress, NEW.cost_micros, hook.url,
               'pending', 0, COALESCE(NEW.finished_at, NEW.started_at, CAST(unixepoch('subsec') * 1000 AS INTEGER))
        FROM (SELECT COALESCE(NEW.callback_url, (SELECT callback_url FROM api_keys WHERE id = NEW.key_id)) AS url) AS hook
        WHERE hook.url IS NOT NULL
        ON CONFLICT (task_id, event) DO NOTHING;
      END;
    `,
  },
  {
    version: 7,
    name: 'keys version: every change to what authenticates a key is counted, for caches in other processes',
    sql: `
      INSERT INTO settings (name, value) VALUES ('keys_version', '0') ON CONFLICT (name) DO NOTHING;
      -- Not the counters (in_flight, spent_micros) that every submit moves: only what decides who may call.
      CREATE TRIGGER api_keys_version AFTER UPDATE OF disabled, hash, spend_cap_micros, rpm_limit, in_flight_limit, callback_url ON api_keys
      BEGIN
        UPDATE settings SET value = CAST(value AS INTEGER) + 1 WHERE name = 'keys_version';
      END;
    `,
  },
  {
    version: 8,
    name: 'open runs: a run that never ended (the process died) makes its task a suspect, retried alone',
    sql: `
      -- 0: no run open; 1: a run open beside others; 2: a run open alone. Set when a run starts,
      -- cleared by every clean end (completed, failed, parked, handed back, moved).
      ALTER TABLE tasks ADD COLUMN open_run INTEGER NOT NULL DEFAULT 0;
      -- Runs of this task that never ended, and how many of those ran alone in their process.
      ALTER TABLE tasks ADD COLUMN interrupted_runs INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE tasks ADD COLUMN interrupted_alone INTEGER NOT NULL DEFAULT 0;
      CREATE INDEX tasks_interrupted_due ON tasks (provider, lease_expires_at)
        WHERE open_run > 0 AND status IN ('pending', 'processing');
    `,
  },
  {
    version: 9,
    name: 'the webhook outbox and the keys version are written by the store code, by the rules both stores share',
    sql: `
      -- src/webhooks/outbox.ts decides which status changes queue deliveries; the store writes them in
      -- the transaction of the change, exactly as these triggers did. The keys version is bumped by
      -- every method that changes what authenticates a key.
      DROP TRIGGER tasks_webhook_outbox;
      DROP TRIGGER api_keys_version;
    `,
  },
  {
    version: 10,
    name: 'operator reads: usage by creation time, last use of a key, channel outcomes, keys of an account',
    sql: `
      -- Usage and spend of one account, or of all, over a range of creation times.
      CREATE INDEX tasks_by_account_created ON tasks (account_id, created_at);
      CREATE INDEX tasks_by_created ON tasks (created_at);
      -- A key's last task (MAX(created_at)), read with the list of keys.
      CREATE INDEX tasks_by_key_created ON tasks (key_id, created_at);
      -- What each channel finished lately: counts, error rate, run times.
      CREATE INDEX tasks_finished_by_provider ON tasks (provider, finished_at) WHERE finished_at IS NOT NULL;
      CREATE INDEX api_keys_by_account ON api_keys (account_id, id);
    `,
  },
  {
    version: 11,
    name: 'asset listings: reviews and groups of an account, assets counted by group, the project name of a group',
    sql: `
      -- GET /v1/asset-reviews and GET /v1/asset-groups: an account's, newest first.
      CREATE INDEX asset_reviews_by_account ON asset_reviews (account_id, id);
      CREATE INDEX asset_groups_by_account ON asset_groups (account_id, id);
      -- A group's live assets counted by status, from the index alone.
      CREATE INDEX assets_by_group ON assets (group_id, status, deleted_at);
      -- The project name the submit that made the group gave (each asset keeps its own); NULL when none.
      -- Groups made before this version take it from their first asset, which that submit sent.
      ALTER TABLE asset_groups ADD COLUMN project_name TEXT;
      UPDATE asset_groups SET project_name = (
        SELECT NULLIF(a.project_name, '') FROM assets a WHERE a.group_id = asset_groups.id ORDER BY a.rowid LIMIT 1);
    `,
  },
  {
    version: 12,
    name: 'upstream cost and margin of each task, for cost routing, daily channel budgets and the operator usage',
    sql: `
      -- What the channel's upstream charges for the task (its declared cost): expected while unfinished,
      -- exact once completed, NULL when undeclared or once failed or cancelled. Tasks made before this
      -- version have none.
      ALTER TABLE tasks ADD COLUMN upstream_cost_micros INTEGER;
      -- Price charged minus upstream cost, set when the task completes with a known upstream cost.
      ALTER TABLE tasks ADD COLUMN margin_micros INTEGER;
      -- A channel's upstream cost completed today, summed from the index alone.
      CREATE INDEX tasks_upstream_cost_by_provider ON tasks (provider, finished_at, upstream_cost_micros)
        WHERE status = 'completed' AND upstream_cost_micros IS NOT NULL;
    `,
  },
  {
    version: 13,
    name: 'due tasks found by ranges of one index: a claim reads the rows it takes, not every task in flight or queued',
    sql: `
      -- "Nobody holds it, or its lease ran out" was (lease_expires_at IS NULL OR lease_expires_at <= now):
      -- an OR that no index range serves, so every claim and every interrupted-task check read each
      -- unfinished task of the channel (upstream tasks in flight, and a queue waiting for submit slots:
      -- half the gateway's CPU at 50 000 tasks). Keyed by IFNULL(lease_expires_at, -1) (a lease is never
      -- negative), the never-leased queue is one equality range already in id order, and the held or
      -- expired leases another range; id and status make the claim's pick covering.
      DROP INDEX tasks_due;
      DROP INDEX tasks_interrupted_due;
      CREATE INDEX tasks_due_at ON tasks (provider, IFNULL(lease_expires_at, -1), id, status)
        WHERE status IN ('pending', 'processing');
    `,
  },
];
