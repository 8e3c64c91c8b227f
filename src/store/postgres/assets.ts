import type { AssetGroup, AssetGroupSummary, AssetRecord, AssetReview, AssetStore, ReviewStatus } from '../asset-store.js';
import { type AssetRow, type GroupSummaryRow, groupSummarySql, type ReviewRow, toAsset, toGroupSummary, toReview } from '../sql/asset-rows.js';
import type { PgConnection } from './connection.js';

// PostgreSQL folds unquoted aliases to lower case: camelCase aliases are quoted.
const GROUP_COLUMNS = 'id, account_id AS "accountId", name, description, created_at AS "createdAt"';
const INSERT_ASSET = `
  INSERT INTO assets (id, account_id, group_id, review_id, project_name, kind, name, source_url, status, created_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9)`;

/** Asset groups, reviews and the assets they approve. */
export class PgAssets implements AssetStore {
  constructor(private readonly connection: PgConnection) {}

  async createAssetGroup(group: AssetGroup): Promise<void> {
    await this.connection.run('INSERT INTO asset_groups (id, account_id, name, description, project_name, created_at) VALUES ($1, $2, $3, $4, $5, $6)', [
      group.id,
      group.accountId,
      group.name,
      group.description,
      group.projectName ?? null,
      group.createdAt,
    ]);
  }

  async getAssetGroup(id: string): Promise<AssetGroup | null> {
    return (await this.connection.row<AssetGroup>(`SELECT ${GROUP_COLUMNS} FROM asset_groups WHERE id = $1`, [id])) ?? null;
  }

  async createAssetReview(review: Omit<AssetReview, 'status' | 'progress' | 'finishedAt'>, assets: AssetRecord[]): Promise<void> {
    await this.connection.transaction(async (tx) => {
      await tx.run(`INSERT INTO asset_reviews (id, account_id, group_id, status, created_at) VALUES ($1, $2, $3, 'pending', $4)`, [
        review.id,
        review.accountId,
        review.groupId,
        review.createdAt,
      ]);
      // One after the other, so that `seq` follows the order the assets were sent in.
      for (const a of assets) {
        await tx.run(INSERT_ASSET, [a.id, a.accountId, a.groupId, a.reviewId, a.projectName, a.kind, a.name, a.sourceUrl, a.createdAt]);
      }
    });
  }

  async getAssetReview(id: string): Promise<AssetReview | null> {
    const row = await this.connection.row<ReviewRow>('SELECT * FROM asset_reviews WHERE id = $1', [id]);
    return row ? toReview(row) : null;
  }

  async listUnfinishedReviews(): Promise<AssetReview[]> {
    return (await this.connection.rows<ReviewRow>(`SELECT * FROM asset_reviews WHERE status IN ('pending', 'processing') ORDER BY id`)).map(toReview);
  }

  async updateAssetReview(id: string, change: { status?: ReviewStatus; progress?: number; finishedAt?: number }): Promise<void> {
    await this.connection.run(
      `UPDATE asset_reviews SET status = COALESCE($2, status), progress = GREATEST(progress, COALESCE($3, progress)),
         finished_at = COALESCE($4, finished_at)
       WHERE id = $1`,
      [id, change.status ?? null, change.progress ?? null, change.finishedAt ?? null],
    );
  }

  async listReviewAssets(reviewId: string): Promise<AssetRecord[]> {
    return (await this.connection.rows<AssetRow>('SELECT * FROM assets WHERE review_id = $1 ORDER BY seq', [reviewId])).map(toAsset);
  }

  async settleAsset(
    id: string,
    outcome: { status: 'approved'; fileKey: string; bytes: number; contentType: string } | { status: 'failed'; reason: string },
  ): Promise<void> {
    if (outcome.status === 'approved') {
      await this.connection.run(`UPDATE assets SET status = 'approved', file_key = $2, bytes = $3, content_type = $4 WHERE id = $1`, [
        id,
        outcome.fileKey,
        outcome.bytes,
        outcome.contentType,
      ]);
    } else {
      await this.connection.run(`UPDATE assets SET status = 'failed', reason = $2 WHERE id = $1`, [id, outcome.reason]);
    }
  }

  async getAsset(id: string): Promise<AssetRecord | null> {
    const row = await this.connection.row<AssetRow>('SELECT * FROM assets WHERE id = $1', [id]);
    return row ? toAsset(row) : null;
  }

  async listAssets(accountId: string, limit: number, after = ''): Promise<AssetRecord[]> {
    const rows = await this.connection.rows<AssetRow>('SELECT * FROM assets WHERE account_id = $1 AND deleted_at IS NULL AND id > $2 ORDER BY id LIMIT $3', [
      accountId,
      after,
      limit,
    ]);
    return rows.map(toAsset);
  }

  async listAssetReviews(accountId: string, limit: number, before?: string): Promise<AssetReview[]> {
    const rows =
      before === undefined
        ? await this.connection.rows<ReviewRow>('SELECT * FROM asset_reviews WHERE account_id = $1 ORDER BY id DESC LIMIT $2', [accountId, limit])
        : await this.connection.rows<ReviewRow>('SELECT * FROM asset_reviews WHERE account_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3', [
            accountId,
            before,
            limit,
          ]);
    return rows.map(toReview);
  }

  async listAssetsOfReviews(reviewIds: readonly string[]): Promise<AssetRecord[]> {
    if (reviewIds.length === 0) return [];
    const rows = await this.connection.rows<AssetRow>('SELECT * FROM assets WHERE review_id = ANY($1::text[]) ORDER BY review_id, seq', [reviewIds]);
    return rows.map(toAsset);
  }

  async listAssetGroups(accountId: string, limit: number, before?: string): Promise<AssetGroupSummary[]> {
    const sql = groupSummarySql((n) => `$${n}`, before !== undefined);
    const rows = await this.connection.rows<GroupSummaryRow>(sql, before === undefined ? [accountId, limit] : [accountId, before, limit]);
    return rows.map(toGroupSummary);
  }

  async deleteAsset(id: string, accountId: string, now: number): Promise<boolean> {
    return (
      (await this.connection.run('UPDATE assets SET deleted_at = $3 WHERE id = $1 AND account_id = $2 AND deleted_at IS NULL', [id, accountId, now])) === 1
    );
  }
}
