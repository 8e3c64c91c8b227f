import type { ByteRange } from './file-store.js';

/**
 * What a `Range` header asks of a file of `size` bytes, read as @fastify/send reads it (so files
 * from any store answer alike): `whole` for no range or several that stay apart after merging
 * (answered 200 in full), `unsatisfiable` when no part of it lies within the file (416), else one range (206).
 */
export function readRange(header: string | undefined, size: number): { kind: 'whole' } | { kind: 'unsatisfiable' } | { kind: 'range'; range: ByteRange } {
  if (header === undefined || !/^ *bytes=/.test(header)) return { kind: 'whole' };
  const ranges: ByteRange[] = [];
  for (const part of header.slice(header.indexOf('=') + 1).split(',')) {
    const dash = part.indexOf('-');
    let start = Number.parseInt(part.slice(0, dash), 10);
    let end = Number.parseInt(part.slice(dash + 1), 10);
    if (Number.isNaN(start)) {
      // `-n`: the last n bytes.
      start = size - end;
      end = size - 1;
    } else if (Number.isNaN(end) || end > size - 1) {
      end = size - 1;
    }
    if (!Number.isNaN(start) && !Number.isNaN(end) && start > -1 && start <= end) ranges.push({ start, end });
  }
  if (ranges.length === 0) return { kind: 'unsatisfiable' };
  if (ranges.length === 1) return { kind: 'range', range: ranges[0]! };
  const merged = [...ranges]
    .sort((a, b) => a.start - b.start)
    .reduce<ByteRange[]>((acc, r) => {
      const last = acc[acc.length - 1];
      if (last && r.start <= last.end + 1) last.end = Math.max(last.end, r.end);
      else acc.push({ ...r });
      return acc;
    }, []);
  return merged.length === 1 ? { kind: 'range', range: merged[0]! } : { kind: 'whole' };
}

export const contentRange = (size: number, range?: ByteRange) => `bytes ${range ? `${range.start}-${range.end}` : '*'}/${size}`;
