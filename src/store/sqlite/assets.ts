import type { AssetGroup, AssetRecord, AssetReview, AssetStore, ReviewStatus } from '../asset-store.js';
import { type AssetRow, type ReviewRow, toAsset, toReview } from '../sql/asset-rows.js';
import type { SqliteConnection } from './connection.js';

/** Asset groups, reviews and the assets they approve. */
export class SqliteAssets implements AssetStore {
  private readonly s;

  constructor(private readonly connection: SqliteConnection) {
    const db = connection.db;
    this.s = {
      insertGroup: db.prepare(
        'INSERT INTO asset_groups (id, account_id, name, description, created_at) VALUES (@id, @accountId, @name, @description, @createdAt)',
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
      remove: db.prepare('UPDATE assets SET deleted_at = @now WHERE id = @id AND account_id = @accountId AND deleted_at IS NULL'),
    };
  }

  async createAssetGroup(group: AssetGroup): Promise<void> {
    this.s.insertGroup.run(group);
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

  async deleteAsset(id: string, accountId: string, now: number): Promise<boolean> {
    return this.s.remove.run({ id, accountId, now }).changes === 1;
  }
}
