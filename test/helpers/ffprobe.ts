import { ffmpeg, ffprobe } from './media-tools.js';

export interface ProbeResult {
  width: number;
  height: number;
  fps: number;
  /** Decoded video frames (ffprobe -count_frames), not the container's claim. */
  frames: number;
  durationSec: number;
  videoCodec: string | null;
  pixFmt: string | null;
  hasAudio: boolean;
  audioCodec: string | null;
  audioChannels: number | null;
  audioSampleRate: number | null;
  audioDurationSec: number | null;
}

interface FfprobeStream {
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  pix_fmt?: string;
  r_frame_rate?: string;
  nb_read_frames?: string;
  channels?: number;
  sample_rate?: string;
  duration?: string;
}

interface FfprobeOutput {
  streams?: FfprobeStream[];
  format?: { duration?: string };
}

export async function probe(file: string): Promise<ProbeResult> {
  const { stdout } = await ffprobe(['-v', 'error', '-of', 'json', '-show_streams', '-show_format', '-count_frames', file]);
  const parsed = JSON.parse(stdout) as FfprobeOutput;
  const streams = parsed.streams ?? [];
  const video = streams.find((s) => s.codec_type === 'video');
  const audio = streams.find((s) => s.codec_type === 'audio');
  return {
    width: video?.width ?? 0,
    height: video?.height ?? 0,
    fps: ratio(video?.r_frame_rate),
    frames: Number(video?.nb_read_frames ?? 0),
    durationSec: Number(parsed.format?.duration ?? 0),
    videoCodec: video?.codec_name ?? null,
    pixFmt: video?.pix_fmt ?? null,
    hasAudio: audio !== undefined,
    audioCodec: audio?.codec_name ?? null,
    audioChannels: audio?.channels ?? null,
    audioSampleRate: audio?.sample_rate ? Number(audio.sample_rate) : null,
    audioDurationSec: audio?.duration ? Number(audio.duration) : null,
  };
}

function ratio(value: string | undefined): number {
  const [num, den] = (value ?? '0/1').split('/').map(Number);
  return den ? (num ?? 0) / den : 0;
}

/** MD5 of every decoded video frame, in presentation order. */
export async function frameHashes(file: string): Promise<string[]> {
  const { stdout } = await ffmpeg(['-v', 'error', '-i', file, '-map', '0:v', '-f', 'framemd5', '-']);
  return stdout
    .split('\n')
    .filter((line) => line.trim() && !line.startsWith('#'))
    .map((line) => line.split(',').pop()?.trim() ?? '');
}

/** Mean loudness of the first audio stream in dBFS, as reported by volumedetect. */
export async function meanVolumeDb(file: string): Promise<number> {
  const { stderr } = await ffmpeg(['-hide_banner', '-nostats', '-i', file, '-map', '0:a:0', '-af', 'volumedetect', '-f', 'null', '-']);
  const match = /mean_volume:\s*(-?[\d.]+|-inf) dB/.exec(stderr);
  if (!match?.[1]) throw new Error(`volumedetect printed no mean_volume for ${file}`);
  return match[1] === '-inf' ? -Infinity : Number(match[1]);
}
