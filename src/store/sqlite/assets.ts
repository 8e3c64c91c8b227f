import type { AssetGroup, AssetGroupSummary, AssetRecord, AssetReview, AssetStore, ReviewStatus } from '../asset-store.js';
import { type AssetRow, type GroupSummaryRow, groupSummarySql, type ReviewRow, toAsset, toGroupSummary, toReview } from '../sql/asset-rows.js';
import type { SqliteConnection } from './connection.js';

/** Asset groups, reviews and the assets they approve. */
export class SqliteAssets implements AssetStore {
  private readonly s;

  constructor(private readonly connection: SqliteConnection) {
    const db = connection.db;
    this.s = {
      insertGroup: db.prepare(
        `INSERT INTO asset_groups (id, account_id, name, description, project_name, created_at)
         VALUES (@id, @accountId, @name, @description, @projectName, @createdAt)`,
      ),
      group: db.prepare('SELECT id, account_id AS accountId, name, description, created_at AS createdAt FROM asset_groups WHERE id = ?'),
      insertReview: db.prepare(
        `INSERT INTO asset_reviews (id, account_id, group_id, status, created_at) VALUES (@id, @accountId, @groupId, 'pending', @createdAt)`,
      ),
      insertAsset: db.prepare(`
        INSERT INTO assets (id, account_id, group_id, review_id, project_name, kind, name, source_url, status, created_at)
        VALUES (@id, @accountId, @groupId, @reviewId, @projectName, @kind, @name, @sourceUrl, 'pending', @createdAt)`),
      review: db.prepare('SELECT * FROM asset_reviews WHERE id = ?'),
      unfinished: db.prepare(`SELECT * FROM asset_reviews WHERE status IN ('pending', 'processing') ORDER BY id`),
      updateReview: db.prepare(`
        UPDATE asset_reviews SET status = COALESCE(@status, status), progress = MAX(progress, COALESCE(@progress, progress)),
          finished_at = COALESCE(@finishedAt, finished_at)
        WHERE id = @id`),
      reviewAssets: db.prepare('SELECT * FROM assets WHERE review_id = ? ORDER BY rowid'),
      approve: db.prepare(`UPDATE assets SET status = 'approved', file_key = @fileKey, bytes = @bytes, content_type = @contentType WHERE id = @id`),
      reject: db.prepare(`UPDATE assets SET status = 'failed', reason = @reason WHERE id = @id`),
      asset: db.prepare('SELECT * FROM assets WHERE id = ?'),
      list: db.prepare('SELECT * FROM assets WHERE account_id = @accountId AND deleted_at IS NULL AND id > @after ORDER BY id LIMIT @limit'),
      reviews: db.prepare('SELECT * FROM asset_reviews WHERE account_id = ? ORDER BY id DESC LIMIT ?'),
      reviewsBefore: db.prepare('SELECT * FROM asset_reviews WHERE account_id = ? AND id < ? ORDER BY id DESC LIMIT ?'),
      // One statement whatever the number of reviews: their ids arrive as one JSON array.
      assetsOfReviews: db.prepare('SELECT * FROM assets WHERE review_id IN (SELECT value FROM json_each(?)) ORDER BY review_id, rowid'),
      groups: db.prepare(groupSummarySql(() => '?', false)),
      groupsBefore: db.prepare(groupSummarySql(() => '?', true)),
      remove: db.prepare('UPDATE assets SET deleted_at = @now WHERE id = @id AND account_id = @accountId AND deleted_at IS NULL'),
    };
  }

  async createAssetGroup(group: AssetGroup): Promise<void> {
    this.s.insertGroup.run({ ...group, projectName: group.projectName ?? null });
  }

  async getAssetGroup(id: string): Promise<AssetGroup | null> {
    return (this.s.group.get(id) as AssetGroup | undefined) ?? null;
  }

  async createAssetReview(review: Omit<AssetReview, 'status' | 'progress' | 'finishedAt'>, assets: AssetRecord[]): Promise<void> {
    this.connection.writeTransaction(() => {
      this.s.insertReview.run(review);
      for (const asset of assets) this.s.insertAsset.run(asset);
    });
  }

  async getAssetReview(id: string): Promise<AssetReview | null> {
    const row = this.s.review.get(id) as ReviewRow | undefined;
    return row ? toReview(row) : null;
  }

  async listUnfinishedReviews(): Promise<AssetReview[]> {
    return (this.s.unfinished.all() as ReviewRow[]).map(toReview);
  }

  async updateAssetReview(id: string, change: { status?: ReviewStatus; progress?: number; finishedAt?: number }): Promise<void> {
    this.s.updateReview.run({ id, status: change.status ?? null, progress: change.progress ?? null, finishedAt: change.finishedAt ?? null });
  }

  async listReviewAssets(reviewId: string): Promise<AssetRecord[]> {
    return (this.s.reviewAssets.all(reviewId) as AssetRow[]).map(toAsset);
  }

  async settleAsset(
    id: string,
    outcome: { status: 'approved'; fileKey: string; bytes: number; contentType: string } | { status: 'failed'; reason: string },
  ): Promise<void> {
    if (outcome.status === 'approved') this.s.approve.run({ id, fileKey: outcome.fileKey, bytes: outcome.bytes, contentType: outcome.contentType });
    else this.s.reject.run({ id, reason: outcome.reason });
  }

  async getAsset(id: string): Promise<AssetRecord | null> {
    const row = this.s.asset.get(id) as AssetRow | undefined;
    return row ? toAsset(row) : null;
  }

  async listAssets(accountId: string, limit: number, after = ''): Promise<AssetRecord[]> {
    return (this.s.list.all({ accountId, limit, after }) as AssetRow[]).map(toAsset);
  }

  async listAssetReviews(accountId: string, limit: number, before?: string): Promise<AssetReview[]> {
    const rows = (before === undefined ? this.s.reviews.all(accountId, limit) : this.s.reviewsBefore.all(accountId, before, limit)) as ReviewRow[];
    return rows.map(toReview);
  }

  async listAssetsOfReviews(reviewIds: readonly string[]): Promise<AssetRecord[]> {
    if (reviewIds.length === 0) return [];
    return (this.s.assetsOfReviews.all(JSON.stringify(reviewIds)) as AssetRow[]).map(toAsset);
  }

  async listAssetGroups(accountId: string, limit: number, before?: string): Promise<AssetGroupSummary[]> {
    const rows = (before === undefined ? this.s.groups.all(accountId, limit) : this.s.groupsBefore.all(accountId, before, limit)) as GroupSummaryRow[];
    return rows.map(toGroupSummary);
  }

  async deleteAsset(id: string, accountId: string, now: number): Promise<boolean> {
    return this.s.remove.run({ id, accountId, now }).changes === 1;
  }
}
