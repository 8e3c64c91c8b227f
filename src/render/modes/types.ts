import type { MediaKind, MediaRole } from '../../contract/submit.js';
import type { CaptionFiles } from '../captions.js';
import type { FontChoice } from '../fonts.js';
import type { FilterGraph } from '../graph.js';
import type { TextToVideoJob } from '../text-to-video.js';

/** One input file as the renderer sees it: already fetched, checked and probed. */
export interface RenderMedia {
  kind: MediaKind;
  role: MediaRole;
  /** Local file; read only. */
  path: string;
  width?: number;
  height?: number;
  durationSec?: number;
}

/** A render job with its media (none for text-to-video). */
export interface VideoJob extends TextToVideoJob {
  media: readonly RenderMedia[];
}

/** What every mode module gets to build its part of the graph. */
export interface ModeContext {
  graph: FilterGraph;
  job: VideoJob;
  totalFrames: number;
  font: FontChoice;
  texts: CaptionFiles;
}
