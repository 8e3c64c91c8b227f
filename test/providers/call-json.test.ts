import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callJson } from '../../src/providers/upstream/call-json.js';
import { UpstreamError } from '../../src/providers/upstream/upstream-error.js';

let server: Server;
let base: string;
let bodiesSent = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/huge') {
      // An endless JSON array: only a size cap stops a client from reading it all.
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('[');
      const chunk = `${'"x",'.repeat(16_384)}`;
      const pump = () => {
        while (res.write(chunk)) bodiesSent++;
        res.once('drain', pump);
      };
      res.on('close', () => res.removeAllListeners('drain'));
      pump();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ok: true }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('callJson', () => {
  it('reads an ordinary answer', async () => {
    expect(await callJson(`${base}/ok`, { method: 'GET', apiKey: 'k', timeoutMs: 5_000 })).toEqual({ ok: true });
  });

  it('refuses an answer past its size cap instead of holding it in memory', async () => {
    const call = callJson(`${base}/huge`, { method: 'GET', apiKey: 'k', timeoutMs: 10_000, maxBytes: 1024 * 1024 });
    await expect(call).rejects.toBeInstanceOf(UpstreamError);
    await expect(call).rejects.toMatchObject({ code: 'malformed_response', message: expect.stringMatching(/larger than 1048576 bytes/) });
    // It stopped reading: the server was cut off after about the cap, not after the whole stream.
    expect(bodiesSent * 65_536).toBeLessThan(64 * 1024 * 1024);
  });
});
