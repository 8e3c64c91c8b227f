import { join } from 'node:path';
import type { TaskRequest } from '../../contract/submit.js';
import { ASPECTS, nearestAspect, OUTPUT_FPS, pixelSize, type PixelSize } from '../../contract/sizes.js';
import type { FfmpegBinary } from '../../render/ffmpeg.js';
import { adaptiveSource } from '../../render/modes/select.js';
import { renderVideo, type RenderMedia } from '../../render/render-video.js';
import type { TtsEngine } from '../../render/speech.js';
import type { MediaIntake } from '../../media/media-intake.js';
import type { PreparedMedia } from '../../media/types.js';
import type { Provider, RunContext, RunInput, RunOutput } from '../types.js';

/** Encoder throughput measured on a 2-core machine (pixels per second), used for `estimated_time`. */
const PIXELS_PER_SECOND = 60_000_000;
/** Decoding, fitting and restyling reference videos costs about half as much again as the encode. */
const REFERENCE_VIDEO_FACTOR = 1.5;
/** Fetching and probing the inputs. */
const MEDIA_SECONDS = 1;

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
    // `adaptive` depends on media not fetched yet: assume the largest frame of the resolution.
    const sizes = request.size === 'adaptive' ? ASPECTS.map((aspect) => pixelSize(request.resolution, aspect)) : [pixelSize(request.resolution, request.size)];
    const pixels = Math.max(...sizes.map(({ width, height }) => width * height));
    const hasVideo = request.media.some((m) => m.kind === 'video');
    const render = ((pixels * OUTPUT_FPS * request.duration) / PIXELS_PER_SECOND) * (hasVideo ? REFERENCE_VIDEO_FACTOR : 1);
    return Math.max(1, Math.ceil(render + (request.media.length > 0 ? MEDIA_SECONDS : 0)));
  }

  async run({ request, seed, accountId }: RunInput, ctx: RunContext): Promise<RunOutput> {
    const prepared = await this.intake.prepare(request.media, { signal: ctx.signal, accountId });
    const media = prepared.map(renderMedia);
    const { width, height } = outputSize(request, media);
    const video = join(ctx.workDir, 'video.mp4');
    const lastFrame = request.returnLastFrame ? join(ctx.workDir, 'last_frame.png') : undefined;
    await renderVideo(
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
        media,
      },
      { signal: ctx.signal, onProgress: ctx.reportProgress, tts: this.tts },
    );
    const referenceVideos = prepared.filter((m) => m.input.kind === 'video');
    return {
      video: { path: video, name: 'video.mp4', contentType: 'video/mp4' },
      lastFrame: lastFrame ? { path: lastFrame, name: 'last_frame.png', contentType: 'image/png' } : null,
      // Reference-video prices are billed on input + output seconds (SPEC §6).
      usage: referenceVideos.length > 0 ? { referenceVideoSeconds: referenceVideos.reduce((sum, m) => sum + (m.probe.durationSec ?? 0), 0) } : undefined,
    };
  }
}

function renderMedia(prepared: PreparedMedia): RenderMedia {
  const { input, path, probe } = prepared;
  return { kind: input.kind, role: input.role, path, width: probe.width, height: probe.height, durationSec: probe.durationSec };
}

/** SPEC §5: by resolution and size; `adaptive` takes the aspect nearest the first image, else the first video. */
export function outputSize(request: Pick<TaskRequest, 'resolution' | 'size'>, media: readonly RenderMedia[]): PixelSize {
  if (request.size !== 'adaptive') return pixelSize(request.resolution, request.size);
  const source = adaptiveSource(media);
  return pixelSize(request.resolution, nearestAspect(source?.width, source?.height));
}
