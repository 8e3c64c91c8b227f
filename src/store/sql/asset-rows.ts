import type { AssetRecord, AssetReview, ReviewStatus } from '../asset-store.js';

export interface AssetRow {
  id: string;
  account_id: string;
  group_id: string;
  review_id: string;
  project_name: string;
  kind: AssetRecord['kind'];
  name: string;
  source_url: string;
  status: AssetRecord['status'];
  reason: string | null;
  file_key: string | null;
  bytes: number | null;
  content_type: string | null;
  created_at: number;
  deleted_at: number | null;
}

export interface ReviewRow {
  id: string;
  account_id: string;
  group_id: string;
  status: ReviewStatus;
  progress: number;
  created_at: number;
  finished_at: number | null;
}

export const toAsset = (r: AssetRow): AssetRecord => ({
  id: r.id,
  accountId: r.account_id,
  groupId: r.group_id,
  reviewId: r.review_id,
  projectName: r.project_name,
  kind: r.kind,
  name: r.name,
  sourceUrl: r.source_url,
  status: r.status,
  reason: r.reason,
  fileKey: r.file_key,
  bytes: r.bytes,
  contentType: r.content_type,
  createdAt: r.created_at,
  deletedAt: r.deleted_at,
});

export const toReview = (r: ReviewRow): AssetReview => ({
  id: r.id,
  accountId: r.account_id,
  groupId: r.group_id,
  status: r.status,
  progress: r.progress,
  createdAt: r.created_at,
  finishedAt: r.finished_at,
});
