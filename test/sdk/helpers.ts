import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestApp, TEST_KEY, type TestApp } from '../helpers/test-app.js';
import { createClient, type ClientOptions, type VidgateClient } from '../../src/sdk/index.js';

/** A vidgate app listening on 127.0.0.1 (a real base URL), and SDK clients for it. */
export interface RunningVidgate extends TestApp {
  baseURL: string;
  client(options?: ClientOptions): VidgateClient;
}

export async function startVidgate(env: Record<string, string> = {}, opts: { runDispatcher?: boolean } = {}): Promise<RunningVidgate> {
  const t = await startTestApp(env, opts);
  const baseURL = await t.app.server.listen({ host: '127.0.0.1', port: 0 });
  return { ...t, baseURL, client: (options = {}) => createClient({ baseURL, apiKey: TEST_KEY, ...options }) };
}

export interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface TinyServer {
  url: string;
  requests: Seen[];
  close(): Promise<void>;
}

/** A small HTTP server on 127.0.0.1 whose answers the test writes; every request is recorded. */
export async function tinyServer(handle: (req: Seen, res: ServerResponse, raw: IncomingMessage) => void | Promise<void>): Promise<TinyServer> {
  const requests: Seen[] = [];
  const server = createServer(async (raw, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of raw) chunks.push(chunk as Buffer);
    const seen = { method: raw.method ?? 'GET', url: raw.url ?? '/', headers: raw.headers, body: Buffer.concat(chunks).toString('utf8') };
    requests.push(seen);
    try {
      await handle(seen, res, raw);
    } catch (err) {
      if (!res.headersSent) res.writeHead(500).end(String(err));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) =>
  void res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));

/** A port on 127.0.0.1 that nothing listens on. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
