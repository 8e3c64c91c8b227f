import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastFrameAsPng } from '../../src/providers/upstream/result-files.js';
import { locateFfmpeg } from '../../src/render/ffmpeg.js';
import { probe } from '../helpers/ffprobe.js';
import { ffmpeg, ffmpegBinary } from '../helpers/media-tools.js';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

let root: string;
let jpeg: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'vidgate-result-files-'));
  jpeg = path.join(root, 'frame.jpg');
  await ffmpeg(['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=s=320x180:r=1', '-frames:v', '1', jpeg]);
});

afterAll(() => rm(root, { recursive: true, force: true }));

describe('lastFrameAsPng', () => {
  // Work folders are named after the lease owner, URL-encoded ("vm%2F123%2F…"): a '%' that ffmpeg's
  // image2 muxer would read as a frame-number pattern unless told to write the one file named.
  it.each([
    { ffmpeg: 'the located ffmpeg', find: () => ffmpegBinary() },
    { ffmpeg: 'the npm ffmpeg', find: () => locateFfmpeg(undefined, '') },
  ])('converts a JPEG into the PNG named, in a work folder with % in its name, with $ffmpeg', async ({ find }) => {
    const binary = await find();
    const workDir = await mkdtemp(path.join(root, 'vm%2F26559%2F'));
    const downloaded = path.join(workDir, 'last_frame.download');
    await copyFile(jpeg, downloaded);
    const png = path.join(workDir, 'last_frame.png');
    await lastFrameAsPng(downloaded, png, binary, new AbortController().signal);
    expect((await readFile(png)).subarray(0, 8)).toEqual(PNG_SIGNATURE);
    expect(await probe(png)).toMatchObject({ width: 320, height: 180, videoCodec: 'png' });
    expect(existsSync(downloaded)).toBe(false);
  });
});
