import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MediaCache } from '../../src/media/media-cache.js';

const PNG = { ext: 'png', mime: 'image/png' };

describe('MediaCache', () => {
  let dir: string;
  let now: number;
  const clock = () => now;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vidgate-cache-'));
    now = 1_000_000;
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function put(cache: MediaCache, content: string) {
    const temp = cache.tempPath();
    await writeFile(temp, content);
    return cache.store(temp, createHash('sha256').update(content).digest('hex'), PNG, 'move');
  }

  it('stores content once, by hash', async () => {
    const cache = new MediaCache({ dir, maxBytes: 1000, clock });
    await cache.init();
    const a = await put(cache, 'same bytes');
    const b = await put(cache, 'same bytes');
    expect(b.path).toBe(a.path);
    expect((await readdir(dir)).filter((n) => n.endsWith('.png'))).toHaveLength(1);
    expect(await readdir(join(dir, '.tmp'))).toEqual([]);
  });

  it('evicts the least recently used files nobody uses once over its bound', async () => {
    const cache = new MediaCache({ dir, maxBytes: 25, inUseGraceMs: 1000, clock });
    await cache.init();
    const oldest = await put(cache, 'a'.repeat(10));
    now += 10;
    const pinned = await put(cache, 'b'.repeat(10));
    cache.pin(pinned.hash);
    now += 10;
    const used = await put(cache, 'c'.repeat(10));
    now += 10;
    cache.pin(used.hash);
    cache.unpin(used.hash); // used just now: recently used, but no longer pinned
    // 30 bytes > 25, but everything is within the grace period: nothing goes.
    expect(cache.storedBytes).toBe(30);
    now += 5000;
    await put(cache, 'd'.repeat(10));
    // Over by 15: the oldest idle file goes first, then the next idle one; the pinned one stays.
    expect(existsSync(oldest.path)).toBe(false);
    expect(existsSync(used.path)).toBe(false);
    expect(existsSync(pinned.path)).toBe(true);
    expect(cache.storedBytes).toBe(20);
  });

  it('remembers a URL for its TTL only', async () => {
    const cache = new MediaCache({ dir, maxBytes: 1000, urlTtlMs: 100, clock });
    await cache.init();
    const file = await put(cache, 'content');
    cache.rememberUrl('image http://x/a.png', file.hash);
    expect(cache.lookupUrl('image http://x/a.png')?.path).toBe(file.path);
    now += 100;
    expect(cache.lookupUrl('image http://x/a.png')).toBeUndefined();
  });

  it('takes stock of stored files after a restart', async () => {
    const first = new MediaCache({ dir, maxBytes: 1000, clock });
    await first.init();
    const file = await put(first, 'kept across restarts');
    const second = new MediaCache({ dir, maxBytes: 1000, clock });
    await second.init();
    expect(second.storedBytes).toBe(20);
    expect(second.get(file.hash)?.path).toBe(file.path);
  });
});
