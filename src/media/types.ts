import type { MediaInput } from '../contract/submit.js';
import type { ProbeResult } from './probe.js';

/** What probing a media file found: ffprobe's findings, and what its bytes said. Absent fields did not apply (an image has no duration). */
export interface MediaProbe extends Pick<ProbeResult, 'width' | 'height' | 'durationSec' | 'fps' | 'hasVideo' | 'hasAudio'> {
  /** Container/format family sniffed from the bytes, e.g. 'jpeg', 'png', 'mp4', 'mov', 'mp3', 'wav'. */
  format: string;
  mime: string;
  bytes: number;
}

/** A submitted media reference, fetched (or read from local storage), checked and probed. */
export interface PreparedMedia {
  input: MediaInput;
  /** Local file the renderer may read; owned by the media cache, never modified or deleted by callers. */
  path: string;
  /**
   * For an image that would cost a render far more to decode than any output needs (deep colour,
   * sides beyond 4K): an 8-bit copy no larger than the largest output, same aspect, for renderers
   * to read instead of `path`. Owned by the media cache too.
   */
  stillPath?: string;
  probe: MediaProbe;
}
