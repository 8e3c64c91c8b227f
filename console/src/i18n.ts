import { createContext } from 'preact';
import { useContext } from 'preact/hooks';

/**
 * English and Chinese. Each screen keeps its own strings next to its code (defineText), so a
 * change to one page touches one file; the Chinese table must have every English key.
 */
export const UI_LANGUAGES = ['en', 'zh'] as const;
export type UiLanguage = (typeof UI_LANGUAGES)[number];

export type Text<T extends Record<string, string>> = { en: T; zh: { [K in keyof T]: string } };

export const defineText = <T extends Record<string, string>>(text: Text<T>): Text<T> => text;

export const LanguageContext = createContext<UiLanguage>('en');

export function useText<T extends Record<string, string>>(text: Text<T>): T {
  const language = useContext(LanguageContext);
  return (language === 'zh' ? text.zh : text.en) as T;
}

export const useLanguage = (): UiLanguage => useContext(LanguageContext);

/** Fills `{name}` placeholders. */
export function fill(template: string, values: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in values ? String(values[name]) : whole));
}

export function initialLanguage(stored: string | null, browser: readonly string[]): UiLanguage {
  if (stored === 'en' || stored === 'zh') return stored;
  return browser.some((l) => l.toLowerCase().startsWith('zh')) ? 'zh' : 'en';
}
