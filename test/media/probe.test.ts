import { execFile } from 'node:child_process';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaProblem } from '../../src/media/errors.js';
import { FfprobeProber, locateFfprobe } from '../../src/media/probe.js';
import { ffmpegBinary, ffprobeBinary } from '../helpers/media-tools.js';
import { MediaFiles } from './helpers.js';

const run = promisify(execFile);

describe('probe', () => {
  let files: MediaFiles;
  let video: string;
  let withCover: string;
  let text: string;

  beforeAll(async () => {
    files = await MediaFiles.create();
    const [clip, tone, cover] = await Promise.all([files.video('clip.mp4', 864, 480, 2, 30), files.audio('tone.mp3', 3), files.image('cover.jpg', 300, 300)]);
    video = clip;
    // An mp3 with cover art: ffprobe lists the picture as a video stream, which must not count as video.
    withCover = join(files.dir, 'cover.mp3');
    await run((await ffmpegBinary()).path, [
      '-loglevel',
      'error',
      '-y',
      '-i',
      tone,
      '-i',
      cover,
      '-map',
      '0',
      '-map',
      '1',
      '-c',
      'copy',
      '-id3v2_version',
      '3',
      '-disposition:v',
      'attached_pic',
      withCover,
    ]);
    text = join(files.dir, 'notes.mp4');
    await writeFile(text, 'not a video at all');
  });

  afterAll(async () => {
    await files?.remove();
  });

  it('finds ffprobe on PATH, else the npm-shipped binary, and honours VIDGATE_FFPROBE', async () => {
    const npm = await locateFfprobe(undefined, '');
    expect(npm.source).toBe('npm');
    expect(npm.path).toContain('@ffprobe-installer');
    expect(await locateFfprobe(npm.path)).toEqual({ path: npm.path, source: 'env' });
    await expect(locateFfprobe('/nonexistent/ffprobe')).rejects.toThrow('VIDGATE_FFPROBE=/nonexistent/ffprobe is not a runnable ffprobe binary');
    // A PATH of its own, so the PATH lookup is tested whether or not the machine has an ffprobe.
    const bin = join(files.dir, 'bin');
    await mkdir(bin);
    await symlink(npm.path, join(bin, 'ffprobe'));
    expect(await locateFfprobe(undefined, ['/nonexistent', bin].join(':'))).toEqual({ path: join(bin, 'ffprobe'), source: 'path' });
  });

  it.each(['located', 'npm'] as const)('reads size, duration, fps and streams (%s binary)', async (which) => {
    const binary = which === 'located' ? await ffprobeBinary() : await locateFfprobe(undefined, '');
    const prober = new FfprobeProber(binary.path);
    const result = await prober.probe(video);
    expect(result).toMatchObject({ width: 864, height: 480, fps: 30, hasVideo: true, hasAudio: false, videoCodec: 'h264' });
    expect(result.durationSec).toBeCloseTo(2, 1);
    const audio = await prober.probe(withCover);
    expect(audio).toMatchObject({ hasVideo: false, hasAudio: true, audioCodec: 'mp3' });
    expect(audio.durationSec).toBeCloseTo(3, 0);
  });

  it('reports bytes that are not media as invalid_media', async () => {
    const prober = new FfprobeProber((await ffprobeBinary()).path);
    const problem = await prober.probe(text).catch((err: unknown) => err);
    expect(problem).toBeInstanceOf(MediaProblem);
    expect((problem as MediaProblem).code).toBe('invalid_media');
    expect((problem as MediaProblem).detail).toMatch(/^the file could not be decoded: /);
    // The client's words carry no path; ffprobe's, which name the file, are kept for the log.
    expect((problem as MediaProblem).detail).not.toContain(text);
    expect((problem as MediaProblem).diagnostic).toContain(text);
  });

  it('stops with the caller’s reason when aborted', async () => {
    const prober = new FfprobeProber((await ffprobeBinary()).path);
    const controller = new AbortController();
    const reason = new Error('cancelled');
    controller.abort(reason);
    await expect(prober.probe(video, { signal: controller.signal })).rejects.toBe(reason);
  });
});
