import { join } from 'node:path';
import type { TaskRequest } from '../../contract/submit.js';
import { pixelSize, nearestAspect, OUTPUT_FPS } from '../../contract/sizes.js';
import type { FfmpegBinary } from '../../render/ffmpeg.js';
import { renderTextToVideo } from '../../render/text-to-video.js';
import type { TtsEngine } from '../../render/speech.js';
import type { MediaIntake } from '../../media/media-intake.js';
import { TaskFailureError, type Provider, type RunContext, type RunInput, type RunOutput } from '../types.js';

/** Encoder throughput measured on a 2-core machine (pixels per second), used for `estimated_time`. */
const PIXELS_PER_SECOND = 60_000_000;

/** The built-in sandbox: renders every task with ffmpeg on this machine, no keys, no cost. */
export class LocalProvider implements Provider {
  constructor(
    readonly name: string,
    readonly concurrency: number,
    private readonly ffmpeg: FfmpegBinary,
    private readonly tts: TtsEngine | null,
    private readonly intake: MediaIntake,
  ) {}

  estimateSeconds(request: TaskRequest): number {
    const { width, height } = pixelSize(request.resolution, request.size === 'adaptive' ? '16:9' : request.size);
    return Math.max(1, Math.ceil((width * height * OUTPUT_FPS * request.duration) / PIXELS_PER_SECOND));
  }

  async run({ request, seed, accountId }: RunInput, ctx: RunContext): Promise<RunOutput> {
    const prepared = await this.intake.prepare(request.media, { signal: ctx.signal, accountId });
    const media = prepared[0]?.input;
    if (media) {
      throw new TaskFailureError({
        code: 'unsupported_input',
        params: { field: media.field, detail: 'the local renderer makes text-to-video only in this version' },
      });
    }
    const aspect = request.size === 'adaptive' ? nearestAspect() : request.size;
    const { width, height } = pixelSize(request.resolution, aspect);
    const video = join(ctx.workDir, 'video.mp4');
    const lastFrame = request.returnLastFrame ? join(ctx.workDir, 'last_frame.png') : undefined;
    await renderTextToVideo(
      this.ffmpeg,
      {
        prompt: request.prompt,
        seed,
        width,
        height,
        durationSeconds: request.duration,
        generateAudio: request.generateAudio,
        outVideo: video,
        outLastFrame: lastFrame,
        workDir: ctx.workDir,
      },
      { signal: ctx.signal, onProgress: ctx.reportProgress, tts: this.tts },
    );
    return {
      video: { path: video, name: 'video.mp4', contentType: 'video/mp4' },
      lastFrame: lastFrame ? { path: lastFrame, name: 'last_frame.png', contentType: 'image/png' } : null,
    };
  }
}
