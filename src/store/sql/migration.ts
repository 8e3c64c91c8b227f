/** One step of a store's versioned schema; never edited once released: add a new one. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}
