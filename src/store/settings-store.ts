/** Named values kept with the data (e.g. the signing secret), shared by every process on the database. */
export interface SettingsStore {
  getSetting(name: string): Promise<string | null>;
  /** Sets the value only when absent; returns the value in force. */
  initSetting(name: string, value: string): Promise<string>;
}
