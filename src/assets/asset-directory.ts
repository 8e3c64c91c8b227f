import type { MediaKind } from '../contract/submit.js';

export interface ApprovedAsset {
  id: string;
  kind: MediaKind;
}

/**
 * Where `asset://<id>` references are looked up at submit. Only assets of the asking account that
 * passed review are returned; anything else is indistinguishable from an unknown id.
 */
export interface AssetDirectory {
  findApproved(accountId: string, assetId: string): Promise<ApprovedAsset | null>;
}
