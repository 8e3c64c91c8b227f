import { execFile } from 'node:child_process';
import { findOnPath } from './ffmpeg.js';

export interface TtsEngine {
  kind: 'espeak-ng' | 'espeak';
  path: string;
}

const QUOTED = /"([^"]*)"|“([^”]*)”|「([^」]*)」|『([^』]*)』/g;
const TTS_TIMEOUT_MS = 30_000;

export function quotedDialogue(prompt: string): string[] {
  const lines: string[] = [];
  for (const match of prompt.matchAll(QUOTED)) {
    const text = (match[1] ?? match[2] ?? match[3] ?? match[4] ?? '').trim();
    if (text) lines.push(text);
  }
  return lines;
}

export async function locateTts(): Promise<TtsEngine | null> {
  for (const kind of ['espeak-ng', 'espeak'] as const) {
    const found = await findOnPath(kind);
    if (found) return { kind, path: found };
  }
  return null;
}

export function synthesizeSpeech(tts: TtsEngine, text: string, outWav: string, signal?: AbortSignal): Promise<void> {
  // '--' ends option parsing so dialogue that starts with '-' is spoken rather than parsed as a flag.
  const args = ['-w', outWav, '-s', '150', '-v', 'en', '--', text];
  return new Promise((resolve, reject) => {
    execFile(tts.path, args, { signal, killSignal: 'SIGKILL', timeout: TTS_TIMEOUT_MS }, (error, _stdout, stderr) => {
      if (!error) return resolve();
      if (error.name === 'AbortError') return reject(signal?.reason ?? error);
      reject(new Error(`${tts.kind} failed: ${stderr.trim() || error.message}`));
    });
  });
}
