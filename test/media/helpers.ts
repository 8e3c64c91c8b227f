import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { MediaInput, MediaKind, MediaRole } from '../../src/contract/submit.js';
import { TaskFailureError } from '../../src/providers/types.js';
import { FAST_H264, ffmpegBinary } from '../helpers/media-tools.js';

const run = promisify(execFile);

/** Real media files made with the server's ffmpeg, in a temporary folder. */
export class MediaFiles {
  private constructor(readonly dir: string) {}

  static async create(): Promise<MediaFiles> {
    return new MediaFiles(await mkdtemp(join(tmpdir(), 'vidgate-media-files-')));
  }

  private async ffmpeg(name: string, args: string[]): Promise<string> {
    const out = join(this.dir, name);
    await run((await ffmpegBinary()).path, ['-hide_banner', '-loglevel', 'error', '-y', ...args, out], { timeout: 120_000 });
    return out;
  }

  /** A still image; the extension picks the format (jpg, png, webp, bmp, tif, gif). */
  image(name: string, width: number, height: number): Promise<string> {
    return this.ffmpeg(name, ['-f', 'lavfi', '-i', `testsrc2=s=${width}x${height}:r=1`, '-frames:v', '1']);
  }

  /** An H.264 MP4 of a cheap-to-encode source. */
  video(name: string, width: number, height: number, seconds: number, fps = 24): Promise<string> {
    return this.ffmpeg(name, ['-f', 'lavfi', '-i', `testsrc2=s=${width}x${height}:r=${fps}:d=${seconds}`, ...FAST_H264]);
  }

  /** A sine tone; `.mp3` or `.wav` by extension. */
  audio(name: string, seconds: number): Promise<string> {
    const codec = name.endsWith('.mp3') ? ['-c:a', 'libmp3lame', '-b:a', '64k'] : ['-c:a', 'pcm_s16le'];
    return this.ffmpeg(name, ['-f', 'lavfi', '-i', `sine=frequency=440:duration=${seconds}:sample_rate=22050`, '-ac', '1', ...codec]);
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * A real HTTP server on 127.0.0.1 whose paths are set by each test. It counts TCP connections and
 * requests, so tests can prove that a refused URL never reached it.
 */
export class TestServer {
  readonly requests: string[] = [];
  connections = 0;
  private readonly routes = new Map<string, Handler>();
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(host = '127.0.0.1'): Promise<TestServer> {
    let self: TestServer | undefined;
    const server = createServer((req, res) => self!.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, host, () => resolve());
    });
    self = new TestServer(server, (server.address() as AddressInfo).port);
    server.on('connection', (socket) => {
      self!.connections++;
      self!.sockets.add(socket);
      socket.on('close', () => self!.sockets.delete(socket));
    });
    return self;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  url(path: string): string {
    return `${this.baseUrl}${path}`;
  }

  route(path: string, handler: Handler): this {
    this.routes.set(path, handler);
    return this;
  }

  /** Serves bytes with a Content-Type (which the service must not trust). */
  file(path: string, body: Buffer | string, contentType = 'application/octet-stream'): this {
    return this.route(path, (_req, res) => {
      res.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) }).end(body);
    });
  }

  redirect(path: string, location: string, status = 302): this {
    return this.route(path, (_req, res) => res.writeHead(status, { location }).end());
  }

  count(path: string): number {
    return this.requests.filter((p) => p === path).length;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = req.url ?? '/';
    this.requests.push(path);
    const handler = this.routes.get(path);
    if (handler) handler(req, res);
    else res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export function input(kind: MediaKind, url: string, field: string, role?: MediaRole): MediaInput {
  const defaultRole: MediaRole = kind === 'image' ? 'reference_image' : kind === 'video' ? 'reference_video' : 'reference_audio';
  return { kind, role: role ?? defaultRole, url, field, assetId: null };
}

/** The failure a promise rejected with, or an error if it resolved. */
export async function failureOf(promise: Promise<unknown>): Promise<TaskFailureError['failure']> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof TaskFailureError) return err.failure;
    throw err;
  }
  throw new Error('expected a TaskFailureError, but the promise resolved');
}
