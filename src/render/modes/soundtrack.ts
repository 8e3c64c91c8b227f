import type { AudioMix } from '../audio.js';
import type { Scene } from '../scene.js';
import type { ModeContext, RenderMedia } from './types.js';

/**
 * The audio of a media job: reference audio files (in order) are the soundtrack; with generate_audio the
 * scene's ambient bed (and any synthesized dialogue) is mixed under it. Adds the inputs it needs.
 */
export function soundtrackMix(ctx: ModeContext, scene: Scene, speechWav: string | null, audios: readonly RenderMedia[]): AudioMix {
  const { graph, job } = ctx;
  return {
    durationSeconds: job.durationSeconds,
    bed: job.generateAudio ? scene : null,
    speech: job.generateAudio && speechWav ? `[${graph.input(speechWav)}:a]` : null,
    soundtrack: audios.map((audio) => `[${graph.input(audio.path)}:a]`),
  };
}
