import type { AssetRecord, AssetReview } from '../store/types.js';
import type { AssetTaskObject } from '../contract/asset-view.js';

/** An asset review as GET /v1/tasks/{id} shows it. */
const unix = (ms: number) => Math.floor(ms / 1000);
const entry = (a: AssetRecord) => ({ asset_id: a.id, asset_url: `asset://${a.id}`, name: a.name, status: a.status === 'approved' ? 'active' : a.status });

export function toAssetTaskObject(review: AssetReview, assets: AssetRecord[]): AssetTaskObject {
  const finished = review.status === 'completed' || review.status === 'failed';
  const failed = assets.filter((a) => a.status === 'failed');
  return {
    id: review.id,
    object: 'seedance.avatar.asset.task',
    model: 'doubao-seedance-2.0',
    status: review.status,
    progress: review.progress,
    created: unix(review.createdAt),
    group_id: review.groupId,
    ...(finished && review.finishedAt !== null ? { completed: unix(review.finishedAt) } : {}),
    ...(finished
      ? {
          result: {
            usable_assets: assets.filter((a) => a.status === 'approved' && a.deletedAt === null).map(entry),
            failed_assets: failed.map((a) => ({ ...entry(a), reason: a.reason ?? 'failed review' })),
          },
        }
      : {}),
    ...(review.status === 'failed'
      ? { error: { code: 'asset_review_failed', message: `${failed.length} of ${assets.length} assets failed review`, type: 'invalid_request_error' } }
      : {}),
  };
}
