import type { SettingsStore } from '../settings-store.js';
import type { PgConnection } from './connection.js';

export class PgSettings implements SettingsStore {
  constructor(private readonly connection: PgConnection) {}

  async getSetting(name: string): Promise<string | null> {
    return (await this.connection.row<{ value: string }>('SELECT value FROM settings WHERE name = $1', [name]))?.value ?? null;
  }

  async initSetting(name: string, value: string): Promise<string> {
    // Two processes initialising at once: the second insert waits for the first to commit, then
    // does nothing, so both read the value that won.
    await this.connection.run('INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [name, value]);
    return (await this.getSetting(name)) as string;
  }
}
