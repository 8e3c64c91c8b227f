import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { UiLanguage } from './i18n.js';

export type Theme = 'light' | 'dark' | 'system';

/** What the browser remembers between visits: the API key, the admin token, language and theme. */
export interface Session {
  key: string;
  admin: string;
  language: UiLanguage;
  theme: Theme;
}

const STORAGE = { key: 'vidgate.key', admin: 'vidgate.admin', language: 'vidgate.language', theme: 'vidgate.theme' } as const;

export function loadStored(name: keyof typeof STORAGE): string | null {
  try {
    return localStorage.getItem(STORAGE[name]);
  } catch {
    return null;
  }
}

export function store(name: keyof typeof STORAGE, value: string): void {
  try {
    if (value) localStorage.setItem(STORAGE[name], value);
    else localStorage.removeItem(STORAGE[name]);
  } catch {
    // Private windows may refuse storage; the session then lasts as long as the tab.
  }
}

export interface SessionControls {
  session: Session;
  update(change: Partial<Session>): void;
}

export const SessionContext = createContext<SessionControls>({
  session: { key: '', admin: '', language: 'en', theme: 'system' },
  update: () => {},
});

export const useSession = (): SessionControls => useContext(SessionContext);

/** Tells the balance in the top bar that money moved (a submit, a cancel, a top-up). */
export const announceBalanceChange = (): void => {
  window.dispatchEvent(new Event('vidgate:balance'));
};
