import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { abortReason, runFfmpeg, type FfmpegBinary } from './ffmpeg.js';
import { sceneFor, type Rgb, type Scene, type Shape } from './scene.js';
import { quotedDialogue, synthesizeSpeech, type TtsEngine } from './speech.js';

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

const FPS = 24;
const SAMPLE_RATE = 48_000;
/** The plasma is evaluated at this rate and blended up to FPS: geq is the dominant cost and the field moves slowly. */
const FIELD_FPS = 8;
/** Longest side of the plasma grid; it is smooth, so bicubic upscaling hides the low resolution. */
const FIELD_LONG_SIDE = 96;
const BED_RATE = 12_000;
const AAC_FRAME_SAMPLES = 1024;
const SPEECH_DELAY_MS = 500;
const FONT_FILE = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';
const CAPTION_MAX_LINES = 4;

export async function renderTextToVideo(ffmpeg: FfmpegBinary, job: TextToVideoJob, opts: RenderOptions = {}): Promise<void> {
  assertJob(job);
  const scene = sceneFor(job.prompt, job.seed);
  const font = existsSync(FONT_FILE) ? { fontfile: FONT_FILE } : { font: 'Sans' };
  const texts = await writeTextFiles(job);
  const speechWav = await speechTrack(job, opts);
  if (opts.signal?.aborted) throw abortReason(opts.signal);

  const totalFrames = FPS * job.durationSeconds;
  const args = ffmpegArgs(job, scene, { font, ...texts, speechWav });
  await runFfmpeg(ffmpeg, args, { signal: opts.signal, totalFrames, onProgress: opts.onProgress });
}

function assertJob(job: TextToVideoJob): void {
  const evenSize = (n: number): boolean => Number.isInteger(n) && n >= 16 && n % 2 === 0;
  if (!evenSize(job.width) || !evenSize(job.height)) {
    throw new RangeError(`output size must be even integers >= 16, got ${job.width}x${job.height}`);
  }
  if (!Number.isInteger(job.durationSeconds) || job.durationSeconds < 1) {
    throw new RangeError(`durationSeconds must be a positive integer, got ${job.durationSeconds}`);
  }
  if (!Number.isInteger(job.seed) || job.seed < 0 || job.seed > 0xffff_ffff) {
    throw new RangeError(`seed must be an integer in 0..4294967295, got ${job.seed}`);
  }
}

type FontChoice = { fontfile: string } | { font: string };

interface GraphInputs {
  font: FontChoice;
  captionFile: string | null;
  labelFile: string;
  speechWav: string | null;
}

/** Text goes through files so the prompt never needs filtergraph or drawtext escaping. */
async function writeTextFiles(job: TextToVideoJob): Promise<Pick<GraphInputs, 'captionFile' | 'labelFile'>> {
  const labelFile = path.join(job.workDir, 'label.txt');
  await writeFile(labelFile, `vidgate local preview · seed ${job.seed}`);
  const lines = wrapCaption(job.prompt, captionLayout(job).maxCharsPerLine);
  if (lines.length === 0) return { captionFile: null, labelFile };
  const captionFile = path.join(job.workDir, 'caption.txt');
  await writeFile(captionFile, lines.join('\n'));
  return { captionFile, labelFile };
}

async function speechTrack(job: TextToVideoJob, opts: RenderOptions): Promise<string | null> {
  if (!job.generateAudio || !opts.tts) return null;
  const dialogue = quotedDialogue(job.prompt);
  if (dialogue.length === 0) return null;
  const wav = path.join(job.workDir, 'speech.wav');
  await synthesizeSpeech(opts.tts, dialogue.join(' ... '), wav, opts.signal);
  return wav;
}

function captionLayout(job: TextToVideoJob): { fontSize: number; margin: number; maxCharsPerLine: number } {
  const short = Math.min(job.width, job.height);
  const fontSize = Math.max(12, Math.round(short * 0.045));
  const margin = Math.round(short * 0.06);
  // DejaVu Sans averages about 0.55 em per Latin glyph; the slack keeps capitals inside the frame.
  const maxCharsPerLine = Math.max(8, Math.floor((job.width - 2 * margin) / (fontSize * 0.6)));
  return { fontSize, margin, maxCharsPerLine };
}

/**
 * Greedy word wrap measured in Latin-glyph units, where wide (CJK, emoji) characters count double.
 * Words longer than a line are split, which is also how unspaced CJK text wraps.
 */
export function wrapCaption(prompt: string, maxUnits: number): string[] {
  const text = sanitiseCaption(prompt);
  if (!text) return [];
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    for (const piece of splitLongWord(word, maxUnits)) {
      const candidate = line ? `${line} ${piece}` : piece;
      if (line && textUnits(candidate) > maxUnits) {
        lines.push(line);
        line = piece;
      } else {
        line = candidate;
      }
    }
  }
  lines.push(line);
  return ellipsise(lines, maxUnits);
}

/** Control characters would render as boxes; newlines and tabs collapse because drawtext has no wrapping of its own. */
function sanitiseCaption(prompt: string): string {
  return prompt.replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\s]+/gu, ' ').trim();
}

function splitLongWord(word: string, maxUnits: number): string[] {
  const pieces: string[] = [];
  let piece = '';
  for (const char of word) {
    if (piece && textUnits(piece + char) > maxUnits) {
      pieces.push(piece);
      piece = '';
    }
    piece += char;
  }
  pieces.push(piece);
  return pieces;
}

function ellipsise(lines: string[], maxUnits: number): string[] {
  if (lines.length <= CAPTION_MAX_LINES) return lines;
  const kept = lines.slice(0, CAPTION_MAX_LINES);
  let last = [...(kept[CAPTION_MAX_LINES - 1] ?? '')];
  while (last.length > 0 && textUnits(`${last.join('')}…`) > maxUnits) last = last.slice(0, -1);
  kept[CAPTION_MAX_LINES - 1] = `${last.join('').trimEnd()}…`;
  return kept;
}

function textUnits(text: string): number {
  let units = 0;
  for (const char of text) units += isWide(char.codePointAt(0) ?? 0) ? 2 : 1;
  return units;
}

function isWide(codePoint: number): boolean {
  return (
    (codePoint >= 0x1100 && codePoint <= 0x115f) ||
    (codePoint >= 0x2e80 && codePoint <= 0xa4cf) ||
    (codePoint >= 0xac00 && codePoint <= 0xd7a3) ||
    (codePoint >= 0xf900 && codePoint <= 0xfaff) ||
    (codePoint >= 0xfe30 && codePoint <= 0xfe4f) ||
    (codePoint >= 0xff00 && codePoint <= 0xff60) ||
    (codePoint >= 0xffe0 && codePoint <= 0xffe6) ||
    codePoint >= 0x1f300
  );
}

function ffmpegArgs(job: TextToVideoJob, scene: Scene, inputs: GraphInputs): string[] {
  const graph = videoChains(job, scene, inputs);
  if (job.generateAudio) graph.push(audioChain(job, scene, inputs.speechWav !== null));

  const args = inputs.speechWav ? ['-i', inputs.speechWav] : [];
  args.push('-filter_complex', graph.join(';'), '-map', '[video]');
  if (job.generateAudio) args.push('-map', '[audio]', '-c:a', 'aac', '-b:a', '128k', '-flags:a', '+bitexact');
  args.push(
    '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '23', '-pix_fmt', 'yuv420p', '-r', String(FPS),
    // ultrafast drops the deblocking filter, which leaves visible block edges on smooth gradients; turning it
    // and CABAC back on matches superfast's quality here for about two thirds of its CPU time.
    '-x264-params', 'cabac=1:deblock=0,0',
    // x264 output depends on its thread count, so pin it to keep renders identical across machines.
    '-threads:v', '4', '-flags:v', '+bitexact',
    '-movflags', '+faststart', '-fflags', '+bitexact', '-map_metadata', '-1',
    '-y', job.outVideo,
  );
  if (job.outLastFrame) args.push('-map', '[last]', '-frames:v', '1', '-update', '1', '-y', job.outLastFrame);
  return args;
}

/** A slice of the clip: keyframes before firstKeyframe are skipped, then `count` frames from `first` are kept. */
interface FrameWindow {
  firstKeyframe: number;
  first: number;
  count: number;
}

/**
 * The last frame is rendered by a second, independent chain in the same graph rather than by split+select:
 * ffmpeg keeps pulling a select branch until it emits, which would queue every full-size frame in memory
 * (1.8 GB and double the time at 4K). Since the picture is a pure function of time, rendering only the
 * final keyframe interval reproduces the identical frame for the cost of one.
 */
function videoChains(job: TextToVideoJob, scene: Scene, inputs: GraphInputs): string[] {
  const totalFrames = FPS * job.durationSeconds;
  const chains = [`${pictureChain(job, scene, inputs, { firstKeyframe: 0, first: 0, count: totalFrames })}[video]`];
  if (job.outLastFrame) {
    const framesPerKeyframe = FPS / FIELD_FPS;
    const firstKeyframe = Math.floor((totalFrames - 1) / framesPerKeyframe);
    const first = totalFrames - 1 - firstKeyframe * framesPerKeyframe;
    chains.push(`${pictureChain(job, scene, inputs, { firstKeyframe, first, count: 1 })}[last]`);
  }
  return chains;
}

function pictureChain(job: TextToVideoJob, scene: Scene, inputs: GraphInputs, window: FrameWindow): string {
  const field = fieldSize(job);
  return [
    // One extra second of field so frame blending always has a next keyframe to blend towards.
    `nullsrc=s=${field.width}x${field.height}:r=${FIELD_FPS}:d=${job.durationSeconds + 1}`,
    // trim keeps timestamps, so geq's T and drawtext's t match the full render frame for frame.
    `trim=start_frame=${window.firstKeyframe}`,
    'format=gray',
    `geq=lum=${filterValue(plasmaExpression(scene, job.durationSeconds, field.width / field.height))}`,
    `framerate=fps=${FPS}:flags=0`,
    `trim=start_frame=${window.first}:end_frame=${window.first + window.count}`,
    'format=rgb24',
    `lutrgb=${paletteLut(scene.palette)}`,
    `scale=${job.width}:${job.height}:flags=bicubic`,
    'setsar=1',
    'format=yuv420p',
    ...scene.shapes.map((shape) => shapeText(shape, job, inputs.font)),
    ...captionText(job, inputs),
  ].join(',');
}

function fieldSize(job: TextToVideoJob): { width: number; height: number } {
  const scale = FIELD_LONG_SIDE / Math.max(job.width, job.height);
  return {
    width: Math.max(8, Math.round(job.width * scale)),
    height: Math.max(8, Math.round(job.height * scale)),
  };
}

/**
 * A sum of travelling waves plus a ripple, seen through a zooming and panning camera, mapped to 0..255.
 * The camera is folded into each term instead of kept in st()/ld() variables: ffmpeg 4.1's slice-threaded
 * geq shares those variables between threads, which garbles rows at random.
 */
function plasmaExpression(scene: Scene, durationSeconds: number, aspect: number): string {
  const { camera, ripple } = scene;
  const zoom = `(${num(camera.zoomFrom)}${signed((camera.zoomTo - camera.zoomFrom) / durationSeconds)}*T)`;
  const panX = camera.panX / durationSeconds;
  const panY = camera.panY / durationSeconds;
  const waves = scene.waves.map((w) => {
    const across = `(${num(w.kx * aspect)}*(X/W-0.5)${signed(w.ky)}*(Y/H-0.5))`;
    return `sin(${zoom}*${across}${signed(w.kx * panX + w.ky * panY + w.speed)}*T${signed(w.phase)})`;
  });
  const u = `${num(aspect)}*(X/W-0.5)*${zoom}${signed(panX)}*T${signed(-ripple.x)}`;
  const v = `(Y/H-0.5)*${zoom}${signed(panY)}*T${signed(-ripple.y)}`;
  const rippleWave = `sin(${num(ripple.k)}*hypot(${u},${v})${signed(-ripple.speed)}*T)`;
  return `clip(128+48*(${[...waves, rippleWave].join('+')}),0,255)`;
}

/** Piecewise-linear ramp through the palette stops, evaluated once per channel value by lutrgb. */
function paletteLut(palette: Rgb[]): string {
  const segment = 255 / (palette.length - 1);
  const channel = (key: keyof Rgb): string => {
    const first = palette[0] as Rgb;
    const terms = palette.slice(1).map((stop, i) => {
      const step = stop[key] - (palette[i] as Rgb)[key];
      return `${signed(step)}*clip((val-${num(i * segment)})/${num(segment)},0,1)`;
    });
    return filterValue(`${first[key]}${terms.join('')}`);
  };
  return `r=${channel('r')}:g=${channel('g')}:b=${channel('b')}`;
}

function shapeText(shape: Shape, job: TextToVideoJob, font: FontChoice): string {
  const x = `(${num(shape.centreX)}+${num(shape.ampX)}*sin(${num(2 * Math.PI * shape.freqX)}*t+${num(shape.phaseX)}))*w-tw/2`;
  const y = `(${num(shape.centreY)}+${num(shape.ampY)}*sin(${num(2 * Math.PI * shape.freqY)}*t+${num(shape.phaseY)}))*h-th/2`;
  return drawtext({
    ...font,
    text: shape.glyph,
    expansion: 'none',
    fontsize: String(Math.round(shape.size * Math.min(job.width, job.height))),
    fontcolor: `${hex(shape.colour)}@${num(shape.opacity)}`,
    x,
    y,
  });
}

function captionText(job: TextToVideoJob, inputs: GraphInputs): string[] {
  const { fontSize, margin } = captionLayout(job);
  const labelSize = Math.max(10, Math.round(fontSize * 0.5));
  const label = drawtext({
    ...inputs.font,
    textfile: inputs.labelFile,
    expansion: 'none',
    fontsize: String(labelSize),
    fontcolor: 'white@0.85',
    box: '1',
    boxcolor: 'black@0.35',
    boxborderw: String(Math.round(labelSize * 0.4)),
    x: String(Math.round(margin / 2)),
    y: String(Math.round(margin / 2)),
  });
  if (!inputs.captionFile) return [label];
  const caption = drawtext({
    ...inputs.font,
    textfile: inputs.captionFile,
    expansion: 'none',
    fontsize: String(fontSize),
    fontcolor: 'white',
    line_spacing: String(Math.round(fontSize * 0.25)),
    box: '1',
    boxcolor: 'black@0.55',
    boxborderw: String(Math.round(fontSize * 0.45)),
    x: '(w-tw)/2',
    y: `h-th-${margin}`,
  });
  return [label, caption];
}

function drawtext(options: Record<string, string>): string {
  return `drawtext=${Object.entries(options)
    .map(([key, value]) => `${key}=${filterValue(value)}`)
    .join(':')}`;
}

function audioChain(job: TextToVideoJob, scene: Scene, withSpeech: boolean): string {
  const samples = SAMPLE_RATE * job.durationSeconds;
  const fadeOut = Math.min(1, job.durationSeconds / 4);
  const stereo = `aformat=sample_fmts=fltp:sample_rates=${SAMPLE_RATE}:channel_layouts=stereo`;
  const bed = `aevalsrc=exprs=${filterValue(bedExpression(scene))}:s=${BED_RATE}:d=${job.durationSeconds},aresample=${SAMPLE_RATE},${stereo}`;
  const tail = [
    // Pad and trim in samples so the track length never depends on source frame sizes.
    `apad=whole_len=${samples}`,
    `atrim=end_sample=${samples}`,
    'afade=t=in:d=0.3',
    `afade=t=out:st=${num(job.durationSeconds - fadeOut)}:d=${num(fadeOut)}`,
    // Source filters emit frames of any size and ffmpeg 5.1 does not re-chunk them for AAC ("more samples than frame size").
    `asetnsamples=n=${AAC_FRAME_SAMPLES}:p=0`,
  ].join(',');
  if (!withSpeech) return `${bed},${tail}[audio]`;
  const speech = [
    `[0:a]aresample=${SAMPLE_RATE}`,
    stereo,
    `adelay=delays=${filterValue(`${SPEECH_DELAY_MS}|${SPEECH_DELAY_MS}`)}`,
    'apad',
  ].join(',');
  // amerge+pan sums at unity gain on every ffmpeg version, unlike amix whose normalisation changed over time.
  return `${bed}[bed];${speech}[speech];[bed][speech]amerge=inputs=2,pan=${filterValue('stereo|c0=c0+0.8*c2|c1=c1+0.8*c3')},${tail}[audio]`;
}

/** A soft chord with a slow tremolo, slightly out of phase between channels for width, plus a breath of noise. */
function bedExpression(scene: Scene): string {
  const totalGain = scene.chord.reduce((sum, tone) => sum + tone.gain, 0);
  const tones = scene.chord.map((tone) => `${num(tone.gain)}*sin(${num(2 * Math.PI * tone.hz)}*t)`).join('+');
  const tremolo = (phase: number): string => `(0.7+0.3*sin(${num(2 * Math.PI * scene.tremoloHz)}*t+${phase}))`;
  const channel = (phase: number): string =>
    `${num(0.09 / totalGain)}*(${tones})*${tremolo(phase)}+0.004*(random(0)-0.5)`;
  return `${channel(0)}|${channel(1.3)}`;
}

/**
 * Escapes a value for both parsing levels it passes through: first the filter's own
 * key=value list (':' separated), then the filtergraph (',' ';' '[' ']' separated).
 */
function filterValue(value: string): string {
  const optionLevel = value.replace(/[\\':\s]/g, '\\$&');
  return optionLevel.replace(/[\\'[\],;\s]/g, '\\$&');
}

function num(value: number): string {
  return Number(value.toFixed(5)).toString();
}

/** A term with its own sign, so expressions never contain '+-' or '--'. */
function signed(value: number): string {
  const text = num(value);
  return text.startsWith('-') ? text : `+${text}`;
}

function hex(colour: Rgb): string {
  return `0x${[colour.r, colour.g, colour.b].map((c) => c.toString(16).padStart(2, '0')).join('')}`;
}
