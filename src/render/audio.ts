import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AAC_FRAME_SAMPLES, SAMPLE_RATE } from './output-format.js';
import { filterValue, num } from './filter-syntax.js';
import type { Scene } from './scene.js';

const BED_RATE = 12_000;
export const SPEECH_DELAY_MS = 500;
const SPEECH_GAIN = 0.8;
/** Reference audio is the soundtrack; it is pulled down a little when the bed is added so their sum keeps headroom. */
const SOUNDTRACK_GAIN_OVER_BED = 0.9;

const STEREO = `aformat=sample_fmts=fltp:sample_rates=${SAMPLE_RATE}:channel_layouts=stereo`;

/** What the audio track is made of. Pads are ffmpeg input pads such as `[0:a]`. */
export interface AudioMix {
  durationSeconds: number;
  /** The generated ambient bed (generate_audio), from the scene's chord. */
  bed: Scene | null;
  /** The input pad of the bed written by writeBed, when it was; else ffmpeg's aevalsrc computes it. */
  bedInput?: string;
  /** Synthesized dialogue, mixed over the bed half a second in. Needs a bed. */
  speech: string | null;
  /** Reference audio files in order, played one after another from the start. */
  soundtrack: readonly string[];
}

export function hasAudio(mix: AudioMix): boolean {
  return mix.bed !== null || mix.soundtrack.length > 0;
}

/**
 * Filter chains ending in `[audio]`: AAC-ready stereo at 48 kHz, exactly durationSeconds long whatever
 * the sources' lengths (trimmed or padded with silence), faded in and out.
 */
export function audioChains(mix: AudioMix): string {
  if (!hasAudio(mix)) throw new Error('audioChains needs a bed or a soundtrack');
  const tail = audioTail(mix.durationSeconds);
  const chains: string[] = [];
  const mixed: Array<{ label: string; gain: number }> = [];

  if (mix.bed) {
    const source = mix.bedInput ?? `aevalsrc=exprs=${filterValue(bedExpression(mix.bed))}:s=${BED_RATE}:d=${mix.durationSeconds},`;
    const bed = `${source}aresample=${SAMPLE_RATE},${STEREO}`;
    if (!mix.speech && mix.soundtrack.length === 0) return `${bed},${tail}[audio]`;
    chains.push(`${bed}[bed]`);
    mixed.push({ label: '[bed]', gain: 1 });
  }
  if (mix.speech) {
    if (!mix.bed) throw new Error('speech is mixed over the bed');
    const delay = filterValue(`${SPEECH_DELAY_MS}|${SPEECH_DELAY_MS}`);
    chains.push(`${mix.speech}aresample=${SAMPLE_RATE},${STEREO},adelay=delays=${delay},apad[speech]`);
    mixed.push({ label: '[speech]', gain: SPEECH_GAIN });
  }
  if (mix.soundtrack.length > 0) {
    const tracks = mix.soundtrack.map((pad) => `${pad}aresample=${SAMPLE_RATE},${STEREO}`);
    let joined: string;
    if (tracks.length === 1) {
      joined = tracks[0]!;
    } else {
      tracks.forEach((track, i) => chains.push(`${track}[track${i}]`));
      joined = `${tracks.map((_, i) => `[track${i}]`).join('')}concat=n=${tracks.length}:v=0:a=1`;
    }
    // Alone, the tail pads the soundtrack; with a bed, it is padded for ever and the bed sets the length.
    if (!mix.bed) return [...chains, `${joined},${tail}[audio]`].join(';');
    chains.push(`${joined},apad[soundtrack]`);
    mixed.push({ label: '[soundtrack]', gain: SOUNDTRACK_GAIN_OVER_BED });
  }

  // amerge+pan sums at unity gain on every ffmpeg version, unlike amix whose normalisation changed over time.
  const sum = (channel: number) => mixed.map((m, i) => `${m.gain === 1 ? '' : `${num(m.gain)}*`}c${2 * i + channel}`).join('+');
  const pan = filterValue(`stereo|c0=${sum(0)}|c1=${sum(1)}`);
  chains.push(`${mixed.map((m) => m.label).join('')}amerge=inputs=${mixed.length},pan=${pan},${tail}[audio]`);
  return chains.join(';');
}

function audioTail(durationSeconds: number): string {
  const samples = SAMPLE_RATE * durationSeconds;
  const fadeOut = Math.min(1, durationSeconds / 4);
  return [
    // Pad and trim in samples so the track length never depends on source frame sizes.
    `apad=whole_len=${samples}`,
    `atrim=end_sample=${samples}`,
    'afade=t=in:d=0.3',
    `afade=t=out:st=${num(durationSeconds - fadeOut)}:d=${num(fadeOut)}`,
    // Source filters emit frames of any size and ffmpeg 5.1 does not re-chunk them for AAC ("more samples than frame size").
    `asetnsamples=n=${AAC_FRAME_SAMPLES}:p=0`,
  ].join(',');
}

/** The bed as raw samples, and the ffmpeg input options that read them. */
export interface BedFile {
  file: string;
  inputOptions: string[];
}

/**
 * Computes the bed here and writes it to `workDir` as raw 32-bit float stereo at the bed's rate, for
 * ffmpeg to read instead of evaluating bedExpression per sample (aevalsrc: ~25 ms of CPU per 5 s of
 * audio; this loop: ~2 ms). The same signal, constant for constant; the breath of noise comes from a
 * fixed-seed generator, so a render stays a pure function of its job.
 */
export async function writeBed(scene: Scene, durationSeconds: number, workDir: string): Promise<BedFile> {
  const samples = BED_RATE * durationSeconds;
  const r5 = (value: number) => Number(num(value));
  const totalGain = scene.chord.reduce((sum, tone) => sum + tone.gain, 0);
  const level = r5(0.09 / totalGain);
  const tones = scene.chord.map((tone) => ({ gain: r5(tone.gain), omega: r5(2 * Math.PI * tone.hz) }));
  const tremolo = r5(2 * Math.PI * scene.tremoloHz);
  const out = new Float32Array(2 * samples);
  let noise = 0x9e3779b9;
  const breath = () => {
    noise = (Math.imul(noise, 1664525) + 1013904223) >>> 0;
    return 0.004 * (noise / 4294967296 - 0.5);
  };
  for (let n = 0; n < samples; n++) {
    const t = n / BED_RATE;
    let chord = 0;
    for (const tone of tones) chord += tone.gain * Math.sin(tone.omega * t);
    out[2 * n] = level * chord * (0.7 + 0.3 * Math.sin(tremolo * t)) + breath();
    out[2 * n + 1] = level * chord * (0.7 + 0.3 * Math.sin(tremolo * t + 1.3)) + breath();
  }
  const file = path.join(workDir, 'bed.f32');
  await writeFile(file, Buffer.from(out.buffer, out.byteOffset, out.byteLength));
  return { file, inputOptions: ['-f', 'f32le', '-ar', String(BED_RATE), '-ac', '2'] };
}

/** A soft chord with a slow tremolo, slightly out of phase between channels for width, plus a breath of noise. */
function bedExpression(scene: Scene): string {
  const totalGain = scene.chord.reduce((sum, tone) => sum + tone.gain, 0);
  const tones = scene.chord.map((tone) => `${num(tone.gain)}*sin(${num(2 * Math.PI * tone.hz)}*t)`).join('+');
  const tremolo = (phase: number): string => `(0.7+0.3*sin(${num(2 * Math.PI * scene.tremoloHz)}*t+${phase}))`;
  const channel = (phase: number): string => `${num(0.09 / totalGain)}*(${tones})*${tremolo(phase)}+0.004*(random(0)-0.5)`;
  return `${channel(0)}|${channel(1.3)}`;
}
