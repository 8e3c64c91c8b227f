import { VidgateError } from './errors.js';
import type { Http } from './http.js';

/** One Server-Sent Event: its id and its data (the lines joined). */
export interface StreamEvent {
  id: string | undefined;
  event: string;
  data: string;
}

/** Parses an SSE byte stream into events; comments (`: keep-alive`) only count as activity. */
export async function* readEvents(body: ReadableStream<Uint8Array>, onActivity: () => void): AsyncGenerator<StreamEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  let id: string | undefined;
  let event = 'message';
  let data: string[] = [];
  const reader = body.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      onActivity();
      buffer += decoder.decode(value, { stream: true });
      let newline = buffer.search(/\r\n|\r|\n/);
      // A CR that ends the chunk may be the first half of a CRLF: wait for the next chunk to tell.
      while (newline >= 0 && !(newline === buffer.length - 1 && buffer.endsWith('\r'))) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1));
        newline = buffer.search(/\r\n|\r|\n/);
        if (line === '') {
          if (data.length) yield { id, event, data: data.join('\n') };
          event = 'message';
          data = [];
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'data') data.push(text);
        else if (field === 'event') event = text;
        else if (field === 'id') id = text;
      }
    }
  } finally {
    reader.releaseLock();
    await body.cancel().catch(() => undefined);
  }
}

/**
 * Opens `GET /v1/tasks/{id}/events`. Null when the host does not offer live events for it (no such
 * route, or an answer that is not an event stream): the caller polls instead. 204 means the task is
 * finished with nothing newer than `lastEventId`.
 */
export async function openTaskStream(
  http: Http,
  path: string,
  o: { lastEventId?: string; signal: AbortSignal },
): Promise<{ status: 200; body: ReadableStream<Uint8Array> } | { status: 204 } | null> {
  let res: Response;
  try {
    res = await http.send({
      method: 'GET',
      path: `${path}/events`,
      headers: { accept: 'text/event-stream', ...(o.lastEventId ? { 'last-event-id': o.lastEventId } : {}) },
      retry: 'idempotent',
      signal: o.signal,
      // The stream lasts as long as the task; activity is watched by the caller instead.
      timeout: 0,
    });
  } catch (err) {
    // A host without the route (APIMart itself) answers 404 or 405; polling says what is wrong with the task.
    if (err instanceof VidgateError && (err.status === 404 || err.status === 405 || err.status === 501)) return null;
    throw err;
  }
  if (res.status === 204) return { status: 204 };
  if (!/^text\/event-stream/i.test(res.headers.get('content-type') ?? '') || !res.body) {
    await res.body?.cancel().catch(() => undefined);
    return null;
  }
  return { status: 200, body: res.body as ReadableStream<Uint8Array> };
}
