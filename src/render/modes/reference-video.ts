import { filterValue } from '../filter-syntax.js';
import { FPS } from '../output-format.js';
import { fitChains, fitFor } from '../fit.js';
import { restyle, restylesBeforeFit, type Style } from './styles.js';
import type { ModeContext, RenderMedia } from './types.js';

/**
 * How many output frames each reference video gets: the clip's length is shared out in proportion to
 * the videos' durations, so every video shows, in order, each cut short or looped to fill its share.
 */
export function frameShares(totalFrames: number, durations: readonly number[]): number[] {
  const total = durations.reduce((sum, d) => sum + Math.max(d, 0), 0);
  if (durations.length === 0) return [];
  let before = 0;
  let seen = 0;
  return durations.map((duration, i) => {
    seen += Math.max(duration, 0);
    const upTo =
      i === durations.length - 1 ? totalFrames : total > 0 ? Math.round((totalFrames * seen) / total) : Math.round((totalFrames * (i + 1)) / durations.length);
    const share = upTo - before;
    before = upTo;
    return share;
  });
}

/**
 * The reference videos as the motion base: each decoded (looping for ever at the demuxer, which costs
 * no memory), brought to 24 fps, cut to its share of frames, fitted to the output size, then all joined
 * in order; restyled when the prompt asks for a style, each clip at the smaller of its own size and the
 * frame's where the style allows (see restylesBeforeFit). Answers the label of the base clip.
 */
export function referenceVideoBase(ctx: ModeContext, videos: readonly RenderMedia[], style: Style | null): string {
  const { graph, job, totalFrames } = ctx;
  const frame = { width: job.width, height: job.height };
  const shares = frameShares(
    totalFrames,
    videos.map((v) => v.durationSec ?? 0),
  );
  const clips = videos
    .map((video, i) => ({ video, share: shares[i]! }))
    .filter(({ share }) => share > 0)
    .map(({ video, share }) => {
      const input = graph.input(video.path, ['-stream_loop', '-1']);
      const cut = graph.label('cut');
      const fitted = graph.label('fitted');
      const clip = graph.label('clip');
      // Cut before scaling so no frame is scaled only to be dropped.
      graph.add(`[${input}:v]setpts=PTS-STARTPTS,fps=${FPS},trim=end_frame=${share}${cut}`);
      const early = style && restylesBeforeFit(style) ? smallerSource(video, frame) : null;
      let source = cut;
      if (style && early) {
        // Even sides and square pixels, as the fit makes them (scale passes even frames through untouched);
        // the decoded size, not the probed one, which a rotated video's is not.
        const sized = graph.label('sized');
        source = graph.label(style);
        graph.add(`${cut}scale=${filterValue('trunc(iw/2)*2')}:${filterValue('trunc(ih/2)*2')},setsar=1,format=yuv420p${sized}`);
        restyle(graph, style, sized, source, early);
      }
      fitChains(graph, source, fitted, frame, fitFor(video, frame), video, 'bilinear');
      if (style && !early) {
        const styled = graph.label(style);
        restyle(graph, style, fitted, styled, frame);
        graph.add(`${styled}setpts=N/(${FPS}*TB)${clip}`);
      } else {
        graph.add(`${fitted}setpts=N/(${FPS}*TB)${clip}`);
      }
      return clip;
    });
  const joined = graph.label('motion');
  graph.add(clips.length === 1 ? `${clips[0]}null${joined}` : `${clips.join('')}concat=n=${clips.length}:v=1:a=0,setpts=N/(${FPS}*TB)${joined}`);
  return joined;
}

/** The video's own size (made even) when it has fewer pixels than the frame, else null. */
function smallerSource(video: RenderMedia, frame: { width: number; height: number }): { width: number; height: number } | null {
  if (!video.width || !video.height || video.width * video.height >= frame.width * frame.height) return null;
  const even = (n: number) => Math.max(16, 2 * Math.round(n / 2));
  return { width: even(video.width), height: even(video.height) };
}
