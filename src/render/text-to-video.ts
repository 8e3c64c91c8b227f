import path from 'node:path';
import { audioChains } from './audio.js';
import { captionFilters, writeTextFiles, type CaptionFiles } from './captions.js';
import { audioEncoderArgs, containerArgs, filterThreadArgs, videoEncoderArgs } from './encode.js';
import { abortReason, runFfmpeg, type FfmpegBinary } from './ffmpeg.js';
import { assertOutput, FPS } from './output-format.js';
import { fontChoice, type FontChoice } from './fonts.js';
import { lastFrameWindow, proceduralChain, wholeClip, type FrameWindow } from './procedural.js';
import { sceneFor, type Scene } from './scene.js';
import { speakableDialogue, synthesizeSpeech, type TtsEngine } from './speech.js';

export { wrapCaption } from './captions.js';

export interface TextToVideoJob {
  prompt: string;
  seed: number;
  width: number;
  height: number;
  durationSeconds: number;
  generateAudio: boolean;
  outVideo: string;
  outLastFrame?: string;
  workDir: string;
}

export interface RenderOptions {
  signal?: AbortSignal;
  onProgress?: (fraction: number) => void;
  tts?: TtsEngine | null;
}

export async function renderTextToVideo(ffmpeg: FfmpegBinary, job: TextToVideoJob, opts: RenderOptions = {}): Promise<void> {
  assertOutput(job);
  const scene = sceneFor(job.prompt, job.seed);
  const font = fontChoice();
  const texts = await writeTextFiles(job);
  const speechWav = await speechTrack(job, opts);
  if (opts.signal?.aborted) throw abortReason(opts.signal);

  const totalFrames = FPS * job.durationSeconds;
  const args = ffmpegArgs(job, scene, { font, texts, speechWav });
  await runFfmpeg(ffmpeg, args, { signal: opts.signal, totalFrames, onProgress: opts.onProgress });
}

interface GraphInputs {
  font: FontChoice;
  texts: CaptionFiles;
  speechWav: string | null;
}

/** Quoted dialogue of the prompt (as much as the clip can hold) as a WAV in the work folder, when audio is asked for and a TTS engine is present. */
export async function speechTrack(
  job: { prompt: string; generateAudio: boolean; workDir: string; durationSeconds: number },
  opts: { tts?: TtsEngine | null; signal?: AbortSignal },
): Promise<string | null> {
  if (!job.generateAudio || !opts.tts) return null;
  const dialogue = speakableDialogue(job.prompt, job.durationSeconds);
  if (!dialogue) return null;
  const wav = path.join(job.workDir, 'speech.wav');
  await synthesizeSpeech(opts.tts, dialogue, wav, opts.signal);
  return wav;
}

function ffmpegArgs(job: TextToVideoJob, scene: Scene, inputs: GraphInputs): string[] {
  const graph = videoChains(job, scene, inputs);
  if (job.generateAudio) {
    graph.push(audioChains({ durationSeconds: job.durationSeconds, bed: scene, speech: inputs.speechWav ? '[0:a]' : null, soundtrack: [] }));
  }

  const args = [...filterThreadArgs(), ...(inputs.speechWav ? ['-i', inputs.speechWav] : [])];
  args.push('-filter_complex', graph.join(';'), '-map', '[video]');
  if (job.generateAudio) args.push('-map', '[audio]', ...audioEncoderArgs());
  args.push(...videoEncoderArgs(), ...containerArgs(job.outVideo));
  if (job.outLastFrame) args.push('-map', '[last]', '-frames:v', '1', '-update', '1', '-y', job.outLastFrame);
  return args;
}

/**
 * The last frame is rendered by a second, independent chain in the same graph rather than by split+select:
 * ffmpeg keeps pulling a select branch until it emits, which would queue every full-size frame in memory
 * (1.8 GB and double the time at 4K). Since the picture is a pure function of time, rendering only the
 * final keyframe interval reproduces the identical frame for the cost of one.
 */
function videoChains(job: TextToVideoJob, scene: Scene, inputs: GraphInputs): string[] {
  const chains = [`${pictureChain(job, scene, inputs, wholeClip(job))}[video]`];
  if (job.outLastFrame) chains.push(`${pictureChain(job, scene, inputs, lastFrameWindow(job))}[last]`);
  return chains;
}

function pictureChain(job: TextToVideoJob, scene: Scene, inputs: GraphInputs, window: FrameWindow): string {
  return [proceduralChain(job, scene, inputs.font, window), ...captionFilters(job, inputs.font, inputs.texts)].join(',');
}
