import { request, type IncomingMessage } from 'node:http';

export interface SseEvent {
  id: number;
  event: string;
  data: { code: number; data: { id: string; status: string; progress: number; [k: string]: unknown } };
}

export interface SseConnection {
  status: number;
  headers: IncomingMessage['headers'];
  events: SseEvent[];
  comments: string[];
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  /** Resolves with the first event (past or future) that matches; rejects if the stream ends first. */
  next(match?: (e: SseEvent) => boolean): Promise<SseEvent>;
  /** Resolves at the next comment line (heartbeat). */
  nextComment(): Promise<string>;
  close(): void;
}

/** A plain text/event-stream reader over node:http, parsing the wire format itself. */
export function openEvents(url: string, headers: Record<string, string>): Promise<SseConnection> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
      const events: SseEvent[] = [];
      const comments: string[] = [];
      const waiters: Array<{ match: (e: SseEvent) => boolean; resolve: (e: SseEvent) => void; reject: (err: Error) => void }> = [];
      const commentWaiters: Array<(c: string) => void> = [];
      let buffer = '';
      let done = false;
      let endResolve!: () => void;
      const ended = new Promise<void>((r) => (endResolve = r));
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let at: number;
        while ((at = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, at);
          buffer = buffer.slice(at + 2);
          const fields: Record<string, string> = {};
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) {
              const text = line.slice(1).trim();
              comments.push(text);
              commentWaiters.splice(0).forEach((w) => w(text));
              continue;
            }
            const colon = line.indexOf(':');
            if (colon < 0) continue;
            fields[line.slice(0, colon)] = line.slice(colon + 1).replace(/^ /, '');
          }
          if (fields.data === undefined) continue;
          const event: SseEvent = { id: Number(fields.id), event: fields.event ?? 'message', data: JSON.parse(fields.data) };
          events.push(event);
          for (const w of [...waiters]) {
            if (w.match(event)) {
              waiters.splice(waiters.indexOf(w), 1);
              w.resolve(event);
            }
          }
        }
      });
      const finish = () => {
        if (done) return;
        done = true;
        for (const w of waiters.splice(0)) w.reject(new Error('the event stream ended before the expected event'));
        endResolve();
      };
      res.on('end', finish);
      res.on('close', finish);
      res.on('error', finish);
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        events,
        comments,
        ended,
        next: (match = () => true) =>
          new Promise((resolveEvent, rejectEvent) => {
            const seen = events.find(match);
            if (seen) return resolveEvent(seen);
            if (done) return rejectEvent(new Error('the event stream ended before the expected event'));
            waiters.push({ match, resolve: resolveEvent, reject: rejectEvent });
          }),
        nextComment: () => new Promise((r) => commentWaiters.push(r)),
        close: () => {
          req.destroy();
          res.destroy();
        },
      });
    });
    req.on('error', reject);
    req.end();
  });
}
