/** The model catalog of README: Submit rules: what each model accepts. Prices live in prices.ts. */

export const RESOLUTIONS = ['480p', '720p', '1080p', '4k'] as const;
export type Resolution = (typeof RESOLUTIONS)[number];

export const MODEL_IDS = [
  'doubao-seedance-2.0',
  'doubao-seedance-2.0-fast',
  'doubao-seedance-2.0-face',
  'doubao-seedance-2.0-fast-face',
  'doubao-seedance-2.0-mini',
] as const;
export type ModelId = (typeof MODEL_IDS)[number];

export interface ModelSpec {
  id: ModelId;
  resolutions: readonly Resolution[];
  assetUrls: boolean;
  /** Unicode characters; null means no limit. */
  promptLimit: number | null;
  description: string;
}

export const MODELS: Readonly<Record<ModelId, ModelSpec>> = {
  'doubao-seedance-2.0': {
    id: 'doubao-seedance-2.0',
    resolutions: ['480p', '720p', '1080p', '4k'],
    assetUrls: true,
    promptLimit: 4000,
    description: 'Standard version: text, image, first/last frame, reference video and audio, audio-enabled video',
  },
  'doubao-seedance-2.0-fast': {
    id: 'doubao-seedance-2.0-fast',
    resolutions: ['480p', '720p'],
    assetUrls: true,
    promptLimit: 4000,
    description: 'Fast version: the standard features with faster generation',
  },
  'doubao-seedance-2.0-face': {
    id: 'doubao-seedance-2.0-face',
    resolutions: ['480p', '720p', '1080p'],
    assetUrls: false,
    promptLimit: 4000,
    description: 'Accepts real-person uploads; the standard features',
  },
  'doubao-seedance-2.0-fast-face': {
    id: 'doubao-seedance-2.0-fast-face',
    resolutions: ['480p', '720p'],
    assetUrls: false,
    promptLimit: 4000,
    description: 'Accepts real-person uploads; the fast version features',
  },
  'doubao-seedance-2.0-mini': {
    id: 'doubao-seedance-2.0-mini',
    resolutions: ['480p', '720p'],
    assetUrls: false,
    promptLimit: null,
    description: 'Mini version: the standard features, no prompt length limit',
  },
};

/** Newer upstream names accepted as aliases (README: Submit rules). */
export const MODEL_ALIASES: Readonly<Record<string, ModelId>> = {
  'seedance-2.0': 'doubao-seedance-2.0',
  'seedance-2.0-fast': 'doubao-seedance-2.0-fast',
  'seedance-2.0-face': 'doubao-seedance-2.0-face',
  'seedance-2.0-fast-face': 'doubao-seedance-2.0-fast-face',
  'seedance-2.0-mini': 'doubao-seedance-2.0-mini',
};

export function resolveModel(name: string): ModelSpec | undefined {
  const id = (MODEL_IDS as readonly string[]).includes(name) ? (name as ModelId) : MODEL_ALIASES[name];
  return id ? MODELS[id] : undefined;
}
