import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The web console: a static single-page app served by vidgate at `/` (src/api/console.ts). Hashed
 * files go under /static/ so the server can cache them forever and never confuse them with API paths.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  resolve: { alias: { react: 'preact/compat', 'react-dom': 'preact/compat' } },
  // `npm run dev:console`: hot reload against a vidgate already running (VIDGATE_URL, default :3000).
  server: {
    proxy: Object.fromEntries(
      ['/v1', '/admin', '/files', '/uploads', '/docs', '/openapi.json', '/healthz', '/readyz'].map((path) => [
        path,
        process.env.VIDGATE_URL ?? 'http://127.0.0.1:3000',
      ]),
    ),
  },
  build: {
    outDir: fileURLToPath(new URL('../dist/console', import.meta.url)),
    emptyOutDir: true,
    assetsDir: 'static',
    target: 'es2022',
    sourcemap: true,
    chunkSizeWarningLimit: 200,
  },
});
