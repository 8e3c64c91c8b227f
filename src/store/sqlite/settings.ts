import type { SettingsStore } from '../settings-store.js';
import type { SqliteConnection } from './connection.js';

export class SqliteSettings implements SettingsStore {
  private readonly s;

  constructor(connection: SqliteConnection) {
    const db = connection.db;
    this.s = {
      getSetting: db.prepare('SELECT value FROM settings WHERE name = ?').pluck(),
      initSetting: db.prepare('INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING'),
    };
  }

  async getSetting(name: string): Promise<string | null> {
    return (this.s.getSetting.get(name) as string | undefined) ?? null;
  }

  async initSetting(name: string, value: string): Promise<string> {
    this.s.initSetting.run(name, value);
    return this.s.getSetting.get(name) as string;
  }
}
