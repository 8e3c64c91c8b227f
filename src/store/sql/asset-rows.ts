import type { AssetGroupSummary, AssetRecord, AssetReview, ReviewStatus } from '../asset-store.js';

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

export interface GroupSummaryRow {
  id: string;
  account_id: string;
  name: string;
  description: string;
  project_name: string | null;
  created_at: number;
  approved: number;
  failed: number;
  pending: number;
}

/**
 * A page of an account's groups, newest first, each with its live assets counted by status: three
 * lookups of the index assets (group_id, status, deleted_at) per group, answered from the index.
 * `p(n)` writes the n-th parameter in the store's own syntax (1: account, 2: cursor if any, last: limit).
 */
export function groupSummarySql(p: (n: number) => string, withCursor: boolean): string {
  const count = (status: string) => `(SELECT COUNT(*) FROM assets a WHERE a.group_id = g.id AND a.status = '${status}' AND a.deleted_at IS NULL) AS ${status}`;
  return `
    SELECT g.id, g.account_id, g.name, g.description, g.project_name, g.created_at,
      ${count('approved')}, ${count('failed')}, ${count('pending')}
    FROM asset_groups g
    WHERE g.account_id = ${p(1)}${withCursor ? ` AND g.id < ${p(2)}` : ''}
    ORDER BY g.id DESC LIMIT ${p(withCursor ? 3 : 2)}`;
}

export const toGroupSummary = (r: GroupSummaryRow): AssetGroupSummary => ({
  id: r.id,
  accountId: r.account_id,
  name: r.name,
  description: r.description,
  projectName: r.project_name,
  createdAt: r.created_at,
  counts: { approved: r.approved, failed: r.failed, pending: r.pending },
});
