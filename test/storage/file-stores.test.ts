import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile, access } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { startTestS3, TEST_BUCKET, type TestS3 } from '../helpers/s3-server.js';
import type { FileStore } from '../../src/storage/file-store.js';
import { FileMissingError } from '../../src/storage/file-store.js';
import { LocalFileStore } from '../../src/storage/local-file-store.js';
import { createS3Client } from '../../src/storage/s3/s3-client.js';
import { PART_BYTES, S3FileStore } from '../../src/storage/s3/s3-file-store.js';
import { S3Presigner } from '../../src/storage/s3/s3-presigner.js';

let s3: TestS3;
let scratch: string;

beforeAll(async () => {
  s3 = await startTestS3();
  scratch = await mkdtemp(join(tmpdir(), 'vidgate-stores-'));
});
afterAll(async () => {
  await s3.close();
  await rm(scratch, { recursive: true, force: true });
});

const bytes = async (stream: Readable) => Buffer.concat(await stream.toArray());
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

// Every store must behave alike: the routes and renders only know the interface.
describe.each([
  ['local', async () => new LocalFileStore(await mkdtemp(join(scratch, 'local-')))],
  ['s3', async () => new S3FileStore(createS3Client(s3.settings('contract')), s3.settings('contract'))],
] as const)('%s file store', (_name, make) => {
  let files: FileStore;
  beforeAll(async () => {
    files = await make();
    await files.init();
  });
  afterAll(() => files.close());

  it('stores a moved file, answers its size and reads it back whole or by range', async () => {
    const data = randomBytes(70_000);
    const source = join(scratch, `source-${randomBytes(4).toString('hex')}`);
    await writeFile(source, data);
    expect(await files.put('results/task_1/aa/task_1.mp4', source, { contentType: 'video/mp4', mode: 'move' })).toBe(data.length);
    await expect(access(source)).rejects.toThrow();
    expect(await files.stat('results/task_1/aa/task_1.mp4')).toMatchObject({ bytes: data.length });
    expect((await bytes(await files.read('results/task_1/aa/task_1.mp4'))).equals(data)).toBe(true);
    expect((await bytes(await files.read('results/task_1/aa/task_1.mp4', { start: 100, end: 299 }))).equals(data.subarray(100, 300))).toBe(true);
    const target = join(scratch, `copy-${randomBytes(4).toString('hex')}`);
    await files.download('results/task_1/aa/task_1.mp4', target);
    expect((await readFile(target)).equals(data)).toBe(true);
  });

  it('keeps a copied file where it was', async () => {
    const source = join(scratch, 'kept.png');
    await writeFile(source, 'png bytes');
    await files.put('assets/asset_1.png', source, { contentType: 'image/png', mode: 'copy' });
    expect(await readFile(source, 'utf8')).toBe('png bytes');
    expect(await text(await files.read('assets/asset_1.png'))).toBe('png bytes');
  });

  it('lists a folder, deletes one file and whole folders', async () => {
    for (const key of ['results/task_2/bb/task_2.mp4', 'results/task_2/bb/task_2_last_frame.png', 'results/task_22/cc/task_22.mp4']) {
      const source = join(scratch, randomBytes(4).toString('hex'));
      await writeFile(source, key);
      await files.put(key, source, { contentType: 'application/octet-stream', mode: 'move' });
    }
    const listed = async (prefix: string) => {
      const keys: string[] = [];
      for await (const f of files.list(prefix)) keys.push(f.key);
      return keys.sort();
    };
    expect(await listed('results/task_2/')).toEqual(['results/task_2/bb/task_2.mp4', 'results/task_2/bb/task_2_last_frame.png']);
    await files.delete('results/task_2/bb/task_2_last_frame.png');
    expect(await listed('results/task_2/')).toEqual(['results/task_2/bb/task_2.mp4']);
    await files.deleteAll('results/task_2/');
    expect(await listed('results/task_2/')).toEqual([]);
    // A folder's prefix is not a prefix of its neighbour's name.
    expect(await listed('results/task_22/')).toEqual(['results/task_22/cc/task_22.mp4']);
  });

  it('says when a file is missing, and refuses keys that would leave their folder', async () => {
    expect(await files.stat('uploads/nothing.png')).toBeNull();
    await expect(files.read('uploads/nothing.png')).rejects.toBeInstanceOf(FileMissingError);
    for (const key of ['../outside', 'results/../../x', 'results//x', 'a\\b']) expect(await files.stat(key)).toBeNull();
  });
});

describe('S3 file store', () => {
  it('streams a file larger than a part up in parts, never holding it whole, byte for byte', async () => {
    const settings = s3.settings('multipart');
    const client = createS3Client(settings);
    const store = new S3FileStore(client, settings);
    const total = 6 * PART_BYTES + 123_457;
    let produced = 0;
    const calls: Array<{ command: string; producedBefore: number; partBytes?: number }> = [];
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const body = (args.input as { Body?: unknown }).Body;
        calls.push({
          command: context.commandName!,
          producedBefore: produced,
          partBytes: Buffer.isBuffer(body) || body instanceof Uint8Array ? body.length : undefined,
        });
        return next(args);
      },
      { step: 'initialize', name: 'recordCalls' },
    );
    const hash = createHash('sha256');
    // Made as it is read, 64 KB at a time: the source never exists whole either.
    const source = Readable.from(
      (function* () {
        while (produced < total) {
          const chunk = randomBytes(Math.min(64 * 1024, total - produced));
          produced += chunk.length;
          hash.update(chunk);
          yield chunk;
        }
      })(),
    );
    await store.putStream('results/task_big/dd/task_big.mp4', source, 'video/mp4');

    const parts = calls.filter((c) => c.command === 'UploadPartCommand');
    expect(calls[0]?.command).toBe('CreateMultipartUploadCommand');
    expect(calls.some((c) => c.command === 'PutObjectCommand')).toBe(false);
    expect(parts).toHaveLength(7);
    expect(parts.every((p) => p.partBytes !== undefined && p.partBytes <= PART_BYTES)).toBe(true);
    // Parts leave while the file is still being made: at most the parts in flight are held.
    expect(parts[0]!.producedBefore).toBeLessThan(3 * PART_BYTES);
    expect(parts.at(-1)!.producedBefore).toBe(total);
    expect(calls.at(-1)?.command).toBe('CompleteMultipartUploadCommand');

    const stored = await s3.object('multipart/results/task_big/dd/task_big.mp4');
    expect(stored?.length).toBe(total);
    expect(sha256(stored!)).toBe(hash.digest('hex'));
    const info = await store.stat('results/task_big/dd/task_big.mp4');
    expect(info).toMatchObject({ bytes: total, contentType: 'video/mp4' });
    await store.close();
  });
});

describe('S3 presigned URLs', () => {
  it('are the URLs the SDK presigner makes', async () => {
    const now = Date.parse('2026-12-01T10:17:42.500Z');
    const expiresAt = now + 72 * 3_600_000;
    for (const settings of [
      s3.settings('p'),
      { ...s3.settings('deep/prefix'), endpoint: undefined, forcePathStyle: false, region: 'eu-west-1' },
      { ...s3.settings(''), credentials: { accessKeyId: 'AKID', secretAccessKey: 'SECRET', sessionToken: 'TOKEN/+=' } },
    ]) {
      const client = createS3Client(settings);
      const presigner = new S3Presigner(client, settings);
      await presigner.init();
      const key = "results/task_1/ab12/task_1 (copy)!'*~.mp4";
      const signingDate = new Date('2026-12-01T10:00:00Z');
      const sdk = await getSignedUrl(client, new GetObjectCommand({ Bucket: TEST_BUCKET, Key: settings.prefix ? `${settings.prefix}/${key}` : key }), {
        signingDate,
        expiresIn: (Math.floor(expiresAt / 1000) * 1000 - signingDate.getTime()) / 1000,
      });
      expect(presigner.url(key, expiresAt, now)).toBe(sdk);
      client.destroy();
    }
  });

  // s3rver checks a presigned URL's expiry and key id but not its V4 signature: equality with the
  // SDK's own presigner (above) is what shows the signature right.
  it('download the object from the S3 server until they expire', async () => {
    const settings = s3.settings('presigned');
    const client = createS3Client(settings);
    const store = new S3FileStore(client, settings);
    const data = randomBytes(10_000);
    await store.putStream('results/task_3/ee/task_3.mp4', Readable.from([data]), 'video/mp4');
    const presigner = new S3Presigner(client, settings);
    await presigner.init();
    const now = Date.now();
    const url = presigner.url('results/task_3/ee/task_3.mp4', now + 3_600_000, now);
    expect(new URL(url).pathname).toBe(`/${TEST_BUCKET}/presigned/results/task_3/ee/task_3.mp4`);
    // The same URL on every poll within the hour, and it ends when the result does.
    expect(presigner.url('results/task_3/ee/task_3.mp4', now + 3_600_000, now + 1000)).toBe(url);
    const q = new URL(url).searchParams;
    expect(Date.UTC(...amzDate(q.get('X-Amz-Date')!)) + Number(q.get('X-Amz-Expires')) * 1000).toBe(Math.floor((now + 3_600_000) / 1000) * 1000);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(data)).toBe(true);
    const expired = presigner.url('results/task_3/ee/task_3.mp4', now - 1000, now);
    expect((await fetch(expired)).status).toBe(403);
    await store.close();
  });
});

function amzDate(value: string): [number, number, number, number, number, number] {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value)!;
  return [Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])];
}
