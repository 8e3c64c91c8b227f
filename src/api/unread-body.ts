import type { FastifyInstance } from 'fastify';

/**
 * An answer given before the request body was read (a 401, 413 or 429 from an onRequest hook) ends
 * the connection. Otherwise Node reads and discards the rest of the body to keep the connection
 * alive, so a stranger could make us swallow a 100 MB upload just to refuse it.
 */
export function closeAfterUnreadBody(app: FastifyInstance): void {
  // A callback hook: it runs on every answer and never waits, so it needs no promise.
  app.addHook('onSend', (request, reply, payload, done) => {
    if (!request.raw.complete && !reply.hasHeader('connection')) reply.header('connection', 'close');
    done(null, payload);
  });
}
