import type Database from 'better-sqlite3';

/** The columns of `table` in their declared order, as `SELECT *` would list them, for SQL text. */
export function columnList(db: Database.Database, table: string): string {
  const names = (db.prepare(`SELECT name FROM pragma_table_info(?) ORDER BY cid`).pluck().all(table) as string[]).map((n) => `"${n.replace(/"/g, '""')}"`);
  if (names.length === 0) throw new Error(`table ${table} has no columns`);
  return names.join(', ');
}

export interface RowReader<Row> {
  get(...params: unknown[]): Row | undefined;
  all(...params: unknown[]): Row[];
}

/**
 * Rows of `statement` exactly as better-sqlite3 returns them (one object per row, a property per
 * column in the statement's order), built faster: the statement runs in raw mode, an array per row,
 * and a function made once from its column names turns each array into that object literal. The
 * driver builds row objects property by property from C++, which for a row as wide as a task's costs
 * about as much again as the query. Name the columns in the SQL (not `*`), so their positions are
 * fixed by the text rather than by the table as it is when the statement is re-prepared.
 */
export function rowReader<Row>(statement: Database.Statement): RowReader<Row> {
  const names = statement.columns().map((c) => c.name);
  // Keys and positions come from the statement's own column names; JSON.stringify quotes them.
  const build = new Function('r', `return {${names.map((n, i) => `${JSON.stringify(n)}: r[${i}]`).join(', ')}};`) as (row: unknown[]) => Row;
  statement.raw(true);
  return {
    get: (...params) => {
      const row = statement.get(...params) as unknown[] | undefined;
      return row === undefined ? undefined : build(row);
    },
    all: (...params) => (statement.all(...params) as unknown[][]).map(build),
  };
}
