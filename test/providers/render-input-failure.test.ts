import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failureMessage, failureType } from '../../src/contract/failures.js';
import { checkSubmitRules, SubmitBody } from '../../src/contract/submit.js';
import type { MediaIntake } from '../../src/media/media-intake.js';
import type { PreparedMedia } from '../../src/media/types.js';
import { LocalProvider, RENDER_UNDECODABLE } from '../../src/providers/local/local-provider.js';
import { TaskFailureError, type RunContext } from '../../src/providers/types.js';
import { locateFfmpeg, type FfmpegBinary } from '../../src/render/ffmpeg.js';
import { startTestApp } from '../helpers/test-app.js';
import { MediaFiles, TestServer } from '../media/helpers.js';

/**
 * A task's error never carries a local path or ffmpeg's own output: when an input file stops the
 * render, the client is told which field and why in plain words (invalid_media, its own problem),
 * and ffmpeg's words go to the log; when the render fails for reasons of ours, the message says
 * only that.
 */

/** What a client must never read: a local path, ffmpeg's log prefixes, memory addresses, stderr lines. */
const NOISE = /\/|\bfile:|@ 0x|\[\w+ @|Error while decoding|Invalid data|\n/;

let files: MediaFiles;
let ffmpeg: FfmpegBinary;
let cutPng: string;

beforeAll(async () => {
  files = await MediaFiles.create();
  ffmpeg = await locateFfmpeg();
  const whole = await readFile(await files.image('whole.png', 800, 800));
  cutPng = path.join(files.dir, 'cut.png');
  await writeFile(cutPng, whole.subarray(0, Math.floor(whole.length / 3)));
}, 60_000);

afterAll(() => files?.remove());

/** pino writing JSON lines into an array. */
function capturingLogger(): { logger: pino.Logger; lines: () => Array<Record<string, unknown>> } {
  const raw: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      raw.push(String(chunk));
      done();
    },
  });
  return {
    logger: pino({ level: 'info' }, sink),
    lines: () =>
      raw
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l)),
  };
}

describe('a render stopped by an input file', () => {
  it('fails the task as invalid_media naming the field, with ffmpeg’s words in the log only', async () => {
    // The intake's own decode check would refuse this file first; here it is handed to the renderer as if it
    // had passed, like any file that probes and decodes its start but breaks further in.
    const request = checkSubmitRules(
      SubmitBody.parse({ model: 'doubao-seedance-2.0', prompt: 'a cat', resolution: '480p', duration: 4, image_urls: ['https://example.com/cat.png'] }),
    );
    const prepared: PreparedMedia[] = [
      {
        input: request.media[0]!,
        path: cutPng,
        probe: { format: 'png', mime: 'image/png', bytes: 1000, width: 800, height: 800, hasVideo: false, hasAudio: false },
      },
    ];
    const intake = { prepare: async () => prepared } as unknown as MediaIntake;
    const { logger, lines } = capturingLogger();
    const provider = new LocalProvider('local', 1, ffmpeg, null, intake, logger);
    const workDir = await mkdtemp(path.join(os.tmpdir(), 'vidgate-render-failure-'));
    const ctx: RunContext = {
      signal: new AbortController().signal,
      workDir,
      reportProgress: () => {},
      markProcessing: async () => {},
      park: () => {
        throw new Error('not parked');
      },
      checkpoint: async () => {},
    };
    try {
      const failure = await provider.run({ taskId: 'task_render_failure', request, seed: 1, accountId: 'acct_x', state: null }, ctx).then(
        () => null,
        (err: unknown) => err,
      );
      expect(failure).toBeInstanceOf(TaskFailureError);
      const { failure: stored } = failure as TaskFailureError;
      expect(stored).toEqual({ code: 'invalid_media', params: { field: 'image_urls[0]', detail: RENDER_UNDECODABLE } });
      expect(failureType(stored.code)).toBe('invalid_request_error');
      for (const language of ['en', 'zh', 'ko', 'ja'] as const) expect(failureMessage(stored, language)).not.toMatch(NOISE);

      const logged = lines().find((l) => l.msg === 'render stopped on an input file that does not decode');
      expect(logged).toMatchObject({ taskId: 'task_render_failure', field: 'image_urls[0]' });
      expect(String(logged!.stderr)).toContain('Error while decoding stream #0:0');
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('task errors over the API', () => {
  let server: TestServer;
  let brokenFfmpegDir: string;

  beforeAll(async () => {
    server = await TestServer.start();
    server.file('/cut.png', await readFile(cutPng), 'image/png');
    // Answers -version like ffmpeg (so it is accepted as the renderer) and fails every render, naming local files.
    brokenFfmpegDir = await mkdtemp(path.join(os.tmpdir(), 'vidgate-broken-ffmpeg-'));
    const script = path.join(brokenFfmpegDir, 'ffmpeg');
    await writeFile(
      script,
      `#!/bin/sh\nfor a in "$@"; do [ "$a" = "-version" ] && exec ${ffmpeg.path} "$@"; done\necho "[libx264 @ 0x55d0c0ffee00] ${brokenFfmpegDir}/work/out.mp4: No space left on device" >&2\nexit 1\n`,
    );
    await chmod(script, 0o755);
  });

  afterAll(async () => {
    await server?.close();
    if (brokenFfmpegDir) await rm(brokenFfmpegDir, { recursive: true, force: true });
  });

  async function taskError(env: Record<string, string>, body: Record<string, unknown>) {
    const t = await startTestApp(env);
    try {
      const id = await t.submit(body);
      await t.settled(id);
      const res = await t.app.server.inject({ method: 'GET', url: `/v1/tasks/${id}`, headers: t.auth });
      return { task: res.json().data as { status: string; error: { code: string; message: string; type: string } }, dataDir: t.dataDir };
    } finally {
      await t.close();
    }
  }

  it('an image that does not decode fails as invalid_media, in the client’s words', async () => {
    const { task, dataDir } = await taskError(
      { VIDGATE_MEDIA_ALLOW_HOSTS: '127.0.0.1' },
      { model: 'doubao-seedance-2.0', prompt: 'the cat walks', resolution: '480p', duration: 4, image_urls: [server.url('/cut.png')] },
    );
    expect(task.status).toBe('failed');
    expect(task.error).toEqual({
      code: 'invalid_media',
      type: 'invalid_request_error',
      message: 'image_urls[0] does not meet the media rules: the file is damaged or truncated: its picture could not be decoded',
    });
    expect(task.error.message).not.toContain(dataDir);
  }, 60_000);

  it('a render that fails for reasons of ours says so without paths or ffmpeg output', async () => {
    const { task, dataDir } = await taskError(
      { VIDGATE_FFMPEG: path.join(brokenFfmpegDir, 'ffmpeg') },
      { model: 'doubao-seedance-2.0', prompt: 'a lighthouse', resolution: '480p', duration: 4 },
    );
    expect(task.status).toBe('failed');
    expect(task.error).toEqual({ code: 'render_failed', type: 'server_error', message: 'Video rendering failed: ffmpeg failed (exit code 1)' });
    expect(task.error.message).not.toContain(dataDir);
    expect(task.error.message).not.toContain(brokenFfmpegDir);
  }, 60_000);
});
