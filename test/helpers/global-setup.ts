import { fontChoice } from '../../src/render/fonts.js';
import { ffmpegBinary, ffprobeBinary, ttsEngine } from './media-tools.js';
import { machineProvisionDeps, provisionSystemTools } from './system-tools.js';

/**
 * Runs once before the suite: installs the system programs some tests need where the machine lacks
 * them, and says which media tools this run uses, so a log shows whether the system's or the npm
 * builds were tested.
 */
export default async function setup(): Promise<void> {
  await provisionSystemTools(await machineProvisionDeps());
  const [ffmpeg, ffprobe, tts] = await Promise.all([ffmpegBinary(), ffprobeBinary(), ttsEngine()]);
  if (!tts) throw new Error('no speech engine: neither espeak-ng/espeak on PATH nor the espeak-ng npm package');
  const font = fontChoice();
  console.log(
    [
      `media tools: ffmpeg ${ffmpeg.version} (${ffmpeg.source}: ${ffmpeg.path})`,
      `ffprobe (${ffprobe.source}: ${ffprobe.path})`,
      `speech ${tts.kind} (${tts.path})`,
      `caption font ${'fontfile' in font ? font.fontfile : font.font}`,
    ].join('; '),
  );
}
