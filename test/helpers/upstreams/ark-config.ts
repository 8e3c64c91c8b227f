import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ArkConfigOptions {
  baseUrl: string;
  /** vidgate model → Ark model id. */
  models: Record<string, string>;
  /** Further channel settings (snake_case, as in the configuration file), e.g. `first_poll_ms`. */
  settings?: Record<string, unknown>;
}

/** A `VIDGATE_CONFIG` file with one `ark` channel named ark-cn (key `ark-key`), in a fresh folder. */
export async function writeArkConfig(o: ArkConfigOptions): Promise<{ file: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'vidgate-ark-config-'));
  const file = join(dir, 'vidgate.json');
  const channel = { name: 'ark-cn', provider: 'ark', base_url: o.baseUrl, api_keys: ['ark-key'], models: o.models, ...o.settings };
  await writeFile(file, JSON.stringify({ channels: [channel] }, null, 2));
  return { file, remove: () => rm(dir, { recursive: true, force: true }) };
}
