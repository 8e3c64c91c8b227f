/**
 * Waits between webhook attempts: after attempt n fails, attempt n + 1 comes `schedule[n - 1]` later;
 * after the last entry the delivery is given up. The default makes 11 attempts over about 24 hours.
 */
export const DEFAULT_RETRY_SCHEDULE = '5s,30s,2m,10m,30m,1h,2h,4h,8h,8h';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `"5s,30s,2m"` → [5000, 30000, 120000]. Units: ms, s, m, h; a bare number is seconds. */
export function parseRetrySchedule(text: string): number[] {
  const entries = text
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  if (entries.length === 0 || entries.length > 50) throw new Error('expected 1 to 50 comma-separated waits like 5s,30s,2m,1h');
  return entries.map((entry) => {
    const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(entry);
    if (!match) throw new Error(`"${entry}" is not a wait: use a number with ms, s, m or h, like 30s`);
    const ms = Math.round(Number(match[1]) * UNIT_MS[match[2] ?? 's']!);
    if (ms < 1 || ms > 7 * 24 * 3_600_000) throw new Error(`"${entry}" must be between 1 ms and 7 days`);
    return ms;
  });
}
