import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import fastifyStatic from '@fastify/static';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import { jsonSchemaTransform, jsonSchemaTransformObject, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import { randomUUID } from 'node:crypto';
import type { ApiContext } from './context.js';
import { installErrorHandling } from './errors.js';
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
import { perKeyRateLimit } from './rate-limit.js';
import { adminAuth } from './admin/admin-auth.js';
import { adminAccountRoutes } from './admin/accounts.js';
import { adminKeyRoutes } from './admin/keys.js';
import { adminAssetRoutes } from './admin/assets.js';
import { adminWebhookRoutes } from './admin/webhooks.js';
import { eventRoutes } from './events.js';

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** One line per request, written when it completes. */
class RequestLog extends LogController {
  override incomingRequest(): void {}
  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    request.log.info(
      { method: request.method, url: request.url.split('?')[0], status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10, ...(error ? { err: error } : {}) },
      'request',
    );
  }
}

export async function buildServer(ctx: ApiContext, logger: Logger): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    logController: new RequestLog(),
    bodyLimit: ctx.bodyLimitBytes,
    // Requests already on an open connection during shutdown are still answered: a submit is stored
    // durably and runs after the restart, so refusing it would only lose the client's work.
    return503OnClosing: false,
    // A caller's x-request-id is kept when it is sane, so its logs and ours line up.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  // Responses are built by our own code from typed views; the schemas document them.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  // Clients that forget Content-Type still send JSON; parse it with the same safe parser.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('*', { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));
  installErrorHandling(app, ctx.bodyLimitBytes);
  app.decorateRequest('caller', null);

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.addHook('onResponse', async (request, reply) => {
    ctx.metrics.httpRequest(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
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
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
  await app.register(fastifyStatic, { root: ctx.storage.root, serve: false });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await app.register(healthRoutes(ctx));
  await app.register(metricsRoutes(ctx.metrics));
  await app.register(consoleRoutes);
  await app.register(fileRoutes(ctx));
  await app.register(uploadFileRoutes(ctx));
  await app.register(
    async (admin) => {
      admin.addHook('onRequest', adminAuth(ctx.adminToken));
      await admin.register(adminAccountRoutes(ctx));
      await admin.register(adminKeyRoutes(ctx));
      await admin.register(adminAssetRoutes(ctx));
      await admin.register(adminWebhookRoutes(ctx));
    },
    { prefix: '/admin/v1' },
  );
  await app.register(async (v1) => {
    v1.addHook('onRequest', bearerAuth(ctx.store, ctx.keyCache));
    await perKeyRateLimit(v1, ctx.defaultRpm, ctx.rateWindowMs);
    await v1.register(videoRoutes(ctx));
    await v1.register(taskRoutes(ctx));
    await v1.register(eventRoutes(ctx));
    await v1.register(balanceRoutes(ctx));
    await v1.register(assetRoutes(ctx));
    await v1.register(modelRoutes(ctx.prices));
    await v1.register(uploadRoutes(ctx));
  });
  return app;
}
