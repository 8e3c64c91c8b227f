import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captionLayout, wrapCaption } from '../../src/render/captions.js';
import { locateFfmpeg, type FfmpegBinary } from '../../src/render/ffmpeg.js';
import { dialogueWordBudget, speakableDialogue, type TtsEngine } from '../../src/render/speech.js';
import { renderTextToVideo } from '../../src/render/text-to-video.js';
import { probe } from '../helpers/ffprobe.js';
import { ttsEngine } from '../helpers/media-tools.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';

/**
 * doubao-seedance-2.0-mini has no prompt limit: a prompt of 300 KB of quoted dialogue must render
 * like any other, speaking only what the clip can hold (no `spawn E2BIG`, no server_error) and
 * captioning only what four lines can show.
 */

const LINE = 'Remember, you must never point your finger at the moon.';
/** About 300 KB: a few thousand quoted lines between stage directions. */
const HUGE_PROMPT = Array.from({ length: 4800 }, (_, i) => `Scene ${i}: the old man says "${LINE}"`).join(' ');

/** The server's speech engine: espeak on the PATH, else the npm espeak-ng build. */
const tts: TtsEngine | null = await ttsEngine();
let root: string;
let ffmpeg: FfmpegBinary;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'vidgate-long-prompt-'));
  ffmpeg = await locateFfmpeg();
});

afterAll(() => rm(root, { recursive: true, force: true }));

describe('the dialogue spoken', () => {
  const words = (text: string) => text.split(/\s+/).filter((w) => w !== '...').length;

  it('is bounded by what the clip can hold, from the start of the dialogue', () => {
    expect(HUGE_PROMPT.length).toBeGreaterThan(290_000);
    for (const seconds of [4, 15]) {
      const spoken = speakableDialogue(HUGE_PROMPT, seconds);
      expect(words(spoken)).toBe(dialogueWordBudget(seconds));
      expect(spoken.startsWith(`${LINE} ... ${LINE.split(' ')[0]}`)).toBe(true);
    }
    // 150 words a minute from 0.5 s in, plus a quarter: 46 words for 15 s, 11 for 4 s.
    expect([dialogueWordBudget(4), dialogueWordBudget(15)]).toEqual([11, 46]);
  });

  it('bounds unspaced text by characters', () => {
    const spoken = speakableDialogue(`「${'猫'.repeat(100_000)}」`, 15);
    expect([...spoken].length).toBe(dialogueWordBudget(15) * 8);
  });

  it('keeps short dialogue whole', () => {
    expect(speakableDialogue(`He says: "${LINE}" and she answers “Never.”`, 15)).toBe(`${LINE} ... Never.`);
    expect(speakableDialogue('no dialogue here', 15)).toBe('');
  });
});

describe('the caption', () => {
  it('shows four lines of a huge prompt, ending in an ellipsis, as fast as a short one', () => {
    const { maxCharsPerLine } = captionLayout({ width: 864, height: 480 });
    const started = performance.now();
    const lines = wrapCaption(HUGE_PROMPT, maxCharsPerLine);
    expect(performance.now() - started).toBeLessThan(200);
    expect(lines).toHaveLength(4);
    expect(lines[3]!.endsWith('…')).toBe(true);
    expect(lines.join(' ').startsWith('Scene 0: the old man says')).toBe(true);
  });
});

describe('rendering a 300 KB prompt with audio', () => {
  it('speaks about as long as the clip and renders every frame', async () => {
    expect(tts, 'espeak on PATH or the espeak-ng npm package').not.toBeNull();
    const workDir = await mkdtemp(path.join(root, 'render-'));
    const outVideo = path.join(workDir, 'out.mp4');
    await renderTextToVideo(
      ffmpeg,
      { prompt: HUGE_PROMPT, seed: 3, width: 864, height: 480, durationSeconds: 4, generateAudio: true, outVideo, workDir },
      { tts },
    );
    const speech = await probe(path.join(workDir, 'speech.wav'));
    // The bound fills the clip (it is not silent) without synthesising minutes that would be cut.
    expect(speech.durationSec).toBeGreaterThan(2);
    expect(speech.durationSec).toBeLessThan(6);
    const video = await probe(outVideo);
    expect(video).toMatchObject({ width: 864, height: 480, frames: 96, hasAudio: true, audioChannels: 2 });
    const caption = await readFile(path.join(workDir, 'caption.txt'), 'utf8');
    expect(caption.split('\n')).toHaveLength(4);
  }, 60_000);
});

describe('a mini task with a 300 KB prompt', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  it('completes with a soundtrack through the API', async () => {
    const id = await t.submit({ model: 'doubao-seedance-2.0-mini', prompt: HUGE_PROMPT, resolution: '480p', duration: 4, generate_audio: true });
    expect((await t.settled(id)).status).toBe('completed');
    const res = await t.app.server.inject({ method: 'GET', url: `/v1/tasks/${id}/content`, headers: t.auth });
    expect(res.statusCode).toBe(200);
    const file = path.join(root, 'mini.mp4');
    await writeFile(file, res.rawPayload);
    expect(await probe(file)).toMatchObject({ width: 864, height: 480, frames: 96, hasAudio: true });
  }, 60_000);
});
