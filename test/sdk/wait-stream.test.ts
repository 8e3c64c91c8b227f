import { afterEach, describe, expect, it } from 'vitest';
import { createClient, type Task } from '../../src/sdk/index.js';
import { readEvents } from '../../src/sdk/task-stream.js';
import { json, startVidgate, tinyServer, type TinyServer } from './helpers.js';

const TASK = { id: 'task_01HZZZZZZZZZZZZZZZZZZZZZZZ', status: 'processing', progress: 10, created: 1, estimated_time: 5, cost: 0 };
const sse = (id: number, data: unknown) => `id: ${id}\nevent: status\ndata: ${JSON.stringify({ code: 200, data })}\n\n`;

describe('SDK wait follows the live event stream when the host offers one', () => {
  let server: TinyServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('against vidgate: the whole wait is one stream, not a poll a second', async () => {
    const v = await startVidgate();
    try {
      const client = v.client();
      const { task_id } = await client.videos.generate({ model: 'doubao-seedance-2.0', prompt: 'A comet over a frozen lake', resolution: '480p', duration: 4 });
      const seen: Task[] = [];
      const task = await client.tasks.wait(task_id, { onProgress: (t) => seen.push(t), pollInterval: 50 });
      expect(task).toMatchObject({ id: task_id, status: 'completed', progress: 100 });
      expect(seen.at(-1)?.status).toBe('completed');
      // Progress never goes down, and came in several steps over the one stream.
      expect(seen.map((t) => t.progress)).toEqual([...seen.map((t) => t.progress)].sort((a, b) => a - b));
      const metrics = await (await fetch(`${v.baseURL}/metrics`)).text();
      const count = (route: string) =>
        metrics
          .split('\n')
          .filter((l) => l.startsWith('vidgate_http_requests_total{') && l.includes(`route="${route}"`) && l.includes('method="GET"'))
          .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
      expect(count('/v1/tasks/:task_id/events')).toBe(1);
      expect(count('/v1/tasks/:task_id')).toBe(0);
    } finally {
      await v.close();
    }
  });

  it('against a host without events (APIMart): polls instead', async () => {
    let polls = 0;
    server = await tinyServer((req, res) => {
      if (req.url.endsWith('/events')) return json(res, 404, { error: { code: 404, message: 'no route', type: 'not_found_error' } });
      polls++;
      json(res, 200, { code: 200, data: { ...TASK, status: polls >= 3 ? 'completed' : 'processing' } });
    });
    const task = await createClient({ baseURL: server.url, apiKey: 'k' }).tasks.wait(TASK.id, { pollInterval: 20 });
    expect(task.status).toBe('completed');
    expect(server.requests.map((r) => r.url)).toEqual([`/v1/tasks/${TASK.id}/events`, ...Array(3).fill(`/v1/tasks/${TASK.id}`)]);
  });

  it('a stream cut before the task ends is resumed after its last event (Last-Event-ID), nothing missed or repeated', async () => {
    const connections: Array<string | undefined> = [];
    server = await tinyServer((req, res, raw) => {
      if (!req.url.endsWith('/events')) return json(res, 500, {});
      connections.push(raw.headers['last-event-id'] as string | undefined);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (connections.length === 1) {
        // A proxy cuts the stream after the first event.
        res.end(`: keep-alive\n\n${sse(2012, { ...TASK, progress: 12 })}`);
        return;
      }
      res.end(sse(3100, { ...TASK, status: 'completed', progress: 100 }));
    });
    const seen: number[] = [];
    const task = await createClient({ baseURL: server.url, apiKey: 'k' }).tasks.wait(TASK.id, { onProgress: (t) => seen.push(t.progress) });
    expect(task.status).toBe('completed');
    expect(connections).toEqual([undefined, '2012']);
    expect(seen).toEqual([12, 100]);
  });

  it('an answer that is not an event stream, or stream: false, means polling', async () => {
    server = await tinyServer((_req, res) => json(res, 200, { code: 200, data: { ...TASK, status: 'completed' } }));
    const client = createClient({ baseURL: server.url, apiKey: 'k' });
    expect((await client.tasks.wait(TASK.id)).status).toBe('completed');
    expect(server.requests.map((r) => r.url)).toEqual([`/v1/tasks/${TASK.id}/events`, `/v1/tasks/${TASK.id}`]);
    expect((await client.tasks.wait(TASK.id, { stream: false })).status).toBe('completed');
    expect(server.requests).toHaveLength(3);
  });
});

describe("the SDK's event parser", () => {
  it('reads CRLF lines split anywhere across chunks as one event, and counts comments as activity', async () => {
    const chunks = [': keep-alive\r\n\r\nid: 7\r', '\ndata: {"a"\r', '\ndata: :1}\r\n\r', '\n'];
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const c of chunks) controller.enqueue(new TextEncoder().encode(c));
        controller.close();
      },
    });
    let activity = 0;
    const events = [];
    for await (const event of readEvents(body, () => activity++)) events.push(event);
    expect(events).toEqual([{ id: '7', event: 'message', data: '{"a"\n:1}' }]);
    expect(activity).toBe(chunks.length);
  });
});
