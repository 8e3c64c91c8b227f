import { useState } from 'preact/hooks';
import type { Asset } from '../admin-types.js';

/**
 * An asset's reviewed copy (GET /v1/assets' `preview_url`, a signed URL the browser loads without a
 * key) as its kind shows best: an image as a thumbnail, a video by its first frame (only its
 * metadata is read until played), audio as a small player. An empty box when there is no copy
 * (not approved, deleted) or it cannot be loaded.
 */
export function AssetPreview(props: { asset: Pick<Asset, 'type' | 'preview_url'>; class?: string }) {
  const [broken, setBroken] = useState(false);
  const url = props.asset.preview_url;
  const cls = `thumb asset-thumb ${props.class ?? ''}`;
  if (!url || broken) return <span class={`${cls} thumb-empty`} />;
  if (props.asset.type === 'Image') return <img class={cls} src={url} alt="" loading="lazy" onError={() => setBroken(true)} data-preview="image" />;
  if (props.asset.type === 'Video')
    return <video class={cls} src={url} preload="metadata" muted playsinline onError={() => setBroken(true)} data-preview="video" />;
  // biome-ignore lint/a11y/useMediaCaption: a submitted asset comes with no captions; the player lets its owner listen to what was approved.
  return <audio class="asset-audio" src={url} preload="metadata" controls onError={() => setBroken(true)} data-preview="audio" />;
}
