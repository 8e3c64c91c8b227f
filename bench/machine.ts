import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';

export interface Machine {
  cpu: string;
  cores: number;
  ramGiB: number;
  node: string;
  ffmpeg: string;
  platform: string;
  /** 1-minute load average when the run started: a hint of how busy the shared machine was. */
  loadAtStart: number;
}

async function cpuModel(): Promise<string> {
  try {
    const info = await readFile('/proc/cpuinfo', 'utf8');
    const match = /^model name\s*:\s*(.+)$/m.exec(info);
    if (match?.[1]) return match[1].trim();
  } catch {
    // not Linux: fall back to what Node reports
  }
  return cpus()[0]?.model ?? 'unknown';
}

function ffmpegVersionLine(binary: string): Promise<string> {
  return new Promise((resolve) => {
    execFile(binary, ['-hide_banner', '-version'], { timeout: 10_000 }, (err, stdout) => {
      if (err) return resolve(`unavailable (${err.message})`);
      resolve(
        stdout
          .split('\n', 1)[0]
          ?.replace(/ Copyright.*$/, '')
          .trim() ?? 'unknown',
      );
    });
  });
}

export async function describeMachine(ffmpegPath: string): Promise<Machine> {
  return {
    cpu: await cpuModel(),
    cores: availableParallelism(),
    ramGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    ffmpeg: `${await ffmpegVersionLine(ffmpegPath)} (${ffmpegPath})`,
    platform: `${process.platform} ${process.arch}`,
    loadAtStart: Math.round(loadavg()[0]! * 100) / 100,
  };
}
