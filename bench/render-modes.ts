/**
 * Render modes against the ffmpeg floor: each mode of the local renderer at 720p 16:9, 5 s, timed
 * next to a bare ffmpeg encoding testsrc2 of the same size and frame count with the renderer's own
 * encoder settings; and a 4k 15 s text render through a real `vidgate serve` process, with the peak
 * memory of the server and of its ffmpeg.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { buildDist } from './dist.js';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { containerArgs, videoEncoderArgs, X264_THREADS } from '../src/render/encode.js';
import { runFfmpeg, type FfmpegBinary } from '../src/render/ffmpeg.js';
import { renderVideo, type RenderMedia, type VideoJob } from '../src/render/render-video.js';
import { median } from './rounds.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const run = promisify(execFile);
const WIDTH = 1248;
const HEIGHT = 704;
const SECONDS = 5;
const CLOCK_TICKS_PER_SECOND = 100;

export interface ModeCase {
  name: string;
  /** What the render does, for the table. */
  what: string;
  /** Held to the mode target (issue 17: every mode ≤ 1.3× the floor). */
  target: boolean;
  media: (dir: string) => RenderMedia[];
  prompt: string;
  generateAudio: boolean;
}

export interface ModeResult {
  name: string;
  what: string;
  target: boolean;
  renderMs: number[];
  floorMs: number[];
  /** CPU seconds (user + system) of ffmpeg, per run. */
  renderCpuS: number[];
  floorCpuS: number[];
}

export interface BigRenderResult {
  resolution: string;
  pixels: string;
  durationSeconds: number;
  /** POST to completed, as the client saw it. */
  totalMs: number;
  status: string;
  /** Peak resident memory (VmHWM) of the vidgate server process. */
  serverPeakMiB: number;
  /** Peak resident memory of the ffmpeg the server ran. */
  ffmpegPeakMiB: number;
  /** Largest sum of the two seen at one time (sampled every 100 ms). */
  combinedPeakMiB: number;
  /** Peak memory of the bare ffmpeg floor at the same size (testsrc2, same encoder settings, 3 s). */
  floorFfmpegPeakMiB: number;
  /** Wall time of that floor (ms), and peak and wall time of the same floor with x264's 4 frame threads (the 720p threading). */
  floorMs: number;
  frameThreadsFloorPeakMiB: number;
  frameThreadsFloorMs: number;
  floorCommand: string;
  /** How the server ran: the built dist/ as `npm start` runs it, or tsx when the build failed. */
  serverCommand: string;
}

const image = (path: string, width: number, height: number, role: RenderMedia['role'] = 'reference_image'): RenderMedia => ({
  kind: 'image',
  role,
  path,
  width,
  height,
});
const video = (path: string, durationSec: number): RenderMedia => ({ kind: 'video', role: 'reference_video', path, width: 864, height: 480, durationSec });
const audio = (path: string, durationSec: number): RenderMedia => ({ kind: 'audio', role: 'reference_audio', path, durationSec });

export const MODE_CASES: readonly ModeCase[] = [
  {
    name: 'text-to-video',
    what: 'procedural scene, caption, no audio',
    target: true,
    media: () => [],
    prompt: 'A kitten yawning at the camera',
    generateAudio: false,
  },
  {
    name: 'image-to-video',
    what: 'one first frame (1024×576), camera zoom',
    target: true,
    media: (d) => [image(join(d, 'first.jpg'), 1024, 576, 'first_frame')],
    prompt: 'The kitten stands up and walks toward the camera',
    generateAudio: false,
  },
  {
    name: 'first + last frame',
    what: 'two stills, zooms and a crossfade',
    target: true,
    media: (d) => [image(join(d, 'first.jpg'), 1024, 576, 'first_frame'), image(join(d, 'last.jpg'), 1024, 576, 'last_frame')],
    prompt: 'Transition from day to night',
    generateAudio: false,
  },
  {
    name: 'reference images',
    what: '3 images as cards over a blurred backdrop of the first',
    target: true,
    media: (d) => [image(join(d, 'square.jpg'), 800, 800), image(join(d, 'portrait.jpg'), 600, 800), image(join(d, 'first.jpg'), 1024, 576)],
    prompt: 'A fruit tea advertisement',
    generateAudio: false,
  },
  {
    name: 'reference video',
    what: 'one 3 s 864×480 video, looped to 5 s',
    target: true,
    media: (d) => [video(join(d, 'reference.mp4'), 3)],
    prompt: 'A person walks through the scene',
    generateAudio: false,
  },
  {
    name: 'reference video, anime',
    what: 'the same, restyled (posterize + ink edges)',
    target: true,
    media: (d) => [video(join(d, 'reference.mp4'), 3)],
    prompt: 'Convert the video style to anime style',
    generateAudio: false,
  },
  {
    name: 'video + images + audio',
    what: 'seed case 9: video base, 2 image cards, reference audio over the generated bed',
    target: true,
    media: (d) => [
      image(join(d, 'square.jpg'), 800, 800),
      image(join(d, 'portrait.jpg'), 600, 800),
      video(join(d, 'reference.mp4'), 3),
      audio(join(d, 'music.mp3'), 4),
    ],
    prompt: 'First-person POV fruit tea advertisement',
    generateAudio: true,
  },
];

async function makeFixtures(ffmpeg: string, dir: string): Promise<void> {
  const make = (args: string[]) => run(ffmpeg, ['-hide_banner', '-loglevel', 'error', '-y', ...args], { timeout: 60_000 });
  await Promise.all([
    make(['-f', 'lavfi', '-i', 'testsrc2=s=1024x576:r=1', '-frames:v', '1', '-q:v', '3', join(dir, 'first.jpg')]),
    make(['-f', 'lavfi', '-i', 'mandelbrot=s=1024x576:r=1', '-frames:v', '1', '-q:v', '3', join(dir, 'last.jpg')]),
    make(['-f', 'lavfi', '-i', 'rgbtestsrc=s=800x800:r=1', '-frames:v', '1', '-q:v', '3', join(dir, 'square.jpg')]),
    make(['-f', 'lavfi', '-i', 'smptebars=s=600x800:r=1', '-frames:v', '1', '-q:v', '3', join(dir, 'portrait.jpg')]),
    make(['-f', 'lavfi', '-i', 'testsrc2=s=864x480:r=24:d=3', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', join(dir, 'reference.mp4')]),
    make(['-f', 'lavfi', '-i', 'sine=frequency=330:duration=4:sample_rate=44100', '-ac', '2', '-c:a', 'libmp3lame', '-b:a', '96k', join(dir, 'music.mp3')]),
  ]);
}

/** CPU seconds of this process's reaped children so far (user + system). */
export async function childCpuSeconds(): Promise<number> {
  const stat = await readFile('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 16 and 17 of stat (cutime, cstime) are at 13 and 14 after the command name.
  return (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS_PER_SECOND;
}

async function timed(work: () => Promise<unknown>): Promise<{ ms: number; cpuS: number }> {
  const cpuBefore = await childCpuSeconds();
  const started = performance.now();
  await work();
  const ms = performance.now() - started;
  return { ms, cpuS: (await childCpuSeconds()) - cpuBefore };
}

export function floorArgs(out: string): string[] {
  return ['-f', 'lavfi', '-i', `testsrc2=s=${WIDTH}x${HEIGHT}:r=24:d=${SECONDS}`, ...videoEncoderArgs({ width: WIDTH, height: HEIGHT }), ...containerArgs(out)];
}

export function floorCommand(ffmpegPath: string): string {
  return [ffmpegPath, ...floorArgs('out.mp4')].join(' ');
}

/** Wall time of a mode over its floor: the median of the ratios of the back-to-back pairs. */
export function pairRatio(result: ModeResult): number {
  return median(result.renderMs.map((ms, i) => ms / result.floorMs[i]!));
}

/** Each mode `repeats` times, each run paired with a floor run right before or after it. */
export async function renderModesBench(
  ffmpeg: FfmpegBinary,
  dir: string,
  opts: { repeats: number; say: (line: string) => void; only?: string },
): Promise<ModeResult[]> {
  const media = join(dir, 'media');
  await mkdir(media, { recursive: true });
  await makeFixtures(ffmpeg.path, media);
  const results: ModeResult[] = [];
  for (const mode of MODE_CASES) {
    if (opts.only && !mode.name.includes(opts.only)) continue;
    const result: ModeResult = { name: mode.name, what: mode.what, target: mode.target, renderMs: [], floorMs: [], renderCpuS: [], floorCpuS: [] };
    for (let i = 0; i < opts.repeats; i++) {
      const work = join(dir, `${mode.name.replace(/\W+/g, '-')}-${i}`);
      await mkdir(work, { recursive: true });
      const job: VideoJob = {
        prompt: mode.prompt,
        seed: 42,
        width: WIDTH,
        height: HEIGHT,
        durationSeconds: SECONDS,
        generateAudio: mode.generateAudio,
        outVideo: join(work, 'out.mp4'),
        workDir: work,
        media: mode.media(media),
      };
      // Back to back, in alternating order, so a busy spell or a drift of the shared machine hits both alike.
      const runFloor = () => timed(() => runFfmpeg(ffmpeg, floorArgs(join(work, 'floor.mp4'))));
      const runRender = () => timed(() => renderVideo(ffmpeg, job, { tts: null }));
      const floorFirst = i % 2 === 0;
      const first = await (floorFirst ? runFloor() : runRender());
      const second = await (floorFirst ? runRender() : runFloor());
      const [floor, render] = floorFirst ? [first, second] : [second, first];
      result.floorMs.push(floor.ms);
      result.floorCpuS.push(floor.cpuS);
      result.renderMs.push(render.ms);
      result.renderCpuS.push(render.cpuS);
      await rm(work, { recursive: true, force: true });
    }
    const ratio = pairRatio(result);
    opts.say(
      `  ${mode.name}: ${ratio.toFixed(2)}× the floor (median of ${opts.repeats} back-to-back pairs; ` +
        `medians ${(median(result.renderMs) / 1000).toFixed(2)} s vs ${(median(result.floorMs) / 1000).toFixed(2)} s, ` +
        `CPU ${median(result.renderCpuS).toFixed(2)} s vs ${median(result.floorCpuS).toFixed(2)} s)`,
    );
    results.push(result);
  }
  return results;
}

interface MemorySample {
  serverHwmKiB: number;
  ffmpegHwmKiB: number;
  combinedKiB: number;
}

async function statusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): Promise<number> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
  return match ? Number(match[1]) : 0;
}

async function childrenOf(pid: number): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (parent === pid) found.push(Number(entry));
  }
  return found;
}

/** Samples the server and its children every 100 ms until stopped. */
function watchMemory(pid: number): { stop: () => Promise<MemorySample> } {
  const peak: MemorySample = { serverHwmKiB: 0, ffmpegHwmKiB: 0, combinedKiB: 0 };
  let running = true;
  const loop = (async () => {
    while (running) {
      const children = await childrenOf(pid);
      const [server, serverRss, ...childStats] = await Promise.all([
        statusKiB(pid, 'VmHWM'),
        statusKiB(pid, 'VmRSS'),
        ...children.flatMap((child) => [statusKiB(child, 'VmHWM'), statusKiB(child, 'VmRSS')]),
      ]);
      let childRss = 0;
      for (let i = 0; i < childStats.length; i += 2) {
        peak.ffmpegHwmKiB = Math.max(peak.ffmpegHwmKiB, childStats[i]!);
        childRss += childStats[i + 1]!;
      }
      peak.serverHwmKiB = Math.max(peak.serverHwmKiB, server!);
      peak.combinedKiB = Math.max(peak.combinedKiB, serverRss! + childRss);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return peak;
    },
  };
}

/** `vidgate serve` as its own process, as an operator runs it; answers its base URL. */
/**
 * `vidgate serve` as its own process, as an operator runs it (`npm start`: node dist/cli/main.js, built
 * just before); under tsx, whose TypeScript loader adds ~50 MiB to the server, only if the build fails.
 */
async function startServer(dir: string, apiKey: string): Promise<{ base: string; pid: number; command: string; stop: () => Promise<void> }> {
  const build = await buildDist();
  const built = build !== 'failed';
  const command = built
    ? `node dist/cli/main.js serve${build === 'built' ? '' : ' (tsc reported type errors)'}`
    : 'node --import tsx src/cli/main.ts serve (tsc failed)';
  const child = spawn(process.execPath, built ? ['dist/cli/main.js', 'serve'] : ['--import', 'tsx', 'src/cli/main.ts', 'serve'], {
    cwd: ROOT,
    env: {
      ...process.env,
      VIDGATE_HOST: '127.0.0.1',
      VIDGATE_PORT: '0',
      VIDGATE_LOG_LEVEL: 'info',
      VIDGATE_DATA_DIR: join(dir, 'data'),
      VIDGATE_BOOTSTRAP_KEY: apiKey,
      VIDGATE_SHUTDOWN_GRACE_SECONDS: '1',
      // The status polls below must not be rate limited.
      VIDGATE_DEFAULT_RPM: '1000000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
  const base = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (text) => {
      try {
        const line = JSON.parse(text) as { msg?: string; address?: string };
        if (line.msg?.startsWith('vidgate listening') && line.address) resolve(line.address);
      } catch {
        // not a log line
      }
    });
    void exited.then(() => reject(new Error(`vidgate serve exited early: ${stderr.trim()}`)));
  });
  return {
    base,
    pid: child.pid!,
    command,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Peak resident memory (KiB) and wall time (ms) of one ffmpeg run, sampled from /proc every 50 ms. */
function ffmpegPeakKiB(binary: string, args: string[]): Promise<{ peak: number; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(binary, ['-nostdin', '-hide_banner', '-loglevel', 'error', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let peak = 0;
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setInterval(() => {
      void statusKiB(child.pid!, 'VmHWM').then((kib) => (peak = Math.max(peak, kib)));
    }, 50);
    child.once('error', reject);
    child.once('close', (code) => {
      clearInterval(timer);
      if (code === 0) resolve({ peak, ms: performance.now() - started });
      else reject(new Error(`ffmpeg floor failed (${code}): ${stderr.trim()}`));
    });
  });
}

const BIG = { width: 3840, height: 2160, floorSeconds: 3 };

function bigFloorArgs(out: string): string[] {
  return ['-f', 'lavfi', '-i', `testsrc2=s=${BIG.width}x${BIG.height}:r=24:d=${BIG.floorSeconds}`, ...videoEncoderArgs(BIG), ...containerArgs(out)];
}

/**
 * A 4k 15 s text render (seed case 1 at 4k, with audio) through a real server process, and the memory
 * of the bare ffmpeg floor at 4k for comparison (x264's frame threads dominate it).
 */
export async function bigRenderBench(dir: string, ffmpegPath: string, say: (line: string) => void): Promise<BigRenderResult> {
  await mkdir(dir, { recursive: true });
  const floorOut = join(dir, 'floor-4k.mp4');
  const floor = await ffmpegPeakKiB(ffmpegPath, bigFloorArgs(floorOut));
  // The same floor with the 720p threading (4 frame threads), for the memory and time the 4k threading trades.
  const frameThreadArgs = bigFloorArgs(floorOut).map((arg, i, all) => (all[i - 1] === '-threads:v' ? X264_THREADS : arg));
  const frameThreads = await ffmpegPeakKiB(ffmpegPath, frameThreadArgs);
  await rm(floorOut, { force: true });
  const apiKey = 'sk-bench-4k-0123456789abcdefghijkl';
  const server = await startServer(dir, apiKey);
  const headers = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' };
  try {
    const memory = watchMemory(server.pid);
    const started = performance.now();
    const res = await fetch(`${server.base}/v1/videos/generations`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        model: 'doubao-seedance-2.0',
        prompt: 'A kitten yawning at the camera',
        resolution: '4k',
        size: '16:9',
        duration: 15,
        seed: 42,
        generate_audio: true,
      }),
    });
    const body = (await res.json()) as { data?: Array<{ task_id?: string }> };
    const id = body.data?.[0]?.task_id;
    if (!id) throw new Error(`4k submit failed: HTTP ${res.status} ${JSON.stringify(body)}`);
    let status = 'pending';
    while (status === 'pending' || status === 'processing') {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const task = (await (await fetch(`${server.base}/v1/tasks/${id}`, { headers })).json()) as { data?: { status?: string; error?: { message?: string } } };
      status = task.data?.status ?? `unknown (${JSON.stringify(task).slice(0, 300)})`;
      if (status === 'failed') status = `failed: ${task.data?.error?.message ?? ''}`;
      if (performance.now() - started > 300_000) throw new Error('4k render did not finish within 300 s');
    }
    const totalMs = performance.now() - started;
    const peak = await memory.stop();
    const mib = (kib: number) => Math.round(kib / 1024);
    const result: BigRenderResult = {
      resolution: '4k',
      pixels: '3840×2160',
      durationSeconds: 15,
      totalMs,
      status,
      serverPeakMiB: mib(peak.serverHwmKiB),
      ffmpegPeakMiB: mib(peak.ffmpegHwmKiB),
      combinedPeakMiB: mib(peak.combinedKiB),
      floorFfmpegPeakMiB: mib(floor.peak),
      floorMs: floor.ms,
      frameThreadsFloorPeakMiB: mib(frameThreads.peak),
      frameThreadsFloorMs: frameThreads.ms,
      floorCommand: [ffmpegPath, ...bigFloorArgs('out.mp4')].join(' '),
      serverCommand: server.command,
    };
    say(
      `  4k 15 s: ${(totalMs / 1000).toFixed(1)} s, ${status}; peak RSS server ${result.serverPeakMiB} MiB, ffmpeg ${result.ffmpegPeakMiB} MiB ` +
        `(bare 4k encode ${result.floorFfmpegPeakMiB} MiB), together ${result.combinedPeakMiB} MiB`,
    );
    return result;
  } finally {
    await server.stop();
  }
}
