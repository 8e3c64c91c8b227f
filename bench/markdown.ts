import { readFile } from 'node:fs/promises';

/** A Markdown table; a `|` inside a cell is escaped. */
export function markdownTable(headers: string[], rows: string[][]): string {
  return [
    `| ${headers.join(' | ')} |`,
    `| ${headers.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${row.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`),
  ].join('\n');
}

/** The dated rows under `subheading` in the section of `file` headed `heading`, read before the file is rewritten. */
export async function previousHistory(file: string, heading: string, subheading: string): Promise<string[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const start = text.indexOf(`\n${heading}\n`);
  if (start < 0) return [];
  const rest = text.slice(start + heading.length + 2);
  const end = rest.search(/^## /m);
  const section = end < 0 ? rest : rest.slice(0, end);
  const at = section.indexOf(subheading);
  return at < 0 ? [] : historyRows(section.slice(at));
}

/** The lines of `text` that are table rows starting with an ISO date. */
export function historyRows(text: string): string[] {
  return text.split('\n').filter((line) => /^\| \d{4}-\d\d-\d\dT/.test(line));
}
