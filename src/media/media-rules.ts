import type { MediaKind } from '../contract/submit.js';
import { invalidMedia, mediaFailure } from './errors.js';
import type { MediaProbe, PreparedMedia } from './types.js';

/**
 * The media rules of README: Media, checked on probes. Per-file rules throw a MediaProblem (the caller
 * names the field); rules on totals name the field family (`video_urls`).
 */

const MB = 1024 * 1024;

/** Largest byte count allowed for one file of each kind ("< 30 MB" → 30 MB − 1). */
export const MAX_FILE_BYTES: Readonly<Record<MediaKind, number>> = { image: 30 * MB - 1, video: 50 * MB - 1, audio: 15 * MB - 1 };

export const SIZE_RULES: Readonly<Record<MediaKind, string>> = {
  image: 'images must be smaller than 30 MB',
  video: 'reference videos must be smaller than 50 MB',
  audio: 'reference audio must be smaller than 15 MB',
};

const FORMATS: Readonly<Record<MediaKind, readonly string[]>> = {
  image: ['jpeg', 'png', 'webp', 'bmp', 'tiff', 'gif'],
  video: ['mp4', 'mov'],
  audio: ['mp3', 'wav'],
};

const IMAGE_SIDE = { min: 300, max: 6000 };
const IMAGE_ASPECT = { min: 0.4, max: 2.5 };
/** 480p–720p by pixel count (Ark), whatever the shape: 640×640 is the least, 1112×834 the most. */
const VIDEO_PIXELS = { min: 409_600, max: 927_408 };
/** 23.97 so that the NTSC film rate 24000/1001 counts as the 24 fps it is meant to be. */
const VIDEO_FPS = { min: 23.97, max: 60.01 };
/** Seed: more than 1.8 s and less than 15.2 s of reference video in all. */
const VIDEO_TOTAL_SEC = { min: 1.8, max: 15.2 };
const VIDEO_TOTAL_BYTES = 50 * MB;
/** Seed: at most 15 s; a tenth of a second of slack for encoder padding (an mp3 "of 15 s" probes as 15.05). */
const AUDIO_TOTAL_SEC = 15;
const AUDIO_SLACK_SEC = 0.1;
const AUDIO_TOTAL_BYTES = 15 * MB;

/** Rules one file must meet on its own; throws a MediaProblem (invalid_media). */
export function checkFile(kind: MediaKind, probe: MediaProbe): void {
  if (!FORMATS[kind].includes(probe.format)) {
    throw invalidMedia(`the file is ${probe.format}; allowed formats are ${FORMATS[kind].join(', ')}`);
  }
  if (probe.bytes > MAX_FILE_BYTES[kind]) throw invalidMedia(`the file has ${grouped(probe.bytes)} bytes; ${SIZE_RULES[kind]}`);
  if (kind === 'image') checkImage(probe);
  else if (kind === 'video') checkVideo(probe);
  else checkAudio(probe);
}

function checkImage(probe: MediaProbe): void {
  const { width, height } = probe;
  if (width === undefined || height === undefined) throw invalidMedia('the image size could not be read');
  const problem = imageSizeProblem(width, height);
  if (problem) throw invalidMedia(problem);
}

/**
 * What breaks the image rules in a size (from a header or a decode), said as the rest of a sentence
 * about the image ("is 200×200 px; …"), or null when the size is allowed.
 */
export function imageSizeProblem(width: number, height: number): string | null {
  if ([width, height].some((side) => side < IMAGE_SIDE.min || side > IMAGE_SIDE.max)) {
    return `is ${width}×${height} px; each side of an image must be ${IMAGE_SIDE.min}–${IMAGE_SIDE.max} px`;
  }
  const aspect = width / height;
  if (aspect < IMAGE_ASPECT.min || aspect > IMAGE_ASPECT.max) {
    return `has an aspect ratio of ${aspect.toFixed(2)} (${width}×${height}); images must have a width ÷ height of ${IMAGE_ASPECT.min}–${IMAGE_ASPECT.max}`;
  }
  return null;
}

function checkVideo(probe: MediaProbe): void {
  const { width, height, fps } = probe;
  if (!probe.hasVideo || !width || !height) throw invalidMedia('the file has no video stream');
  const pixels = width * height;
  if (pixels < VIDEO_PIXELS.min || pixels > VIDEO_PIXELS.max) {
    throw invalidMedia(
      `is ${width}×${height} = ${grouped(pixels)} pixels per frame; reference videos must have ${grouped(VIDEO_PIXELS.min)}–${grouped(VIDEO_PIXELS.max)} (480p–720p)`,
    );
  }
  if (!fps) throw invalidMedia('the frame rate could not be read');
  if (fps < VIDEO_FPS.min || fps > VIDEO_FPS.max) {
    throw invalidMedia(`runs at ${round(fps, 2)} fps; reference videos must have 24–60 fps`);
  }
  if (!probe.durationSec) throw invalidMedia('the duration could not be read');
}

function checkAudio(probe: MediaProbe): void {
  if (!probe.hasAudio) throw invalidMedia('the file has no audio stream');
  if (!probe.durationSec) throw invalidMedia('the duration could not be read');
}

/** Rules on all files of a kind together (README: Media "total"); throws TaskFailureError naming the family. */
export function checkTotals(media: readonly PreparedMedia[]): void {
  const videos = media.filter((m) => m.input.kind === 'video');
  const audios = media.filter((m) => m.input.kind === 'audio');
  if (videos.length) checkVideoTotals(videos);
  if (audios.length) checkAudioTotals(audios);
}

function checkVideoTotals(videos: readonly PreparedMedia[]): void {
  const field = family(videos);
  const bytes = sum(videos, (m) => m.probe.bytes);
  if (bytes >= VIDEO_TOTAL_BYTES) {
    throw mediaFailure('invalid_media', field, `the videos have ${grouped(bytes)} bytes in total; reference videos must be smaller than 50 MB in total`);
  }
  const seconds = sum(videos, (m) => m.probe.durationSec ?? 0);
  if (seconds <= VIDEO_TOTAL_SEC.min || seconds >= VIDEO_TOTAL_SEC.max) {
    throw mediaFailure(
      'invalid_media',
      field,
      `the total duration is ${round(seconds, 2)} s; reference videos must last more than ${VIDEO_TOTAL_SEC.min} s and less than ${VIDEO_TOTAL_SEC.max} s in total`,
    );
  }
}

function checkAudioTotals(audios: readonly PreparedMedia[]): void {
  const field = family(audios);
  const bytes = sum(audios, (m) => m.probe.bytes);
  if (bytes >= AUDIO_TOTAL_BYTES) {
    throw mediaFailure('invalid_media', field, `the audio files have ${grouped(bytes)} bytes in total; reference audio must be smaller than 15 MB in total`);
  }
  const seconds = sum(audios, (m) => m.probe.durationSec ?? 0);
  if (seconds > AUDIO_TOTAL_SEC + AUDIO_SLACK_SEC) {
    throw mediaFailure('invalid_media', field, `the total duration is ${round(seconds, 2)} s; reference audio may last at most ${AUDIO_TOTAL_SEC} s in total`);
  }
}

/** `video_urls[1]` → `video_urls`: where a rule about all files of a kind points. */
function family(media: readonly PreparedMedia[]): string {
  return media[0]!.input.field.replace(/\[\d+\].*$/, '');
}

const sum = <T>(items: readonly T[], of: (item: T) => number) => items.reduce((acc, item) => acc + of(item), 0);
const round = (n: number, digits: number) => Number(n.toFixed(digits));

/** 2073600 → "2 073 600", as the messages write numbers. */
export function grouped(n: number): string {
  return Math.round(n)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
}
