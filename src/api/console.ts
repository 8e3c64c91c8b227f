import type { FastifyPluginAsync } from 'fastify';
import { CONSOLE_HTML } from '../console/page.js';

export const consoleRoutes: FastifyPluginAsync = async (app) => {
  app.get('/', { schema: { hide: true } }, async (_request, reply) =>
    reply
      .header('content-type', 'text/html; charset=utf-8')
      .header(
        'content-security-policy',
        "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; media-src * blob:; img-src * data:",
      )
      .send(CONSOLE_HTML),
  );
};
