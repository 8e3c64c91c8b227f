import type { Logger } from 'pino';
import { MODEL_IDS, type ModelId } from '../contract/models.js';
import type { ChannelConfig } from '../config/file.js';
import type { FfmpegBinary } from '../render/ffmpeg.js';
import type { TtsEngine } from '../render/speech.js';
import type { MediaIntake } from '../media/media-intake.js';
import type { SafeFetcher } from '../media/safe-fetch.js';
import { ProviderRegistry } from './registry.js';
import { costRouting } from '../billing/upstream-cost.js';
import { LocalProvider } from './local/local-provider.js';
import { UpstreamProvider } from './upstream/upstream-provider.js';
import { ArkAdapter } from './ark/ark-adapter.js';
import { ApimartAdapter } from './apimart/apimart-adapter.js';
import { FAL_BASE_URL, FalAdapter } from './fal/fal-adapter.js';
import { REPLICATE_BASE_URL, ReplicateAdapter } from './replicate/replicate-adapter.js';
import type { UpstreamAdapter } from './upstream/adapter.js';
import type { AssetLinks } from './upstream/upstream-provider.js';

export interface ChannelDeps {
  localConcurrency: number;
  ffmpeg: FfmpegBinary;
  tts: TtsEngine | null;
  intake: MediaIntake;
  fetcher: SafeFetcher;
  assets: AssetLinks;
  clock: () => number;
  /** For local channels: what ffmpeg said when an input file stopped a render. */
  logger?: Logger;
}

/** The upstream's model id for each vidgate model the channel serves. */
function modelMap(models: ChannelConfig['models']): Map<ModelId, string> {
  if (models === '*') return new Map(MODEL_IDS.map((m) => [m, m]));
  if (Array.isArray(models)) return new Map(models.map((m) => [m, m]));
  return new Map(Object.entries(models) as Array<[ModelId, string]>);
}

const ADAPTERS: Record<Exclude<ChannelConfig['provider'], 'local'>, (c: ChannelConfig) => UpstreamAdapter> = {
  ark: (c) => new ArkAdapter(c.base_url!.replace(/\/+$/, ''), c.request_timeout_seconds * 1000),
  apimart: (c) => new ApimartAdapter(c.base_url!, c.request_timeout_seconds * 1000),
  fal: (c) => new FalAdapter(c.base_url ?? FAL_BASE_URL, c.request_timeout_seconds * 1000),
  replicate: (c) => new ReplicateAdapter(c.base_url ?? REPLICATE_BASE_URL, c.request_timeout_seconds * 1000),
};

/** Every configured channel as a provider in one registry; without configuration, one local channel. */
export function buildChannels(channels: ChannelConfig[] | undefined, deps: ChannelDeps): ProviderRegistry {
  const registry = new ProviderRegistry();
  if (!channels) return registry.register(new LocalProvider('local', deps.localConcurrency, deps.ffmpeg, deps.tts, deps.intake, deps.logger));
  for (const c of channels) {
    const models = modelMap(c.models);
    const routing = { models: c.models === '*' ? ('*' as const) : new Set(models.keys()), priority: c.priority, weight: c.weight, ...costRouting(c) };
    if (c.provider === 'local') {
      registry.register(new LocalProvider(c.name, c.max_in_flight ?? deps.localConcurrency, deps.ffmpeg, deps.tts, deps.intake, deps.logger), routing);
      continue;
    }
    const provider = new UpstreamProvider(
      ADAPTERS[c.provider](c),
      {
        name: c.name,
        concurrency: c.max_in_flight ?? 100,
        apiKeys: c.api_keys!,
        models,
        expectedSeconds: c.expected_seconds,
        firstPollMs: c.first_poll_ms,
        maxPollMs: c.max_poll_ms,
        maxPollErrors: c.max_poll_errors,
        timeoutMs: c.timeout_seconds * 1000,
        requestTimeoutMs: c.request_timeout_seconds * 1000,
      },
      { intake: deps.intake, fetcher: deps.fetcher, assets: deps.assets, ffmpeg: deps.ffmpeg, clock: deps.clock },
    );
    registry.register(provider, routing, c.provider);
  }
  return registry;
}
