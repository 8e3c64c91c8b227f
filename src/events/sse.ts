import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { LiveStream } from './task-events.js';

/** How long an EventSource waits before reconnecting after the stream ends unexpectedly. */
const RETRY_MS = 2000;

/** One text/event-stream response written by hand (the reply is hijacked from Fastify). */
export class SseStream implements LiveStream {
  private ended = false;

  constructor(private readonly res: ServerResponse) {}

  get isOpen(): boolean {
    return !this.ended && !this.res.destroyed;
  }

  open(headers: OutgoingHttpHeaders): void {
    this.res.writeHead(200, {
      ...headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // nginx buffers responses unless told not to.
      'x-accel-buffering': 'no',
    });
    this.res.write(`retry: ${RETRY_MS}\n\n`);
  }

  /** `data` must be one line (JSON.stringify output is). */
  send(id: number, event: string, data: string): void {
    if (this.isOpen) this.res.write(`id: ${id}\nevent: ${event}\ndata: ${data}\n\n`);
  }

  heartbeat(): void {
    if (this.isOpen) this.res.write(': keep-alive\n\n');
  }

  close(): void {
    if (this.ended) return;
    this.ended = true;
    if (!this.res.destroyed) this.res.end();
  }
}
