import { fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { assertUndiciPatched } from '../../src/net/undici-patch.js';
import { startRawHttpServer, type Framing, type RawHttpServer } from '../helpers/foreign/raw-http.js';

const CLIENT = fileURLToPath(new URL('./fixtures/paused-body-client.mjs', import.meta.url));

interface ClientReport {
  bytes?: number;
  error?: string;
}

/** Runs the client in its own process, so that a crash is a failed assertion rather than a dead test worker. */
async function readAfterServerClosed(server: RawHttpServer, closed: Promise<void>): Promise<{ code: number | null; report: ClientReport }> {
  const child = fork(CLIENT, [server.url], { cwd: process.cwd(), stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  let report: ClientReport = {};
  child.on('message', (m: ClientReport & { headers?: boolean }) => {
    if (m.headers) void closed.then(() => child.send('read'));
    else report = m;
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) report.error = `exit ${code}: ${stderr.split('\n').find((l) => l.includes('Error')) ?? stderr.slice(0, 300)}`;
  return { code, report };
}

describe('undici: a peer that closes while the response body is paused (nodejs/undici#5360)', () => {
  let server: RawHttpServer | undefined;
  afterEach(async () => server?.close());

  const body = Buffer.alloc(64 * 1024, 0x61);
  const cases: Array<[Framing, ClientReport]> = [
    ['content-length', { bytes: body.length }],
    ['chunked', { bytes: body.length }],
    ['eof', { bytes: body.length }],
    ['short-content-length', { error: 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH' }],
    ['truncated-chunked', { error: 'HTTPParserError' }],
  ];

  for (const [framing, expected] of cases) {
    it(`${framing}: the process lives and the body is ${expected.error ? 'refused' : 'complete'}`, async () => {
      let sent!: () => void;
      const closed = new Promise<void>((resolve) => (sent = resolve));
      server = await startRawHttpServer({ framing, body, onResponseSent: () => sent() });
      const { code, report } = await readAfterServerClosed(server, closed);
      expect(report.error?.startsWith('exit') ? report.error : code).toBe(0);
      if (expected.bytes !== undefined) expect(report).toEqual({ bytes: expected.bytes });
      else expect(report.error).toBe(expected.error);
    });
  }
});

describe('assertUndiciPatched', () => {
  it('accepts the installed undici, which npm ci patched', () => {
    expect(() => assertUndiciPatched()).not.toThrow();
  });

  it('refuses a parser without the fix', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vidgate-undici-'));
    try {
      const file = join(dir, 'client-h1.js');
      await writeFile(file, 'finish () { assert(!this.paused) }\n');
      expect(() => assertUndiciPatched(file)).toThrow(/nodejs\/undici#5360/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
