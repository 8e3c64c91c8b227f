import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Result files are public to whoever holds the URL until it expires, like the upstreams' own links:
 * `/files/<expires unix s>/<HMAC-SHA256(key \n expires)>/<key>`. Expiry and signature are in the
 * path so that the URL ends in the file's own name, which clients use to name the download. Links
 * of the earlier form, `/files/<key>?expires=&signature=`, carry the same signature and still work.
 */
const encodePath = (key: string) => key.split('/').map(encodeURIComponent).join('/');

export class UrlSigner {
  /** A task's links keep their expiry, so a task polled over and over is signed once. */
  private readonly recent = new Map<string, string>();

  constructor(
    private readonly secret: string,
    private readonly remember = 10_000,
  ) {}

  private signature(key: string, expiresUnix: number): string {
    const message = `${key}\n${expiresUnix}`;
    let signature = this.recent.get(message);
    if (signature === undefined) {
      signature = createHmac('sha256', this.secret).update(message).digest('base64url');
      if (this.recent.size >= this.remember) this.recent.delete(this.recent.keys().next().value!);
      this.recent.set(message, signature);
    }
    return signature;
  }

  /** A result file's path, ending in its name; the caller puts its public base URL in front. */
  resultPath(key: string, expiresAtMs: number): string {
    const expires = Math.floor(expiresAtMs / 1000);
    return `/files/${expires}/${this.signature(key, expires)}/${encodePath(key)}`;
  }

  /** Path and query, the signature in the query (assets, uploads, and results before resultPath). */
  signedPath(key: string, expiresAtMs: number): string {
    const expires = Math.floor(expiresAtMs / 1000);
    return `/files/${encodePath(key)}?expires=${expires}&signature=${this.signature(key, expires)}`;
  }

  verify(key: string, expires: string | undefined, signature: string | undefined, nowMs: number): 'ok' | 'invalid' | 'expired' {
    if (!expires || !signature || !/^\d{1,12}$/.test(expires)) return 'invalid';
    const expected = Buffer.from(this.signature(key, Number(expires)));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return 'invalid';
    return Number(expires) * 1000 <= nowMs ? 'expired' : 'ok';
  }
}
