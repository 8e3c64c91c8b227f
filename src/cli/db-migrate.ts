import { join } from 'node:path';
import type { Config } from '../config/env.js';
import { microsToUsd } from '../contract/prices.js';
import { MigrationMismatch, MigrationRefused, type MigrationReport, migrateToPostgres, redactUrl } from '../store/migrate-to-postgres.js';
import { CliError } from './keys.js';

export interface MigrateOptions {
  json?: boolean;
  force?: boolean;
}

/** `vidgate db migrate-to <url>`: exit 0 copied and verified, 1 the copy did not verify (rolled back), 2 refused. */
export async function migrateTo(config: Config, url: string, opts: MigrateOptions): Promise<void> {
  const file = join(config.dataDir, 'vidgate.db');
  let report: MigrationReport;
  try {
    report = await migrateToPostgres(file, url, {
      force: opts.force,
      onTable: opts.json ? undefined : (table) => process.stderr.write(`copying ${table}…\n`),
    });
  } catch (error) {
    if (error instanceof MigrationRefused) throw new CliError(error.message);
    if (error instanceof MigrationMismatch) {
      if (opts.json) console.log(JSON.stringify({ ok: false, differences: error.differences }));
      console.error(`vidgate: ${error.message}`);
      process.exitCode = 1;
      return;
    }
    // Anything else (a row PostgreSQL refused, the connection lost) also rolled the copy back.
    throw new CliError(`the copy failed and was rolled back, the target holds no data: ${(error as Error).message}`);
  }
  if (opts.json) {
    console.log(JSON.stringify({ ok: true, ...report }));
    return;
  }
  console.log(formatReport(report, url));
}

function formatReport(r: MigrationReport, url: string): string {
  const total = r.tables.reduce((n, t) => n + t.rows, 0);
  const width = Math.max(...r.tables.map((t) => t.name.length), 'total'.length) + 2;
  const lines = [
    `Copied ${r.source} into ${r.target} in ${(r.durationMs / 1000).toFixed(2)} s, verified.`,
    ...(r.sqliteSchema.upgradedFrom !== null
      ? [`(the SQLite schema was at version ${r.sqliteSchema.upgradedFrom}: copied as upgraded to ${r.sqliteSchema.version}; the file itself is unchanged)`]
      : []),
    '',
    ...r.tables.map((t) => `  ${t.name.padEnd(width)}${String(t.rows).padStart(10)}`),
    `  ${'total'.padEnd(width)}${String(total).padStart(10)} rows`,
    '',
    `Accounts: ${r.accounts.total} (${r.accounts.limited} with a balance, ${r.accounts.unlimited} unlimited); total balance $${microsToUsd(r.accounts.balanceMicros)}`,
    'Checked before committing: row counts and a checksum of every table; each account’s balance, spending and ledger sum;',
    'each key’s spending and unfinished tasks; each task’s status and cost.',
    ...r.warnings.map((w) => `Warning: ${w}`),
    '',
    'Next:',
    `  1. Set VIDGATE_DATABASE_URL=${redactUrl(url)} (with its password) for every vidgate, then start vidgate.`,
    '     Signed result URLs keep working: the signing secret was copied (keep VIDGATE_SIGNING_SECRET if you set one).',
    '  2. Files are not in the database: results, uploads and assets stay where they are (VIDGATE_DATA_DIR, or the',
    '     bucket of VIDGATE_STORAGE_URL); keep those settings. Several instances need the S3 storage.',
    `  3. Keep ${r.source} as a backup: vidgate does not read it while VIDGATE_DATABASE_URL is set.`,
  ];
  return lines.join('\n');
}
