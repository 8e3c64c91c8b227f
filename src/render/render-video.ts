import { audioChains, hasAudio, writeBed } from './audio.js';
import { captionFilters, writeTextFiles, type CaptionWindow } from './captions.js';
import { audioEncoderArgs, containerArgs, filterThreadArgs, videoEncoderArgs } from './encode.js';
import { abortReason, runFfmpeg, type FfmpegBinary } from './ffmpeg.js';
import { assertOutput, FPS } from './output-format.js';
import { fontChoice } from './fonts.js';
import { FilterGraph } from './graph.js';
import { extractLastFrame } from './last-frame.js';
import { firstLastFrame } from './modes/first-last-frame.js';
import { imageToVideo } from './modes/image-to-video.js';
import { referenceComposite } from './modes/reference.js';
import { selectMode, type Mode, type ModePlan } from './modes/select.js';
import { soundtrackMix } from './modes/soundtrack.js';
import type { ModeContext, VideoJob } from './modes/types.js';
import { sceneFor } from './scene.js';
import { renderTextToVideo, speechTrack, type RenderOptions } from './text-to-video.js';

export type { RenderMedia, VideoJob } from './modes/types.js';
export type { Mode } from './modes/select.js';

/** The caption stays this long off the first and last frames of the image modes, which must be the images. */
const CLEAN_EDGE_SECONDS = 0.5;

/**
 * Renders any job on the local renderer: text-to-video without media, else the mode its media call for
 * (image-to-video, first + last frame, reference images / video / audio), to the output rules of README: Output.
 * Answers the mode used.
 */
export async function renderVideo(ffmpeg: FfmpegBinary, job: VideoJob, opts: RenderOptions = {}): Promise<Mode> {
  const plan = selectMode(job.media);
  if (plan.mode === 'text-to-video') {
    await renderTextToVideo(ffmpeg, job, opts);
    return plan.mode;
  }
  assertOutput(job);
  const font = fontChoice();
  const texts = await writeTextFiles(job);
  const speechWav = await speechTrack(job, opts);
  if (opts.signal?.aborted) throw abortReason(opts.signal);

  const totalFrames = FPS * job.durationSeconds;
  const ctx: ModeContext = { graph: new FilterGraph(), job, totalFrames, font, texts };
  const picture = modePicture(ctx, plan);
  const imageMode = plan.mode === 'image-to-video' || plan.mode === 'first-last-frame';
  const window: CaptionWindow | undefined = imageMode ? { from: CLEAN_EDGE_SECONDS, to: job.durationSeconds - CLEAN_EDGE_SECONDS } : undefined;
  // The frame count is exact by construction; the trim makes it so whatever a source does.
  ctx.graph.add(`${picture}${[...captionFilters(job, font, texts, window), `trim=end_frame=${totalFrames}`].join(',')}[video]`);

  let mix = soundtrackMix(ctx, sceneFor(job.prompt, job.seed), speechWav, plan.mode === 'reference' ? plan.audios : []);
  if (mix.bed) {
    const bed = await writeBed(mix.bed, job.durationSeconds, job.workDir);
    mix = { ...mix, bedInput: `[${ctx.graph.input(bed.file, bed.inputOptions)}:a]` };
  }
  const withAudio = hasAudio(mix);
  if (withAudio) ctx.graph.add(audioChains(mix));

  const args = [...filterThreadArgs(), ...ctx.graph.inputArgs, '-filter_complex', ctx.graph.filterComplex, '-map', '[video]'];
  if (withAudio) args.push('-map', '[audio]', ...audioEncoderArgs());
  args.push(...videoEncoderArgs(job), ...containerArgs(job.outVideo));
  await runFfmpeg(ffmpeg, args, { signal: opts.signal, totalFrames, onProgress: opts.onProgress });
  if (job.outLastFrame) await extractLastFrame(ffmpeg, job.outVideo, totalFrames, job.outLastFrame, opts.signal);
  return plan.mode;
}

function modePicture(ctx: ModeContext, plan: Exclude<ModePlan, { mode: 'text-to-video' }>): string {
  switch (plan.mode) {
    case 'image-to-video':
      return imageToVideo(ctx, plan.first);
    case 'first-last-frame':
      return firstLastFrame(ctx, plan.first, plan.last);
    case 'reference':
      return referenceComposite(ctx, plan.images, plan.videos);
  }
}
