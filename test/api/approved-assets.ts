import { hashApiKey } from '../../src/auth/keys.js';
import type { MediaKind } from '../../src/contract/submit.js';
import type { Store } from '../../src/store/types.js';
import { TEST_KEY } from '../helpers/test-app.js';

/**
 * One approved asset of each kind for the test key's account, written straight to the store: these
 * suites test submits that name assets, not the review that produces them (test/assets does that).
 */
export async function approveTestAssets(store: Store, now = Date.now()): Promise<Record<MediaKind, string>> {
  const accountId = (await store.findApiKeyByHash(hashApiKey(TEST_KEY)))!.accountId;
  const groupId = `group_models_${now}`;
  const reviewId = `review_models_${now}`;
  await store.createAssetGroup({ id: groupId, accountId, name: 'model docs', description: '', createdAt: now });
  const ids = { image: `asset_img_${now}`, video: `asset_vid_${now}`, audio: `asset_aud_${now}` };
  await store.createAssetReview(
    { id: reviewId, accountId, groupId, createdAt: now },
    (Object.entries(ids) as Array<[MediaKind, string]>).map(([kind, id]) => ({
      id,
      accountId,
      groupId,
      reviewId,
      projectName: 'model docs',
      kind,
      name: `${kind} asset`,
      sourceUrl: `https://example.com/${kind}`,
      status: 'pending' as const,
      reason: null,
      fileKey: null,
      bytes: null,
      contentType: null,
      createdAt: now,
      deletedAt: null,
    })),
  );
  for (const [kind, id] of Object.entries(ids)) {
    await store.settleAsset(id, {
      status: 'approved',
      fileKey: `${id}.bin`,
      bytes: 1000,
      contentType: kind === 'image' ? 'image/png' : kind === 'video' ? 'video/mp4' : 'audio/mpeg',
    });
  }
  await store.updateAssetReview(reviewId, { status: 'completed', progress: 100, finishedAt: now });
  return ids;
}
