import { fileTypeFromFile } from 'file-type';
import type { MediaKind } from '../contract/submit.js';
import { invalidMedia } from './errors.js';

export interface SniffedType {
  /** Format family as MediaProbe.format names it: 'jpeg', 'png', 'mp4', 'mov', 'mp3', 'wav', … */
  format: string;
  mime: string;
  /** File name extension to store it under, so tools that look at names (ffmpeg's image2) behave. */
  ext: string;
}

/** file-type's extension → our format name, per kind (README: Media). */
const FORMATS: Record<MediaKind, Readonly<Record<string, SniffedType>>> = {
  image: {
    jpg: { format: 'jpeg', mime: 'image/jpeg', ext: 'jpg' },
    png: { format: 'png', mime: 'image/png', ext: 'png' },
    apng: { format: 'png', mime: 'image/png', ext: 'png' },
    webp: { format: 'webp', mime: 'image/webp', ext: 'webp' },
    bmp: { format: 'bmp', mime: 'image/bmp', ext: 'bmp' },
    tif: { format: 'tiff', mime: 'image/tiff', ext: 'tif' },
    gif: { format: 'gif', mime: 'image/gif', ext: 'gif' },
  },
  video: {
    mp4: { format: 'mp4', mime: 'video/mp4', ext: 'mp4' },
    // An .m4v is an MP4 file with another brand in its ftyp box.
    m4v: { format: 'mp4', mime: 'video/mp4', ext: 'mp4' },
    mov: { format: 'mov', mime: 'video/quicktime', ext: 'mov' },
  },
  audio: {
    mp3: { format: 'mp3', mime: 'audio/mpeg', ext: 'mp3' },
    wav: { format: 'wav', mime: 'audio/wav', ext: 'wav' },
  },
};

const ALLOWED_TEXT: Record<MediaKind, string> = {
  image: 'an image (jpeg, png, webp, bmp, tiff or gif)',
  video: 'a video (mp4 or mov)',
  audio: 'audio (mp3 or wav)',
};

/** The file's real type, read from its bytes; the URL's extension and Content-Type are not trusted. */
export async function sniffFile(path: string): Promise<{ ext: string; mime: string } | undefined> {
  return fileTypeFromFile(path);
}

/** The sniffed type when it is one `kind` allows; otherwise an invalid_media problem naming both. */
export function acceptType(kind: MediaKind, found: { ext: string; mime: string } | undefined): SniffedType {
  const accepted = found ? FORMATS[kind][found.ext] : undefined;
  if (accepted) return accepted;
  const what = found ? `${found.ext} (${found.mime})` : 'not a recognised media format (text or unknown bytes)';
  throw invalidMedia(`the file is ${what}; it must be ${ALLOWED_TEXT[kind]}`);
}
