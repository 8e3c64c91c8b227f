import type { TestProject } from 'vitest/node';
import { fontChoice } from '../../src/render/fonts.js';
import { ffmpegBinary, ffprobeBinary, ttsEngine } from './media-tools.js';
import { machineProvisionDeps, provisionSystemTools } from './system-tools.js';
import { startPostgresServer } from './postgres-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser URL of the run's PostgreSQL server; tests make their own databases on it. */
    postgresAdminUrl: string;
  }
}

/**
 * Runs once before the suite: installs the system programs some tests need where the machine lacks
 * them, starts the PostgreSQL server the PostgreSQL store tests use, and says which media tools this run uses, so a log shows whether the system's or the npm
 * builds were tested.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  await provisionSystemTools(await machineProvisionDeps());
  const postgres = await startPostgresServer();
  project.provide('postgresAdminUrl', postgres.adminUrl);
  const [ffmpeg, ffprobe, tts] = await Promise.all([ffmpegBinary(), ffprobeBinary(), ttsEngine()]);
  if (!tts) throw new Error('no speech engine: neither espeak-ng/espeak on PATH nor the espeak-ng npm package');
  const font = fontChoice();
  console.log(
    [
      `media tools: ffmpeg ${ffmpeg.version} (${ffmpeg.source}: ${ffmpeg.path})`,
      `ffprobe (${ffprobe.source}: ${ffprobe.path})`,
      `speech ${tts.kind} (${tts.path})`,
      `caption font ${'fontfile' in font ? font.fontfile : font.font}`,
      `PostgreSQL on port ${postgres.port}`,
    ].join('; '),
  );
  return () => postgres.stop();
}
