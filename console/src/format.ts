import type { UiLanguage } from './i18n.js';

const locale = (language: UiLanguage) => (language === 'zh' ? 'zh-CN' : 'en-US');

export function usd(amount: number, language: UiLanguage): string {
  const digits = amount !== 0 && Math.abs(amount) < 0.01 ? 4 : 2;
  return new Intl.NumberFormat(locale(language), { style: 'currency', currency: 'USD', minimumFractionDigits: digits, maximumFractionDigits: 4 }).format(
    amount,
  );
}

export function dateTime(unixSeconds: number, language: UiLanguage): string {
  return new Intl.DateTimeFormat(locale(language), { dateStyle: 'medium', timeStyle: 'medium' }).format(new Date(unixSeconds * 1000));
}

export function seconds(value: number | null | undefined, language: UiLanguage): string {
  if (value === null || value === undefined) return '—';
  return `${new Intl.NumberFormat(locale(language), { maximumFractionDigits: value < 10 ? 1 : 0 }).format(value)} s`;
}

export function count(value: number, language: UiLanguage): string {
  return new Intl.NumberFormat(locale(language)).format(value);
}

/** `YYYY-MM-DD` of a day in UTC, as the usage API counts days. */
export const utcDay = (date: Date): string => date.toISOString().slice(0, 10);

/** A prompt shortened for a table cell: at most `max` characters (whole code points), an ellipsis when cut. */
export function excerpt(prompt: string | undefined, max = 90): string {
  if (!prompt) return '';
  const chars = [...prompt];
  return chars.length > max ? `${chars.slice(0, max - 2).join('')}…` : prompt;
}
