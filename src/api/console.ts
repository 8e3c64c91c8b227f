import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';

/**
 * The web console (console/, built by `npm run build` into dist/console): index.html at `/`,
 * revalidated on every visit so a new build shows at once, and its content-hashed files under
 * /static/, cached for a year since a changed file gets a new name.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  // Preact sets inline style properties (progress bars).
  "style-src 'self' 'unsafe-inline'",
  // Results and thumbnails may live on a bucket's own host (presigned S3 URLs).
  "img-src 'self' data: blob: https: http:",
  "media-src 'self' blob: https: http:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>vidgate</title>
<p>The web console is not built. Run <code>npm run build</code> (or <code>npm ci</code>), then reload.
The API is up: see <a href="/docs">/docs</a>.</p>`;

export const consoleRoutes =
  (dir: string): FastifyPluginAsync =>
  async (app) => {
    app.get('/', { schema: { hide: true } }, async (_request, reply) => {
      if (!existsSync(join(dir, 'index.html'))) {
        return reply.code(503).header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-store').send(NOT_BUILT);
      }
      return reply
        .header('content-security-policy', CONTENT_SECURITY_POLICY)
        .header('x-content-type-options', 'nosniff')
        .header('referrer-policy', 'same-origin')
        .header('cache-control', 'no-cache')
        .sendFile('index.html', dir, { cacheControl: false });
    });
    const files = join(dir, 'static');
    if (!existsSync(files)) return;
    await app.register(fastifyStatic, {
      root: files,
      prefix: '/static/',
      decorateReply: false,
      index: false,
      immutable: true,
      maxAge: '365d',
      setHeaders: (reply) => void reply.header('x-content-type-options', 'nosniff'),
    });
  };
