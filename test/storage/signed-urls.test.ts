import { describe, expect, it } from 'vitest';
import { UrlSigner } from '../../src/storage/signed-urls.js';

const parse = (path: string) => {
  const url = new URL(path, 'http://x');
  return {
    key: decodeURIComponent(url.pathname.slice('/files/'.length)),
    expires: url.searchParams.get('expires')!,
    signature: url.searchParams.get('signature')!,
  };
};

describe('UrlSigner', () => {
  it('accepts its own links until they expire, and nothing altered', () => {
    const signer = new UrlSigner('secret-1');
    const at = Date.UTC(2030, 0, 1);
    const link = parse(signer.signedPath('task_1/abc/video.mp4', at));
    expect(signer.verify(link.key, link.expires, link.signature, at - 1000)).toBe('ok');
    expect(signer.verify(link.key, link.expires, link.signature, at)).toBe('expired');
    expect(signer.verify('task_2/abc/video.mp4', link.expires, link.signature, at - 1000)).toBe('invalid');
    expect(signer.verify(link.key, String(Number(link.expires) + 1), link.signature, at - 1000)).toBe('invalid');
    expect(new UrlSigner('secret-2').verify(link.key, link.expires, link.signature, at - 1000)).toBe('invalid');
  });

  it('gives the same signatures whether or not it still remembers them', () => {
    const small = new UrlSigner('secret-1', 2);
    const fresh = (key: string, at: number) => new UrlSigner('secret-1', 2).signedPath(key, at);
    const keys = ['a/v.mp4', 'b/v.mp4', 'c/v.mp4', 'd/v.mp4'];
    for (let round = 0; round < 3; round++) {
      for (const key of keys) expect(small.signedPath(key, 1_900_000_000_000)).toBe(fresh(key, 1_900_000_000_000));
    }
    expect(small.signedPath('a/v.mp4', 1_900_000_000_000)).not.toBe(small.signedPath('a/v.mp4', 1_900_000_001_000));
  });
});
