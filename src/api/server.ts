import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import fastifyStatic from '@fastify/static';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import { jsonSchemaTransform, jsonSchemaTransformObject, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import type { ApiContext } from './context.js';
import { installErrorHandling, notFoundHandler } from './errors.js';
import { bearerAuth } from './auth.js';
import { videoRoutes } from './videos.js';
import { taskRoutes } from './tasks.js';
import { fileRoutes } from './files.js';
import { uploadFileRoutes, uploadRoutes } from './uploads.js';
import { healthRoutes } from './health.js';
import { metricsRoutes } from './metrics.js';
import { consoleRoutes } from './console.js';
import { balanceRoutes } from './balance.js';
import { assetRoutes } from './assets.js';
import { modelRoutes } from './models.js';
import { installRateLimits, type RateLimits } from './rate-limit.js';
import { clientErrorHandler, frameworkErrorHandler, MAX_PARAM_LENGTH } from './client-errors.js';
import { closeAfterUnreadBody } from './unread-body.js';
import { halfClosedClientErrors, serveHalfClosed } from './half-closed.js';
import { readResponseVersion, refuseUnknownResponseVersion } from './response-version.js';
import { adminAuth } from './admin/admin-auth.js';
import { adminAccountRoutes } from './admin/accounts.js';
import { adminKeyRoutes } from './admin/keys.js';
import { adminAssetRoutes } from './admin/assets.js';
import { adminWebhookRoutes } from './admin/webhooks.js';
import { adminUsageRoutes } from './admin/usage.js';
import { adminChannelRoutes } from './admin/channels.js';
import { adminQueueRoutes } from './admin/queue.js';
import { usageRoutes } from './usage.js';
import { eventRoutes } from './events.js';
import { openAIVideoRoutes } from './openai-videos.js';

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** One line per request, written when it completes. */
class RequestLog extends LogController {
  override incomingRequest(): void {}
  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    request.log.info(
      {
        method: request.method,
        url: request.url.split('?')[0],
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
        ...(error ? { err: error } : {}),
      },
      'request',
    );
  }
}

/**
 * How long a connection whose client shut its sending side may wait for its answer to begin: such a
 * client can send nothing more, so whatever its request still waits for after that will not come.
 */
const HALF_CLOSED_GRACE_MS = 10_000;

export async function buildServer(ctx: ApiContext, logger: Logger): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    logController: new RequestLog(),
    bodyLimit: ctx.limits.bodyLimitBytes,
    // Node's defaults let a request trickle in forever (Fastify sets no request timeout).
    requestTimeout: ctx.limits.requestTimeoutMs,
    trustProxy: ctx.limits.trustProxy,
    // Node looks for requests past their time only every 30 s by default.
    http: { connectionsCheckingInterval: Math.min(1_000, ctx.limits.headersTimeoutMs) },
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    clientErrorHandler: halfClosedClientErrors(clientErrorHandler),
    frameworkErrors: frameworkErrorHandler,
    // Requests already on an open connection during shutdown are still answered: a submit is stored
    // durably and runs after the restart, so refusing it would only lose the client's work.
    return503OnClosing: false,
    // A caller's x-request-id is kept when it is sane, so its logs and ours line up.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
  }).withTypeProvider<ZodTypeProvider>();

  app.server.headersTimeout = ctx.limits.headersTimeoutMs;
  app.server.maxConnections = ctx.limits.maxConnections;
  // A client may send its whole request and then shut its side down (`nc -N`, raw sockets) while
  // still reading: without this Node drops the answer of any request whose handler waits on I/O.
  // A request the shutdown cut short is answered at once (half-closed.ts); the bound is a last resort.
  serveHalfClosed(app.server, HALF_CLOSED_GRACE_MS);
  app.setValidatorCompiler(validatorCompiler);
  // Responses are built by our own code from typed views; the schemas document them.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  installBodyParsers(app);
  installErrorHandling(app, ctx.limits.bodyLimitBytes);
  closeAfterUnreadBody(app);
  app.decorateRequest('caller', null);

  // Callback hooks: nothing here waits, and a promise per request per hook is not free (issue 17).
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    ctx.metrics.httpRequest(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
    done();
  });

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'vidgate',
        version: '0.1.0',
        description: 'The APIMart Seedance 2.0 video API, self-hosted. Submit a task, poll it, download the MP4.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' }, admin: { type: 'http', scheme: 'bearer' } } },
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  // Every sendFile names its own folder (signed-file.ts); the plugin only insists on a root.
  await app.register(fastifyStatic, { root: tmpdir(), serve: false });
  const limits = await installRateLimits(app, ctx.limits, ctx.store.rateWindows);
  app.setNotFoundHandler({ preHandler: limits.perAddress }, notFoundHandler);

  if (!ctx.servesApi) {
    // A worker: what a load balancer and Prometheus ask, nothing a client could use.
    await app.register(healthRoutes(ctx));
    await app.register(metricsRoutes(ctx.metrics));
    return app;
  }
  // Everything that needs no API key shares one allowance per address.
  await app.register(async (open) => {
    open.addHook('onRequest', limits.perAddress);
    await open.register(fastifySwaggerUi, { routePrefix: '/docs' });
    open.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
    await open.register(healthRoutes(ctx));
    await open.register(metricsRoutes(ctx.metrics));
    await open.register(consoleRoutes(ctx.consoleDir));
    await open.register(fileRoutes(ctx));
    await open.register(uploadFileRoutes(ctx));
  });
  await app.register(
    async (admin) => {
      admin.addHook('onRequest', refusalsCounted(adminAuth(ctx.adminToken), limits));
      await admin.register(adminAccountRoutes(ctx));
      await admin.register(adminKeyRoutes(ctx));
      await admin.register(adminAssetRoutes(ctx));
      await admin.register(adminWebhookRoutes(ctx));
      await admin.register(adminUsageRoutes(ctx));
      await admin.register(adminChannelRoutes(ctx));
      await admin.register(adminQueueRoutes(ctx));
    },
    { prefix: '/admin/v1' },
  );
  await app.register(async (v1) => {
    v1.decorateRequest('responseVersion', null);
    v1.addHook(
      'onRequest',
      inOrder(readResponseVersion, refusalsCounted(bearerAuth(ctx.store, ctx.keyCache), limits), limits.perKey, refuseUnknownResponseVersion),
    );
    await v1.register(videoRoutes(ctx));
    await v1.register(taskRoutes(ctx));
    await v1.register(eventRoutes(ctx));
    await v1.register(balanceRoutes(ctx));
    await v1.register(usageRoutes(ctx));
    await v1.register(assetRoutes(ctx));
    await v1.register(modelRoutes(ctx));
    await v1.register(uploadRoutes(ctx));
    await v1.register(openAIVideoRoutes(ctx));
  });
  return app;
}

type Hook = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

/** Hooks run one after the other as one hook, as Fastify runs a list (none once a reply is sent), in one turn less each. */
function inOrder(...hooks: Hook[]): Hook {
  return async (request, reply) => {
    for (const hook of hooks) {
      if (reply.sent) return;
      await hook(request, reply);
    }
  };
}

/** An auth hook whose refusals count against the caller's address: guessing keys is rate limited too. */
function refusalsCounted(auth: (request: FastifyRequest, reply: FastifyReply) => Promise<void>, limits: RateLimits) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    try {
      await auth(request, reply);
    } catch (err) {
      await limits.refused(request);
      throw err;
    }
  };
}

/**
 * JSON whatever the Content-Type says (clients that forget it still send JSON), with an empty body
 * meaning no body: many clients send `Content-Type: application/json` on every request, also on
 * bodiless POSTs and DELETEs; a route that needs a body says so in its own validation error.
 */
function installBodyParsers(app: FastifyInstance): void {
  const json = app.getDefaultJsonParser('error', 'error');
  const parse = (request: FastifyRequest, body: string | Buffer, done: (err: Error | null, value?: unknown) => void) => {
    if (body.length === 0 || (typeof body === 'string' && body.trim() === '')) return done(null, undefined);
    json(request, body as string, done);
  };
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, parse);
  app.addContentTypeParser('*', { parseAs: 'string' }, parse);
}
