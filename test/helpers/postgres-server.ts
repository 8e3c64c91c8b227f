import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chown, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { findOnPath } from '../../src/tools/binary-lookup.js';

/**
 * A throwaway PostgreSQL server for the tests and benchmarks: Debian's server binaries (installed
 * with apt when the machine lacks them), a cluster in a temporary directory, listening on 127.0.0.1
 * only, with durability off (fsync) since its data dies with the run.
 */

const execFileAsync = promisify(execFile);

export interface PostgresServer {
  /** Superuser URL of the `postgres` database; each test makes its own database from it. */
  adminUrl: string;
  port: number;
  /** Stops the server process, keeping its data (an outage), and starts it again on the same port. */
  halt(): Promise<void>;
  resume(): Promise<void>;
  stop(): Promise<void>;
}

/** Debian keeps server binaries out of PATH, under /usr/lib/postgresql/<major>/bin; the newest wins. */
async function serverBinDir(): Promise<string | null> {
  const versions = await readdir('/usr/lib/postgresql').catch(() => [] as string[]);
  for (const version of versions.sort((a, b) => Number(b) - Number(a))) {
    const dir = `/usr/lib/postgresql/${version}/bin`;
    if ((await findOnPath('initdb', dir)) && (await findOnPath('postgres', dir))) return dir;
  }
  const initdb = await findOnPath('initdb');
  return initdb ? initdb.slice(0, -'/initdb'.length) : null;
}

/** The server binaries, installing Debian's `postgresql` when they are missing and we may. */
export async function provisionPostgres(log: (line: string) => void = console.log): Promise<string> {
  const found = await serverBinDir();
  if (found) return found;
  const aptGet = await findOnPath('apt-get');
  if (process.getuid?.() !== 0 || !aptGet) {
    throw new Error('the tests need a PostgreSQL server: install the Debian package postgresql (apt-get install postgresql)');
  }
  log('installing postgresql with apt-get: no PostgreSQL server binaries (for the PostgreSQL store tests)');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await execFileAsync(aptGet, ['update', '-qq'], { env, maxBuffer: 16 * 1024 * 1024 });
  await execFileAsync(aptGet, ['install', '-y', '-qq', '--no-install-recommends', 'postgresql'], { env, maxBuffer: 16 * 1024 * 1024 });
  const installed = await serverBinDir();
  if (!installed) throw new Error('apt-get installed postgresql, yet no initdb/postgres binaries were found');
  return installed;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** initdb refuses to run as root: as root, the cluster belongs to Debian's `postgres` user. */
async function clusterUser(): Promise<{ uid: number; gid: number } | null> {
  if (process.getuid?.() !== 0) return null;
  const passwd = await readFile('/etc/passwd', 'utf8');
  const line = passwd.split('\n').find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('running as root, but there is no postgres user to own the test cluster');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

export async function startPostgresServer(
  options: {
    maxConnections?: number;
    /** Acknowledge a commit only once its WAL is written, so a killed server keeps it (fsync stays off: the OS survives). */
    durableCommits?: boolean;
  } = {},
): Promise<PostgresServer> {
  const bin = await provisionPostgres();
  const user = await clusterUser();
  const root = await mkdtemp(join(tmpdir(), 'vidgate-pg-'));
  const data = join(root, 'data');
  const socketDir = join(root, 'socket');
  await mkdir(socketDir);
  if (user) {
    await chown(root, user.uid, user.gid);
    await chown(socketDir, user.uid, user.gid);
  }
  const as = user ? { uid: user.uid, gid: user.gid } : {};
  // The cluster user may not be able to read the current directory (root's home).
  const run = (file: string, args: string[]) => execFileAsync(join(bin, file), args, { ...as, cwd: root, maxBuffer: 16 * 1024 * 1024 });
  await run('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-locale', '--no-sync']);
  const port = await freePort();
  const settings = [
    `-p ${port}`,
    `-k ${socketDir}`,
    '-c listen_addresses=127.0.0.1',
    '-c fsync=off',
    `-c synchronous_commit=${options.durableCommits ? 'on' : 'off'}`,
    '-c full_page_writes=off',
    `-c max_connections=${options.maxConnections ?? 400}`,
  ].join(' ');
  const start = () => run('pg_ctl', ['-D', data, '-o', settings, '-l', join(root, 'server.log'), '-w', '-t', '60', 'start']);
  await start();
  const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
  return {
    adminUrl,
    port,
    async halt() {
      await run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
    },
    async resume() {
      await start();
    },
    async stop() {
      await run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** A new empty database on the server; `drop` ends its connections and removes it. */
export async function createTestDatabase(adminUrl: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `vidgate_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
