import path from 'node:path';
import { audioChains, writeBed, type BedFile } from './audio.js';
import { captionFilters, writeTextFiles, type CaptionFiles } from './captions.js';
import { audioEncoderArgs, containerArgs, filterThreadArgs, videoEncoderArgs } from './encode.js';
import { abortReason, runFfmpeg, type FfmpegBinary } from './ffmpeg.js';
import { assertOutput, FPS } from './output-format.js';
import { fontChoice, type FontChoice } from './fonts.js';
import { lastFrameWindow, proceduralChain, wholeClip, writePlasmaField, type FrameWindow, type PlasmaField } from './procedural.js';
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
  const [speechWav, field, bed] = await Promise.all([
    speechTrack(job, opts),
    writePlasmaField(job, scene, job.workDir),
    job.generateAudio ? writeBed(scene, job.durationSeconds, job.workDir) : null,
  ]);
  if (opts.signal?.aborted) throw abortReason(opts.signal);

  const totalFrames = FPS * job.durationSeconds;
  const args = ffmpegArgs(job, scene, { font, texts, speechWav, field, bed });
  await runFfmpeg(ffmpeg, args, { signal: opts.signal, totalFrames, onProgress: opts.onProgress });
}

interface GraphInputs {
  font: FontChoice;
  texts: CaptionFiles;
  speechWav: string | null;
  field: PlasmaField;
  bed: BedFile | null;
}

/** Input pads of one ffmpeg run: the speech WAV first (the audio chains read it as [0:a]), then the plasma field once per picture chain. */
interface InputPads {
  args: string[];
  fields: string[];
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
  const pads: InputPads = { args: inputs.speechWav ? ['-i', inputs.speechWav] : [], fields: [] };
  // Each picture chain reads its own copy of the (small) field file, so the chains stay independent.
  for (let chain = 0; chain < (job.outLastFrame ? 2 : 1); chain++) {
    pads.fields.push(`[${pads.args.filter((a) => a === '-i').length}:v]`);
    pads.args.push(...inputs.field.inputOptions, '-i', inputs.field.file);
  }
  let bedInput: string | undefined;
  if (inputs.bed) {
    bedInput = `[${pads.args.filter((a) => a === '-i').length}:a]`;
    pads.args.push(...inputs.bed.inputOptions, '-i', inputs.bed.file);
  }
  const graph = videoChains(job, scene, inputs, pads.fields);
  if (job.generateAudio) {
    graph.push(audioChains({ durationSeconds: job.durationSeconds, bed: scene, bedInput, speech: inputs.speechWav ? '[0:a]' : null, soundtrack: [] }));
  }

  const args = [...filterThreadArgs(), ...pads.args];
  args.push('-filter_complex', graph.join(';'), '-map', '[video]');
  if (job.generateAudio) args.push('-map', '[audio]', ...audioEncoderArgs());
  args.push(...videoEncoderArgs(job), ...containerArgs(job.outVideo));
  if (job.outLastFrame) args.push('-map', '[last]', '-frames:v', '1', '-update', '1', '-y', job.outLastFrame);
  return args;
}

/**
 * The last frame is rendered by a second, independent chain in the same graph rather than by split+select:
 * ffmpeg keeps pulling a select branch until it emits, which would queue every full-size frame in memory
 * (1.8 GB and double the time at 4K). Since the picture is a pure function of time, rendering only the
 * final keyframe interval reproduces the identical frame for the cost of one.
 */
function videoChains(job: TextToVideoJob, scene: Scene, inputs: GraphInputs, fields: readonly string[]): string[] {
  const chains = [`${pictureChain(job, scene, inputs, wholeClip(job), fields[0]!)}[video]`];
  if (job.outLastFrame) chains.push(`${pictureChain(job, scene, inputs, lastFrameWindow(job), fields[1]!)}[last]`);
  return chains;
}

function pictureChain(job: TextToVideoJob, scene: Scene, inputs: GraphInputs, window: FrameWindow, field: string): string {
  return [proceduralChain(job, scene, inputs.font, window, field), ...captionFilters(job, inputs.font, inputs.texts)].join(',');
}
