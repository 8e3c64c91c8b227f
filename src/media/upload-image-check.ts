import { MediaProblem } from './errors.js';
import type { StillCheck } from './still-check.js';
import { UPLOAD_TYPES_TEXT, UploadImageError, type UploadImageCheck } from '../storage/upload-storage.js';

/**
 * The media rules' image check (size from the header first, then a bounded decode) for uploads, so
 * an image that a task would refuse is refused at once with a 400. Problems about the size complete
 * a sentence about the image; problems about broken bytes say what to send instead.
 */
export function uploadImageCheck(stills: StillCheck): UploadImageCheck {
  return async (path) => {
    try {
      await stills.check(path);
    } catch (err) {
      if (!(err instanceof MediaProblem)) throw err;
      const { detail } = err;
      throw new UploadImageError(/^(is|has) /.test(detail) ? `the image ${detail}` : `${detail}; upload a complete ${UPLOAD_TYPES_TEXT} image`);
    }
  };
}
