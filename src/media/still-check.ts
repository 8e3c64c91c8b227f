import { Slots } from '../concurrency/slots.js';
import { invalidMedia } from './errors.js';
import { readImageHeader } from './image-header.js';
import { imageSizeProblem } from './media-rules.js';
import type { MediaProber, PictureProbe } from './probe.js';

export const PICTURE_UNDECODABLE = 'the file is damaged or truncated: its picture could not be decoded';

/**
 * Checks a still image in the order that keeps it cheap: the size its header states (no decoding)
 * against the image rules of README: Media, and only then a decode of its first picture, which proves the
 * bytes are a whole image. A full decode of the largest allowed image takes a few hundred MB, so
 * only a few run at once. Throws a MediaProblem (invalid_media).
 */
export class StillCheck {
  private readonly decodes: Slots;

  constructor(
    private readonly prober: MediaProber,
    opts: { concurrentDecodes?: number } = {},
  ) {
    this.decodes = new Slots(opts.concurrentDecodes ?? 2);
  }

  async check(path: string, signal?: AbortSignal): Promise<PictureProbe> {
    const header = await readImageHeader(path);
    const problem = imageSizeProblem(header.width, header.height);
    if (problem) throw invalidMedia(problem);
    const picture = await this.decodes.with(signal, () => this.prober.firstPicture(path, { signal }));
    if (!picture) throw invalidMedia(PICTURE_UNDECODABLE);
    // The decoder's size is what the renderer will see, should a header have told it otherwise.
    const decodedProblem = imageSizeProblem(picture.width, picture.height);
    if (decodedProblem) throw invalidMedia(decodedProblem);
    return picture;
  }
}
