import type { WebhookSecret, WebhookStore } from '../store/types.js';
import { newWebhookSecret } from './signature.js';

/** How long the secret before a rotation still signs, so receivers can switch without missing an event. */
export const ROTATION_OVERLAP_MS = 24 * 3600 * 1000;

/**
 * One signing secret per account. It is created the first time the operator asks for it or, if an
 * event comes first, when it is needed (the operator then rotates to learn one: the lazily made
 * secret was never shown to anyone). It is only ever shown in the answer that creates it.
 */
export class WebhookSecrets {
  constructor(
    private readonly store: WebhookStore,
    private readonly clock: () => number,
  ) {}

  /** The secrets to sign with now, newest first. */
  async signingSecrets(accountId: string): Promise<string[]> {
    const now = this.clock();
    const held = (await this.store.getWebhookSecret(accountId)) ?? (await this.store.ensureWebhookSecret(accountId, newWebhookSecret(), now));
    return held.previous && held.previousUntil !== null && held.previousUntil > now ? [held.secret, held.previous] : [held.secret];
  }

  /** A new secret; the old one keeps signing for 24 h unless `expirePrevious` (e.g. it leaked). */
  async rotate(accountId: string, opts: { expirePrevious?: boolean } = {}): Promise<WebhookSecret> {
    const now = this.clock();
    return this.store.rotateWebhookSecret(accountId, newWebhookSecret(), now, opts.expirePrevious ? null : now + ROTATION_OVERLAP_MS);
  }

  /** Whether the account has a secret, and whether a rotation still overlaps; never the secret itself. */
  async describe(accountId: string): Promise<{ exists: boolean; createdAt: number | null; previousUntil: number | null }> {
    const held = await this.store.getWebhookSecret(accountId);
    const now = this.clock();
    return {
      exists: held !== null,
      createdAt: held?.createdAt ?? null,
      previousUntil: held?.previous && held.previousUntil !== null && held.previousUntil > now ? held.previousUntil : null,
    };
  }
}
