import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { startTestApp, TEST_KEY, type TestApp } from '../helpers/test-app.js';
import { createAccountWithKey, hashApiKey } from '../../src/auth/keys.js';
import { createApp, FIRST_KEY_FILE } from '../../src/app.js';
import { loadConfig } from '../../src/config/env.js';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { queryTestDatabase, TEST_STORE, testStoreEnv } from '../helpers/test-store.js';

const run = promisify(execFile);
const body = { model: 'doubao-seedance-2.0', prompt: 'A kitten yawning at the camera' };

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ VIDGATE_BOOTSTRAP_BALANCE: '12.5' }, { runDispatcher: false });
});
afterAll(() => t.close());

const submitWith = (headers: Record<string, string>, payload: string = JSON.stringify(body)) =>
  t.app.server.inject({ method: 'POST', url: '/v1/videos/generations', headers: { 'content-type': 'application/json', ...headers }, payload });

function expect401(res: { statusCode: number; json: () => any }, message: RegExp) {
  expect(res.statusCode).toBe(401);
  expect(res.json()).toEqual({ error: { code: 401, type: 'authentication_error', message: expect.stringMatching(message) } });
}

describe('API keys', () => {
  it('accepts the bootstrap key', async () => {
    expect((await submitWith(t.auth)).statusCode).toBe(200);
  });

  it('401 without a key, naming the header to send', async () => {
    expect401(await submitWith({}), /missing API key: send the header Authorization: Bearer <key>/);
  });

  it('401 for a malformed Authorization header', async () => {
    expect401(await submitWith({ authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }), /malformed Authorization header/);
    expect401(await submitWith({ authorization: 'Bearer' }), /malformed/);
  });

  it('401 for an unknown key', async () => {
    expect401(await submitWith({ authorization: `Bearer ${TEST_KEY}x` }), /Authentication failed, please check your API key/);
  });

  it('checks the key before reading the body', async () => {
    expect401(await submitWith({ authorization: 'Bearer nope' }, '{not json'), /Authentication failed/);
  });

  it('guards every /v1 route', async () => {
    for (const url of ['/v1/tasks', '/v1/tasks/task_01KMCGF6BQGN3X28H3KSR50X5T', '/v1/tasks/task_01KMCGF6BQGN3X28H3KSR50X5T/content']) {
      expect401(await t.app.server.inject({ method: 'GET', url }), /missing API key/);
    }
  });

  it('401 for a disabled key', async () => {
    const created = await createAccountWithKey(t.app.store, { name: 'soon disabled' });
    await t.app.store.setApiKeyDisabled(created.key.id, true);
    expect401(await submitWith({ authorization: `Bearer ${created.secret}` }), /Authentication failed/);
  });

  it('a key disabled by `vidgate keys disable` in another process is refused on its next request, and back when enabled', async () => {
    const created = await createAccountWithKey(t.app.store, { name: 'disabled elsewhere' });
    const list = () => t.app.server.inject({ method: 'GET', url: '/v1/tasks', headers: { authorization: `Bearer ${created.secret}` } });
    // Accepted, so now in this process's key cache.
    expect((await list()).statusCode).toBe(200);
    const storeEnv = await testStoreEnv(t.dataDir);
    const cli = (verb: string) =>
      run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'keys', verb, created.key.id], {
        env: { ...process.env, VIDGATE_DATA_DIR: t.dataDir, ...storeEnv },
      });
    await cli('disable');
    expect401(await list(), /Authentication failed/);
    await cli('enable');
    expect((await list()).statusCode).toBe(200);
  });

  it('stores only a hash of the key, never the key itself', async () => {
    if (TEST_STORE === 'sqlite') {
      const files = (await readdir(t.dataDir)).filter((f) => f.startsWith('vidgate.db'));
      expect(files.length).toBeGreaterThan(0);
      for (const f of files) expect((await readFile(join(t.dataDir, f))).includes(TEST_KEY)).toBe(false);
    } else {
      const keys = await queryTestDatabase(t.dataDir, 'SELECT * FROM api_keys');
      expect(keys.length).toBeGreaterThan(0);
      expect(JSON.stringify(keys)).not.toContain(TEST_KEY);
    }
    expect((await t.app.store.findApiKeyByHash(hashApiKey(TEST_KEY)))!.hash).toBe(hashApiKey(TEST_KEY));
  });

  it('VIDGATE_BOOTSTRAP_BALANCE gives the account that balance instead of unlimited quota', async () => {
    const key = (await t.app.store.findApiKeyByHash(hashApiKey(TEST_KEY)))!;
    expect(await t.app.store.getAccount(key.accountId)).toMatchObject({ unlimited: false });
    const [opening] = await t.app.store.listLedger(key.accountId, 1);
    expect(opening).toMatchObject({ kind: 'topup', amountMicros: 12_500_000, balanceAfterMicros: 12_500_000 });
  });
});

describe('first start and the CLI', () => {
  it('without any key, the first start creates an unlimited account and leaves its key in a private file, not in the log', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'vidgate-first-'));
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) });
    const app = await createApp(loadConfig({ VIDGATE_DATA_DIR: dataDir }), { logger: pino({ level: 'info' }, sink), runDispatcher: false });
    try {
      const file = join(dataDir, FIRST_KEY_FILE);
      const secret = (await readFile(file, 'utf8')).trim();
      expect(secret).toMatch(/^sk-vg-[\w-]+$/);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      expect(lines.join('')).not.toContain(secret);
      expect(lines.join('')).toContain(file);
      const key = (await app.store.findApiKeyByHash(hashApiKey(secret!)))!;
      expect(await app.store.getAccount(key.accountId)).toMatchObject({ unlimited: true });
      const res = await app.server.inject({ method: 'GET', url: '/v1/tasks', headers: { authorization: `Bearer ${secret}` } });
      expect(res.statusCode).toBe(200);
    } finally {
      await app.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('`vidgate keys create` prints a new key that works', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'vidgate-cli-'));
    try {
      const env = { ...process.env, VIDGATE_DATA_DIR: dataDir };
      const { stdout } = await run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'keys', 'create', '--name', 'ci', '--balance', '3'], { env });
      const secret = stdout.trim();
      expect(secret).toMatch(/^sk-vg-[\w-]{43}$/);
      const { stdout: json } = await run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'keys', 'create', '--json'], { env });
      expect(JSON.parse(json)).toMatchObject({ api_key: expect.stringMatching(/^sk-vg-/), account_id: expect.stringMatching(/^acct_/) });

      const app = await createApp(loadConfig({ VIDGATE_DATA_DIR: dataDir, VIDGATE_LOG_LEVEL: 'silent' }), { runDispatcher: false });
      try {
        const key = (await app.store.findApiKeyByHash(hashApiKey(secret)))!;
        expect(await app.store.getAccount(key.accountId)).toMatchObject({ unlimited: false, balanceMicros: 3_000_000 });
        const res = await app.server.inject({ method: 'GET', url: '/v1/tasks', headers: { authorization: `Bearer ${secret}` } });
        expect(res.statusCode).toBe(200);
      } finally {
        await app.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('the CLI refuses a bad balance with a one-line error', async () => {
    const err = await run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'keys', 'create', '--balance', 'lots'], {
      env: { ...process.env, VIDGATE_DATA_DIR: tmpdir() },
    }).catch((e) => e);
    expect(err.code).not.toBe(0);
    expect(err.stderr).toMatch(/expected an amount in USD/);
  });
});
