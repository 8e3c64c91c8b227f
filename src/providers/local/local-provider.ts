import { join } from 'node:path';
import type { Logger } from 'pino';
import type { TaskRequest } from '../../contract/submit.js';
import { ASPECTS, nearestAspect, OUTPUT_FPS, pixelSize, type PixelSize } from '../../contract/sizes.js';
import { mediaFailure } from '../../media/errors.js';
import { FfmpegError, type FfmpegBinary } from '../../render/ffmpeg.js';
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
/** What a client is told when the renderer could not decode one of its files to the end. */
export const RENDER_UNDECODABLE = 'the file could not be decoded while rendering: it is damaged or truncated';

/** The built-in sandbox: renders every task with ffmpeg on this machine, no keys, no cost. */
export class LocalProvider implements Provider {
  constructor(
    readonly name: string,
    readonly concurrency: number,
    private readonly ffmpeg: FfmpegBinary,
    private readonly tts: TtsEngine | null,
    private readonly intake: MediaIntake,
    private readonly logger?: Logger,
  ) {}

  estimateSeconds(request: TaskRequest): number {
    // `adaptive` depends on media not fetched yet: assume the largest frame of the resolution.
    const sizes = request.size === 'adaptive' ? ASPECTS.map((aspect) => pixelSize(request.resolution, aspect)) : [pixelSize(request.resolution, request.size)];
    const pixels = Math.max(...sizes.map(({ width, height }) => width * height));
    const hasVideo = request.media.some((m) => m.kind === 'video');
    const render = ((pixels * OUTPUT_FPS * request.duration) / PIXELS_PER_SECOND) * (hasVideo ? REFERENCE_VIDEO_FACTOR : 1);
    return Math.max(1, Math.ceil(render + (request.media.length > 0 ? MEDIA_SECONDS : 0)));
  }

  async run({ taskId, request, seed, accountId }: RunInput, ctx: RunContext): Promise<RunOutput> {
    const prepared = await this.intake.prepare(request.media, { signal: ctx.signal, accountId, taskId, renderCopies: true });
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
    ).catch((err: unknown) => {
      throw this.blame(err, prepared, taskId);
    });
    const referenceVideos = prepared.filter((m) => m.input.kind === 'video');
    return {
      video: { path: video, name: 'video.mp4', contentType: 'video/mp4' },
      lastFrame: lastFrame ? { path: lastFrame, name: 'last_frame.png', contentType: 'image/png' } : null,
      // Reference-video prices are billed on input + output seconds (README: Money).
      usage: referenceVideos.length > 0 ? { referenceVideoSeconds: referenceVideos.reduce((sum, m) => sum + (m.probe.durationSec ?? 0), 0) } : undefined,
    };
  }

  /**
   * A render that ffmpeg stopped because one of the task's own files would not decode is the
   * client's problem (invalid_media naming the field), told in plain words; what ffmpeg said goes to
   * the log. Any other failure is ours and passes on.
   */
  private blame(err: unknown, prepared: readonly PreparedMedia[], taskId: string): unknown {
    if (!(err instanceof FfmpegError)) return err;
    const blamed = err.blamedInput();
    const culprit = blamed ? prepared.find((m) => renderPath(m) === blamed) : undefined;
    if (!culprit) return err;
    this.logger?.info({ taskId, field: culprit.input.field, status: err.status, stderr: err.stderr }, 'render stopped on an input file that does not decode');
    return mediaFailure('invalid_media', culprit.input.field, RENDER_UNDECODABLE);
  }
}

/** The file renders read: an image's output-sized copy when the intake made one. */
const renderPath = (prepared: PreparedMedia) => prepared.stillPath ?? prepared.path;

function renderMedia(prepared: PreparedMedia): RenderMedia {
  const { input, probe } = prepared;
  return { kind: input.kind, role: input.role, path: renderPath(prepared), width: probe.width, height: probe.height, durationSec: probe.durationSec };
}

/** README: Output: by resolution and size; `adaptive` takes the aspect nearest the first image, else the first video. */
export function outputSize(request: Pick<TaskRequest, 'resolution' | 'size'>, media: readonly RenderMedia[]): PixelSize {
  if (request.size !== 'adaptive') return pixelSize(request.resolution, request.size);
  const source = adaptiveSource(media);
  return pixelSize(request.resolution, nearestAspect(source?.width, source?.height));
}
