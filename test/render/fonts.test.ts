import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drawtext } from '../../src/render/filter-syntax.js';
import { fontChoice, packagedFontFile } from '../../src/render/fonts.js';
import { locateFfmpeg } from '../../src/render/ffmpeg.js';
import { ffmpegBinary } from '../helpers/media-tools.js';

const run = promisify(execFile);

let root: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'vidgate-fonts-'));
});

afterAll(() => rm(root, { recursive: true, force: true }));

/** Share of pixels brighter than mid-grey in a 320×80 black frame with `text` drawn in white. */
async function inkShare(ffmpegPath: string, fontfile: string, text: string): Promise<number> {
  const filter = drawtext({ fontfile, text, fontcolor: 'white', fontsize: '40', x: '10', y: '20' });
  const { stdout } = await run(
    ffmpegPath,
    ['-v', 'error', '-f', 'lavfi', '-i', 'color=c=black:s=320x80:r=1', '-vf', `${filter},format=gray`, '-frames:v', '1', '-f', 'rawvideo', '-'],
    { encoding: 'buffer', maxBuffer: 1024 * 1024 },
  );
  expect(stdout.length).toBe(320 * 80);
  return stdout.filter((level) => level > 128).length / stdout.length;
}

describe('caption font', () => {
  it("uses the system's DejaVu Sans when installed, else the one from the project's dependencies", async () => {
    const packaged = packagedFontFile();
    expect(packaged).toContain(path.join('node_modules', '@fontsource', 'dejavu-sans'));
    expect(fontChoice(path.join(root, 'no-such-font.ttf'))).toEqual({ fontfile: packaged });
    const installed = path.join(root, 'DejaVuSans.ttf');
    await copyFile(packaged!, installed);
    expect(fontChoice(installed)).toEqual({ fontfile: installed });
  });

  it.each([
    { ffmpeg: 'the located ffmpeg', find: () => ffmpegBinary() },
    { ffmpeg: 'the npm ffmpeg', find: () => locateFfmpeg(undefined, '') },
  ])('draws a caption with the packaged font through $ffmpeg', async ({ find }) => {
    const { path: ffmpegPath } = await find();
    const font = packagedFontFile()!;
    const caption = await inkShare(ffmpegPath, font, 'Remember the moon');
    // Glyphs cover part of the frame, and other words cover it differently: real outlines, not a box.
    expect(caption).toBeGreaterThan(0.03);
    expect(caption).toBeLessThan(0.5);
    expect(await inkShare(ffmpegPath, font, 'iii')).toBeLessThan(caption / 2);
  });
});
