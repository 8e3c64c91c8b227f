import { z } from 'zod';
import type { AssetRecord, AssetReview } from '../store/types.js';

/** SPEC §7: the asset-review task as GET /v1/tasks/{id} shows it. */
export const AssetTaskObject = z
  .object({
    id: z.string(),
    object: z.literal('seedance.avatar.asset.task'),
    model: z.literal('doubao-seedance-2.0'),
    status: z.enum(['pending', 'processing', 'completed', 'failed']),
    progress: z.number().int(),
    created: z.number().int(),
    completed: z.number().int().optional(),
    group_id: z.string(),
    result: z
      .object({
        usable_assets: z.array(z.object({ asset_id: z.string(), asset_url: z.string(), name: z.string(), status: z.string() })),
        failed_assets: z.array(z.object({ asset_id: z.string(), asset_url: z.string(), name: z.string(), status: z.string(), reason: z.string() })),
      })
      .optional(),
    error: z.object({ code: z.string(), message: z.string(), type: z.string() }).optional(),
  })
  .meta({ id: 'AssetTask' });
export type AssetTaskObject = z.infer<typeof AssetTaskObject>;

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
