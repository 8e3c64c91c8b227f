import type { ResultStorage } from './result-storage.js';
import type { UrlSigner } from './signed-urls.js';
import type { UploadLookup } from './upload-storage.js';

/** `/files/<expires>/<signature>/<task>/<token>/<name>`: result URLs as task objects carry them. */
const SIGNED_IN_PATH = /^\/files\/([^/]+)\/([^/]+)\/(task_[^/]+)\/([^/]+)\/([^/]+)$/;
/** `/files/<task>/<token>/<name>?expires=&signature=`: the earlier form, still served until it expires. */
const SIGNED_IN_QUERY = /^\/files\/(task_[^/]+)\/([^/]+)\/([^/]+)$/;

/**
 * Recognises this server's own signed result URLs given back as task inputs (a completed task's
 * `last_frame_url` as the next task's first frame, its video as a reference video), so they are
 * read from the result storage instead of fetched: fetching would go to vidgate's own address,
 * which the media address rules refuse on a self-hosted vidgate (localhost, a private network).
 * As for uploads, a valid signature proves the URL is ours whatever host it names; one that does
 * not verify is ours to refuse only when it names a result file we hold (another vidgate's result
 * URL is just a URL, fetched like any other). Presigned S3 URLs (VIDGATE_RESULT_URLS=presigned)
 * are the bucket's own and are fetched like any other URL.
 */
export class ResultLookup {
  constructor(
    private readonly results: ResultStorage,
    private readonly signer: UrlSigner,
    private readonly clock: () => number,
  ) {}

  async lookup(url: string): Promise<UploadLookup> {
    const link = parseResultUrl(url);
    if (!link) return { kind: 'foreign' };
    const fileKey = this.results.fileKey(link.key);
    if (!fileKey) return { kind: 'foreign' };
    const files = this.results.files;
    const verdict = this.signer.verify(link.key, link.expires, link.signature, this.clock());
    if (verdict === 'invalid') {
      return (await files.stat(fileKey))
        ? { kind: 'refused', detail: 'the result URL has an invalid signature (it was changed or not issued by this server)' }
        : { kind: 'foreign' };
    }
    if (verdict === 'expired') {
      const at = new Date(Number(link.expires) * 1000).toISOString();
      return { kind: 'refused', detail: `the result URL expired at ${at} (expired results are deleted); use the URL of a result that has not expired` };
    }
    if (!(await files.stat(fileKey))) {
      return { kind: 'refused', detail: 'the result file of this URL no longer exists (its results were deleted)' };
    }
    const path = files.diskPath(fileKey);
    if (path) return { kind: 'file', path };
    return { kind: 'stored', id: fileKey, download: (target, signal) => files.download(fileKey, target, signal) };
  }
}

/** The result key (`<task>/<token>/<name>`) and the signature parts of a URL of either form, or null. */
function parseResultUrl(url: string): { key: string; expires: string | undefined; signature: string | undefined } | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return null;
  // Decoded as the file routes' parameters are.
  const found = (segments: string[], expires: string | null | undefined, signature: string | null | undefined) => {
    const key = segments.map(safeDecode);
    if (key.some((segment) => segment === null)) return null;
    return { key: key.join('/'), expires: expires ?? undefined, signature: signature ?? undefined };
  };
  const inPath = SIGNED_IN_PATH.exec(parsed.pathname);
  if (inPath) return found(inPath.slice(3), safeDecode(inPath[1]!), safeDecode(inPath[2]!));
  const inQuery = SIGNED_IN_QUERY.exec(parsed.pathname);
  if (inQuery) return found(inQuery.slice(1), parsed.searchParams.get('expires'), parsed.searchParams.get('signature'));
  return null;
}

function safeDecode(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}
