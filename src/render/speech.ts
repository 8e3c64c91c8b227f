import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { SPEECH_DELAY_MS } from './audio.js';
import { findOnPath } from '../tools/binary-lookup.js';

export interface TtsEngine {
  /** `espeak-ng-wasm`: the WebAssembly build of the `espeak-ng` npm package, run by Node. */
  kind: 'espeak-ng' | 'espeak' | 'espeak-ng-wasm';
  /** The system binary, or the npm package's module file. */
  path: string;
}

const QUOTED = /"([^"]*)"|“([^”]*)”|「([^」]*)」|『([^』]*)』/g;
const TTS_TIMEOUT_MS = 30_000;
/** espeak's speaking rate (its -s), in words per minute. */
const WORDS_PER_MINUTE = 150;
/** Short words and pauses go faster than the nominal rate: a quarter more keeps the speech lasting to the clip's end. */
const WORDS_SLACK = 1.25;
/** Text without spaces (CJK) is one "word" to a split: it is bounded by characters at this many per word. */
const CHARS_PER_WORD = 8;
const LINE_PAUSE = ' ... ';

export function quotedDialogue(prompt: string): string[] {
  return [...dialogueLines(prompt)];
}

function* dialogueLines(prompt: string): Generator<string> {
  for (const match of prompt.matchAll(QUOTED)) {
    const text = (match[1] ?? match[2] ?? match[3] ?? match[4] ?? '').trim();
    if (text) yield text;
  }
}

/** How many words of dialogue a clip can hold: those spoken from the speech's start to the clip's end. */
export function dialogueWordBudget(durationSeconds: number): number {
  const speakingSeconds = Math.max(0, durationSeconds - SPEECH_DELAY_MS / 1000);
  return Math.ceil(((speakingSeconds * WORDS_PER_MINUTE) / 60) * WORDS_SLACK);
}

/**
 * The quoted dialogue of the prompt that can be heard in a clip of `durationSeconds`, lines joined by
 * pauses: the soundtrack is cut at the clip's end, so anything beyond the words it can hold would be
 * synthesised only to be thrown away (and a prompt without a length limit could hold megabytes).
 * Empty when there is none.
 */
export function speakableDialogue(prompt: string, durationSeconds: number): string {
  let words = dialogueWordBudget(durationSeconds);
  let chars = words * CHARS_PER_WORD;
  const kept: string[] = [];
  for (const line of dialogueLines(prompt)) {
    const lineWords: string[] = [];
    for (const word of line.split(/\s+/)) {
      if (words === 0 || chars === 0) break;
      const piece = [...word].slice(0, chars).join('');
      lineWords.push(piece);
      words--;
      chars -= [...piece].length;
    }
    if (lineWords.length) kept.push(lineWords.join(' '));
    if (words === 0 || chars === 0) break;
  }
  return kept.join(LINE_PAUSE);
}

/**
 * espeak-ng (or espeak) on the PATH, else the npm `espeak-ng` WebAssembly build, so dialogue is
 * spoken on a machine without the system package. Both write the same WAV; the system binary comes
 * first, as it takes tens of ms a line where the WebAssembly build takes about 0.3 s (it compiles
 * 18 MB of code each run).
 */
export async function locateTts(searchPath = process.env.PATH ?? ''): Promise<TtsEngine | null> {
  for (const kind of ['espeak-ng', 'espeak'] as const) {
    const found = await findOnPath(kind, searchPath);
    if (found) return { kind, path: found };
  }
  const wasm = bundledEspeakModule();
  return wasm ? { kind: 'espeak-ng-wasm', path: wasm } : null;
}

function bundledEspeakModule(): string | null {
  try {
    return createRequire(import.meta.url).resolve('espeak-ng');
  } catch {
    return null;
  }
}

/**
 * Runs the WebAssembly espeak-ng in a Node child process, so synthesis neither blocks the server's
 * event loop nor outlives a cancelled render (the child is killed like the system binary). It
 * takes the same stdin text and writes the same WAV: argv is the module URL, the WAV path, the
 * rate and the voice. The text goes through the module's in-memory file system, as its build
 * reads no real stdin.
 */
const WASM_RUNNER = `
const [moduleUrl, outWav, wordsPerMinute, voice] = process.argv.slice(1);
const { writeFileSync } = await import('node:fs');
const { default: ESpeakNg } = await import(moduleUrl);
const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const errors = [];
const espeak = await ESpeakNg({
  arguments: ['-w', '/speech.wav', '-s', wordsPerMinute, '-v', voice, '-f', '/dialogue.txt'],
  preRun: [(module) => module.FS.writeFile('/dialogue.txt', Buffer.concat(chunks))],
  print: () => {},
  printErr: (line) => errors.push(line),
});
if (process.exitCode || !espeak.FS.analyzePath('/speech.wav').exists) {
  process.stderr.write(errors[0] || 'espeak-ng wrote no speech');
  process.exit(1);
}
writeFileSync(outWav, espeak.FS.readFile('/speech.wav'));
`;

/** The text goes in on stdin: no argument-size limit, and no text is ever parsed as an option. */
export function synthesizeSpeech(tts: TtsEngine, text: string, outWav: string, signal?: AbortSignal): Promise<void> {
  const [file, args] =
    tts.kind === 'espeak-ng-wasm'
      ? [process.execPath, ['--input-type=module', '--eval', WASM_RUNNER, '--', pathToFileURL(tts.path).href, outWav, String(WORDS_PER_MINUTE), 'en']]
      : [tts.path, ['-w', outWav, '-s', String(WORDS_PER_MINUTE), '-v', 'en', '--stdin']];
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    // Aborted by hand rather than with execFile's `signal`, which answers before the child has
    // exited: this callback runs once it is gone, so a cancelled render leaves no process behind.
    const onAbort = () => child.kill('SIGKILL');
    const child = execFile(file, args, { killSignal: 'SIGKILL', timeout: TTS_TIMEOUT_MS }, (error, _stdout, stderr) => {
      signal?.removeEventListener('abort', onAbort);
      if (signal?.aborted) return reject(signal.reason);
      if (!error) return resolve();
      reject(new Error(`${tts.kind} failed: ${stderr.trim() || error.message}`));
    });
    signal?.addEventListener('abort', onAbort, { once: true });
    // An engine that exits before reading everything closes the pipe; the exit callback says why.
    child.stdin?.on('error', () => {});
    child.stdin?.end(text);
  });
}
