/**
 * A channel that renders nothing: every run hands back a copy of one tiny pre-made MP4 at once, so
 * the worker benchmark measures the queue (claim, lease, result storage, settlement, events), not ffmpeg.
 */
import { execFile } from 'node:child_process';
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ProviderRegistry } from '../src/providers/registry.js';
import type { Provider, RunContext, RunInput, RunOutput } from '../src/providers/types.js';

export const NOOP_CHANNEL = 'noop';

class NoopProvider implements Provider {
  readonly name = NOOP_CHANNEL;
  constructor(
    readonly concurrency: number,
    private readonly mp4: string,
  ) {}

  estimateSeconds(): number {
    return 1;
  }

  async run(_input: RunInput, ctx: RunContext): Promise<RunOutput> {
    // The result store moves the file into place: each run needs its own copy.
    const path = join(ctx.workDir, 'video.mp4');
    await copyFile(this.mp4, path);
    return { video: { path, name: 'video.mp4', contentType: 'video/mp4' }, lastFrame: null };
  }
}

export function noopChannels(concurrency: number, mp4: string): ProviderRegistry {
  return new ProviderRegistry().register(new NoopProvider(concurrency, mp4));
}

/** One 16×16 frame of H.264 in an MP4 (a few hundred bytes), made once per run. */
export async function makeTinyMp4(ffmpegPath: string, out: string): Promise<string> {
  await promisify(execFile)(ffmpegPath, [
    '-nostdin',
    '-hide_banner',
    '-loglevel',
    'error',
    '-f',
    'lavfi',
    '-i',
    'color=c=black:s=16x16:r=1:d=1',
    '-frames:v',
    '1',
    '-c:v',
    'libx264',
    '-pix_fmt',
    'yuv420p',
    '-y',
    out,
  ]);
  return out;
}
