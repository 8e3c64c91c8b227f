import { extname } from 'node:path';
import type { Logger } from 'pino';
import type { MediaInput } from '../contract/submit.js';
import { failureMessage } from '../contract/failures.js';
import { invalidMedia } from '../media/errors.js';
import type { AssetResolver, MediaIntake, MediaSource } from '../media/media-intake.js';
import { TaskFailureError } from '../providers/types.js';
import type { AssetKind, AssetRecord, AssetReview, AssetStore } from '../store/types.js';
import { newUlid } from '../contract/ids.js';
import type { ApprovedAsset, AssetDirectory } from './asset-directory.js';
import type { UrlSigner } from '../storage/signed-urls.js';
import { type FileStore, isSafeKey } from '../storage/file-store.js';
import { UPLOAD_TTL_MS } from '../storage/upload-storage.js';

/** Reviewed copies are the `assets/` folder of the file store, named `<asset id>.<ext>`. */
const FOLDER = 'assets/';
const HOUR_MS = 3_600_000;

export interface ReviewRequest {
  accountId: string;
  group: { id: string } | { name: string; description: string };
  projectName: string;
  kind: AssetKind;
  assets: Array<{ url: string; name: string }>;
}

/**
 * Assets (README: Assets): a review fetches each submitted file through the safe media intake, checks it
 * against the media rules of its kind and keeps a copy; approved assets are then usable as
 * asset://<id> by their own account, in every mode, whatever later happens to the original URL.
 */
export class AssetLibrary implements AssetDirectory, AssetResolver {
  private intake: MediaIntake | undefined;
  private readonly running = new Set<Promise<void>>();
  private readonly lifetime = new AbortController();

  constructor(
    private readonly store: AssetStore,
    private readonly files: FileStore,
    private readonly clock: () => number,
    private readonly logger: Logger,
    /** Signs `/files/assets/…` URLs, for upstreams that fetch assets themselves. */
    private readonly links: { signer: UrlSigner; publicUrl: string | undefined; ttlMs: number },
  ) {}

  /** The intake also resolves asset:// through this library, so the two are wired after both exist. */
  useIntake(intake: MediaIntake): void {
    this.intake = intake;
  }

  /** Wires the intake and resumes the reviews a stopped instance left unfinished. */
  async start(intake: MediaIntake): Promise<void> {
    this.useIntake(intake);
    for (const review of await this.store.listUnfinishedReviews()) this.launch(review.id);
  }

  /** Interrupts running reviews; what they had not finished stays pending and resumes at the next start. */
  async stop(): Promise<void> {
    this.lifetime.abort();
    await Promise.allSettled([...this.running]);
  }

  async submitReview(request: ReviewRequest): Promise<AssetReview> {
    const now = this.clock();
    const groupId = 'id' in request.group ? request.group.id : `group_${newUlid()}`;
    if (!('id' in request.group)) {
      await this.store.createAssetGroup({
        id: groupId,
        accountId: request.accountId,
        ...request.group,
        projectName: request.projectName || null,
        createdAt: now,
      });
    }
    const reviewId = `task_${newUlid()}`;
    const assets: AssetRecord[] = request.assets.map((a) => ({
      id: `asset_${newUlid().toLowerCase()}`,
      accountId: request.accountId,
      groupId,
      reviewId,
      projectName: request.projectName,
      kind: request.kind,
      name: a.name,
      sourceUrl: a.url,
      status: 'pending',
      reason: null,
      fileKey: null,
      bytes: null,
      contentType: null,
      createdAt: now,
      deletedAt: null,
    }));
    await this.store.createAssetReview({ id: reviewId, accountId: request.accountId, groupId, createdAt: now }, assets);
    this.launch(reviewId);
    return (await this.store.getAssetReview(reviewId))!;
  }

  /** Resolves when the review has ended; for tests and shutdown, not for clients (they poll). */
  whenIdle(): Promise<void> {
    return Promise.allSettled([...this.running]).then(() => undefined);
  }

  private launch(reviewId: string): void {
    const run = this.review(reviewId)
      .catch((err) => this.logger.error({ err, review: reviewId }, 'asset review failed'))
      .finally(() => this.running.delete(run));
    this.running.add(run);
  }

  private async review(reviewId: string): Promise<void> {
    await this.store.updateAssetReview(reviewId, { status: 'processing', progress: 10 });
    const assets = await this.store.listReviewAssets(reviewId);
    let done = 0;
    for (const asset of assets) {
      if (this.lifetime.signal.aborted) return;
      if (asset.status === 'pending') await this.check(asset);
      done++;
      await this.store.updateAssetReview(reviewId, { progress: 10 + Math.floor((85 * done) / assets.length) });
    }
    const failed = (await this.store.listReviewAssets(reviewId)).some((a) => a.status === 'failed');
    await this.store.updateAssetReview(reviewId, { status: failed ? 'failed' : 'completed', progress: 100, finishedAt: this.clock() });
  }

  private async check(asset: AssetRecord): Promise<void> {
    const input: MediaInput = { kind: asset.kind, role: roleOf(asset.kind), url: asset.sourceUrl, field: asset.name, assetId: null };
    try {
      const signal = AbortSignal.any([this.lifetime.signal, AbortSignal.timeout(5 * 60_000)]);
      const [prepared] = await this.intake!.prepare([input], { signal, accountId: asset.accountId });
      const fileKey = `${asset.id}${extname(prepared!.path)}`;
      await this.files.put(FOLDER + fileKey, prepared!.path, { contentType: prepared!.probe.mime, mode: 'copy' });
      await this.store.settleAsset(asset.id, { status: 'approved', fileKey, bytes: prepared!.probe.bytes, contentType: prepared!.probe.mime });
    } catch (err) {
      if (this.lifetime.signal.aborted) return;
      const reason = err instanceof TaskFailureError ? failureMessage(err.failure) : `could not be reviewed: ${(err as Error).message}`;
      await this.store.settleAsset(asset.id, { status: 'failed', reason });
    }
  }

  async findApproved(accountId: string, assetId: string): Promise<ApprovedAsset | null> {
    const asset = await this.store.getAsset(assetId);
    if (!asset || asset.accountId !== accountId || asset.status !== 'approved' || asset.deletedAt !== null) return null;
    return { id: asset.id, kind: asset.kind };
  }

  /** For the media intake: the reviewed copy, checked again, since an asset may be deleted after submit. */
  async resolve(input: MediaInput & { assetId: string }, opts: { accountId?: string }): Promise<MediaSource> {
    const asset = await this.store.getAsset(input.assetId);
    const usable = asset && asset.accountId === opts.accountId && asset.status === 'approved' && asset.fileKey;
    if (!usable) throw invalidMedia(`asset ${input.assetId} is not an approved asset of this account`);
    if (asset.deletedAt !== null) throw invalidMedia(`asset ${input.assetId} was deleted after the task was submitted`);
    const key = FOLDER + asset.fileKey!;
    const path = this.files.diskPath(key);
    return path ? { path } : { stored: { id: key, download: (target, signal) => this.files.download(key, target, signal) } };
  }

  /** The file store's key of a reviewed copy, or null when the name tries to leave the asset folder. */
  fileKey(name: string): string | null {
    return !name.includes('/') && isSafeKey(name) ? FOLDER + name : null;
  }

  /**
   * An upstream cannot read vidgate's disk: it gets a signed, expiring vidgate URL of the asset's
   * reviewed copy, on the public address it can reach.
   */
  async publicUrl(input: MediaInput & { assetId: string }, accountId: string): Promise<string> {
    const asset = await this.store.getAsset(input.assetId);
    if (!asset || asset.accountId !== accountId || asset.status !== 'approved' || !asset.fileKey || asset.deletedAt !== null) {
      throw new TaskFailureError({
        code: 'invalid_media',
        params: { field: input.field, detail: `asset ${input.assetId} is not an approved asset of this account` },
      });
    }
    if (!this.links.publicUrl) {
      throw new TaskFailureError({
        code: 'provider_error',
        params: { detail: 'asset references reach an upstream only through VIDGATE_PUBLIC_URL, which is not set' },
      });
    }
    return this.links.publicUrl + this.links.signer.signedPath(`assets/${asset.fileKey}`, this.clock() + this.links.ttlMs);
  }

  /**
   * GET /v1/assets' `preview_url`: the signed path (`/files/assets/<name>?expires=&signature=`) of an
   * approved asset's reviewed copy, valid at least as long as an upload URL (72 h) and the same for
   * an hour, so that a console polling the list keeps one URL and the browser's cached image; null
   * when there is no copy (not approved, deleted, or gone from the file store).
   */
  async previewPath(asset: AssetRecord): Promise<string | null> {
    if (asset.status !== 'approved' || !asset.fileKey || asset.deletedAt !== null) return null;
    const key = FOLDER + asset.fileKey;
    try {
      if (!(await this.files.stat(key))) return null;
    } catch (err) {
      // The store could not say (a bucket unreachable for a moment): the link still names the copy,
      // and the download route answers for it once it is asked.
      this.logger.warn({ err, asset: asset.id }, 'could not check the reviewed copy of an asset');
    }
    return this.links.signer.signedPath(key, Math.ceil((this.clock() + UPLOAD_TTL_MS) / HOUR_MS) * HOUR_MS);
  }

  async remove(accountId: string, assetId: string): Promise<boolean> {
    const asset = await this.store.getAsset(assetId);
    if (!asset || !(await this.store.deleteAsset(assetId, accountId, this.clock()))) return false;
    if (asset.fileKey) await this.files.delete(FOLDER + asset.fileKey);
    return true;
  }
}

const roleOf = (kind: AssetKind): MediaInput['role'] => (kind === 'image' ? 'reference_image' : kind === 'video' ? 'reference_video' : 'reference_audio');
