export type AssetKind = 'image' | 'video' | 'audio';
export type AssetStatus = 'pending' | 'approved' | 'failed';

export interface AssetGroup {
  id: string;
  accountId: string;
  name: string;
  description: string;
  createdAt: number;
  /**
   * The project name the submit that made the group gave (its assets keep their own); null or absent
   * when it gave none. Written by createAssetGroup, read back by listAssetGroups.
   */
  projectName?: string | null;
}

/** A group as GET /v1/asset-groups lists it: its assets that are not deleted, counted by status. */
export interface AssetGroupSummary extends AssetGroup {
  projectName: string | null;
  counts: Record<AssetStatus, number>;
}

export interface AssetRecord {
  id: string;
  accountId: string;
  groupId: string;
  reviewId: string;
  projectName: string;
  kind: AssetKind;
  name: string;
  sourceUrl: string;
  status: AssetStatus;
  /** Why review failed, in English. */
  reason: string | null;
  /** The reviewed file, relative to the asset storage root; null until approved. */
  fileKey: string | null;
  bytes: number | null;
  contentType: string | null;
  createdAt: number;
  deletedAt: number | null;
}

export type ReviewStatus = 'pending' | 'processing' | 'completed' | 'failed';

/** A review of submitted assets: a task of its own kind, polled at GET /v1/tasks/{id}. */
export interface AssetReview {
  id: string;
  accountId: string;
  groupId: string;
  status: ReviewStatus;
  progress: number;
  createdAt: number;
  finishedAt: number | null;
}

/** Assets of README: Assets: reviewed once, then usable as asset://<id> by their own account only. */
export interface AssetStore {
  createAssetGroup(group: AssetGroup): Promise<void>;
  getAssetGroup(id: string): Promise<AssetGroup | null>;
  /** The review and its assets, all pending, in one transaction. */
  createAssetReview(review: Omit<AssetReview, 'status' | 'progress' | 'finishedAt'>, assets: AssetRecord[]): Promise<void>;
  getAssetReview(id: string): Promise<AssetReview | null>;
  listUnfinishedReviews(): Promise<AssetReview[]>;
  /** Moves a review on; progress never goes down. */
  updateAssetReview(id: string, change: { status?: ReviewStatus; progress?: number; finishedAt?: number }): Promise<void>;
  listReviewAssets(reviewId: string): Promise<AssetRecord[]>;
  settleAsset(
    id: string,
    outcome: { status: 'approved'; fileKey: string; bytes: number; contentType: string } | { status: 'failed'; reason: string },
  ): Promise<void>;
  getAsset(id: string): Promise<AssetRecord | null>;
  listAssets(accountId: string, limit: number, after?: string): Promise<AssetRecord[]>;
  /** The account's reviews, newest first (by id); `before` is an exclusive cursor: only reviews older than it. */
  listAssetReviews(accountId: string, limit: number, before?: string): Promise<AssetReview[]>;
  /** The assets of these reviews, deleted ones included, each review's in the order they were sent. */
  listAssetsOfReviews(reviewIds: readonly string[]): Promise<AssetRecord[]>;
  /** The account's groups, newest first (by id), with their assets counted; `before` as for listAssetReviews. */
  listAssetGroups(accountId: string, limit: number, before?: string): Promise<AssetGroupSummary[]>;
  deleteAsset(id: string, accountId: string, now: number): Promise<boolean>;
}
