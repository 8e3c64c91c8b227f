import type { OutgoingHttpHeaders } from 'node:http';
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ApiError } from './api-error.js';
import { LANGUAGES } from '../contract/failures.js';
import { ErrorResponse } from '../contract/task-view.js';
import { toTaskObject } from '../tasks/task-object.js';
import { TERMINAL_STATUSES, type TaskRecord } from '../store/types.js';
import { eventId } from '../events/task-events.js';
import { SseStream } from '../events/sse.js';
import { type ApiContext, taskViewOptions } from './context.js';
import { callerOf } from './auth.js';

const EVENT_ID = /^\d{1,9}$/;

/** Last-Event-ID as sent by EventSource on reconnect (or `last_event_id` for clients that cannot set headers). */
function resumeFrom(header: string | undefined, query: string | undefined): number {
  const given = (header ?? query ?? '').trim();
  return EVENT_ID.test(given) ? Number(given) : -1;
}

export const eventRoutes =
  (ctx: Pick<ApiContext, 'events' | 'prices' | 'publicUrl' | 'resultLinks' | 'store' | 'tasks'>): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/v1/tasks/:task_id/events',
      {
        schema: {
          summary: 'Watch a task live (Server-Sent Events)',
          description:
            'text/event-stream. The current state at once, then every status and progress change, then the stream ends after the ' +
            'terminal state. Each event has `id` (status rank × 1000 + progress, always growing), `event` (`status` when the status ' +
            'changed, else `progress`) and `data`: exactly what GET /v1/tasks/{task_id} answers at that moment. Send `Last-Event-ID` ' +
            'to resume: only newer states are sent, and a finished task that has nothing newer answers 204. Comment lines keep the ' +
            'connection open while nothing changes.',
          tags: ['tasks'],
          security: [{ bearer: [] }],
          params: z.object({ task_id: z.string().max(64) }),
          querystring: z.object({
            language: z.enum(LANGUAGES, { error: () => `language must be one of ${LANGUAGES.join(', ')}` }).default('en'),
            last_event_id: z.string().max(16).optional().meta({ description: 'the Last-Event-ID header, for clients that cannot set it' }),
          }),
          response: {
            204: z.null().meta({ description: 'the task is finished and there is nothing newer than Last-Event-ID' }),
            401: ErrorResponse,
            404: ErrorResponse,
            503: ErrorResponse,
          },
        },
      },
      async (request, reply) => {
        const caller = callerOf(request);
        const task = await ctx.tasks.get(caller, request.params.task_id);
        if (ctx.events.isClosed) throw new ApiError(503, 'the server is shutting down: reconnect with Last-Event-ID');
        const since = resumeFrom(request.headers['last-event-id'] as string | undefined, request.query.last_event_id);
        if (TERMINAL_STATUSES.has(task.status) && eventId(task) <= since) return reply.code(204).send(null);

        const view = taskViewOptions(ctx, request, request.query.language);
        reply.hijack();
        const stream = new SseStream(reply.raw);
        stream.open(reply.getHeaders() as OutgoingHttpHeaders);

        let last = since;
        let lastStatus: string | null = null;
        let finished = false;
        let sent = 0;
        const openedAt = Date.now();
        const send = (t: TaskRecord) => {
          const id = eventId(t);
          if (finished || id <= last) return;
          last = id;
          const name = t.status === lastStatus ? 'progress' : 'status';
          lastStatus = t.status;
          stream.send(id, name, JSON.stringify({ code: 200, data: toTaskObject(t, view) }));
          sent++;
          if (TERMINAL_STATUSES.has(t.status)) finish();
        };
        const detach = ctx.events.attach(stream);
        const unwatch = ctx.events.watch(task.id, send, eventId(task));
        const finish = () => {
          if (finished) return;
          finished = true;
          unwatch();
          detach();
          stream.close();
          // The reply was taken over from Fastify, so its request log line is written here.
          request.log.info({ task: task.id, events: sent, lastEventId: last, ms: Date.now() - openedAt }, 'event stream closed');
        };
        reply.raw.on('close', finish);
        // Read again now that we watch: a change between the first read and watch() is not lost.
        send(task);
        if (!finished) {
          const now = await ctx.store.getTask(task.id).catch(() => null);
          if (now) send(now);
        }
      },
    );
  };
