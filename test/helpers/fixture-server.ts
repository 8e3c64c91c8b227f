import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { synthesizeSpeech } from '../../src/render/speech.js';
import { FAST_H264, ffmpeg as runFfmpeg, ttsEngine } from './media-tools.js';

/**
 * A real HTTP server on 127.0.0.1 serving the media the seed's use cases name (with the same file
 * names as its https://example.com/… URLs), generated with the server's ffmpeg when the server starts.
 *
 * Every file obeys the media rules of README: Media, so a request that names it is valid as far as its
 * media go: images are 300–6000 px a side with an aspect of 0.4–2.5, videos are 480p–720p by pixel
 * count (864×480 = 414 720 px ≥ 409 600; note 848×480 would be too small), 24 fps, 3 s, and audio
 * is a few seconds.
 */

export interface FixtureFile {
  name: string;
  contentType: string;
  /** Writes the file to `out`. */
  make: (out: string) => Promise<void>;
}

const ffmpeg =
  (...args: string[]) =>
  async (out: string) => {
    await runFfmpeg(['-hide_banner', '-loglevel', 'error', '-y', ...args, out], { timeoutMs: 60_000 });
  };
/** `source` is a lavfi source filter with its options, e.g. `testsrc2` or `color=c=red`. */
const lavfi = (source: string, options: string) => `${source}${source.includes('=') ? ':' : '='}${options}`;
const still = (w: number, h: number, source: string) => ffmpeg('-f', 'lavfi', '-i', lavfi(source, `s=${w}x${h}:r=1`), '-frames:v', '1', '-q:v', '4');
const clip = (w: number, h: number, source: string) => ffmpeg('-f', 'lavfi', '-i', lavfi(source, `s=${w}x${h}:r=24:d=3`), ...FAST_H264);

export const FIXTURES: readonly FixtureFile[] = [
  { name: 'cat.jpg', contentType: 'image/jpeg', make: still(1024, 576, 'testsrc2') },
  { name: 'day.jpg', contentType: 'image/jpeg', make: still(1024, 576, 'color=c=0x87ceeb') },
  { name: 'night.jpg', contentType: 'image/jpeg', make: still(1024, 576, 'color=c=0x101840') },
  { name: 'last_frame_from_prev.png', contentType: 'image/png', make: still(1248, 704, 'testsrc') },
  { name: 'tea_pic1.jpg', contentType: 'image/jpeg', make: still(800, 800, 'rgbtestsrc') },
  { name: 'tea_pic2.jpg', contentType: 'image/jpeg', make: still(600, 800, 'smptebars') },
  { name: 'dance_reference.jpg', contentType: 'image/jpeg', make: still(576, 1024, 'testsrc2') },
  { name: 'reference.mp4', contentType: 'video/mp4', make: clip(864, 480, 'testsrc2') },
  { name: 'tea_video1.mp4', contentType: 'video/mp4', make: clip(864, 480, 'smptehdbars') },
  { name: 'dance_reference.mp4', contentType: 'video/mp4', make: clip(480, 864, 'testsrc') },
  {
    name: 'speech.wav',
    contentType: 'audio/wav',
    // Spoken by the renderer's own engine: the system espeak, else the npm build, so always speech.
    make: async (out) => {
      const tts = await ttsEngine();
      if (!tts) throw new Error('no speech engine: neither espeak-ng/espeak on PATH nor the espeak-ng npm package');
      await synthesizeSpeech(tts, 'Remember, you must never point your finger at the moon.', out);
    },
  },
  {
    name: 'tea_audio1.mp3',
    contentType: 'audio/mpeg',
    make: ffmpeg('-f', 'lavfi', '-i', 'sine=frequency=330:duration=4:sample_rate=44100', '-ac', '2', '-c:a', 'libmp3lame', '-b:a', '96k'),
  },
];

async function generate(dir: string): Promise<void> {
  await Promise.all(FIXTURES.map((f) => f.make(join(dir, f.name))));
}

export interface FixtureServer {
  /** `http://127.0.0.1:<port>` */
  baseUrl: string;
  /** Absolute URL of a fixture (or of any path, to provoke a 404). */
  url(name: string): string;
  /** Where the generated files are. */
  dir: string;
  /** Every requested path, in order (`/cat.jpg`), query strings included. */
  requests: string[];
  close(): Promise<void>;
}

export async function startFixtureServer(): Promise<FixtureServer> {
  const dir = await mkdtemp(join(tmpdir(), 'vidgate-fixtures-'));
  let server: Server | undefined;
  try {
    await generate(dir);
    const byPath = new Map(FIXTURES.map((f) => [`/${f.name}`, f]));
    const requests: string[] = [];
    server = createServer((req, res) => {
      const path = req.url ?? '/';
      requests.push(path);
      const file = byPath.get(path.split('?')[0]!);
      if (!file || (req.method !== 'GET' && req.method !== 'HEAD')) {
        res.writeHead(file ? 405 : 404, { 'content-type': 'text/plain' }).end(file ? 'method not allowed' : 'not found');
        return;
      }
      const filePath = join(dir, file.name);
      stat(filePath).then(
        (s) => {
          res.writeHead(200, { 'content-type': file.contentType, 'content-length': s.size });
          if (req.method === 'HEAD') res.end();
          else
            createReadStream(filePath)
              .on('error', () => res.destroy())
              .pipe(res);
        },
        () => res.writeHead(500).end(),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject);
      server!.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const baseUrl = `http://127.0.0.1:${port}`;
    const live = server;
    return {
      baseUrl,
      url: (name) => `${baseUrl}/${name.replace(/^\/+/, '')}`,
      dir,
      requests,
      close: async () => {
        await new Promise<void>((resolve) => {
          live.close(() => resolve());
          live.closeAllConnections();
        });
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    server?.close();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
