import type { AccountStore } from './account-store.js';
import type { AssetStore } from './asset-store.js';
import type { SettingsStore } from './settings-store.js';
import type { TaskEventStore } from './task-event-store.js';
import type { TaskQueueStore } from './task-queue-store.js';
import type { Store } from './types.js';
import type { UsageStore } from './usage-store.js';
import type { WebhookStore } from './webhook-store.js';

/** One implementation of each aggregate's interface, on one database. */
export interface StoreParts {
  settings: SettingsStore;
  accounts: AccountStore;
  tasks: TaskQueueStore;
  taskEvents: TaskEventStore;
  assets: AssetStore;
  webhooks: WebhookStore;
  usage: UsageStore;
}

/**
 * The whole Store made of its parts: each method only passes the call to its part. Consumers that
 * need one part take its interface; this is for the app, which hands the parts out.
 */
export abstract class ComposedStore implements Store {
  abstract readonly kind: string;
  abstract readonly rateWindows: Store['rateWindows'];
  abstract ping(): Promise<void>;
  abstract close(): Promise<void>;
  abstract onRemoteTaskChanges: Store['onRemoteTaskChanges'];

  constructor(private readonly parts: StoreParts) {}

  readonly getSetting: Store['getSetting'] = (name) => this.parts.settings.getSetting(name);
  readonly initSetting: Store['initSetting'] = (name, value) => this.parts.settings.initSetting(name, value);

  readonly createAccount: Store['createAccount'] = (account) => this.parts.accounts.createAccount(account);
  readonly getAccount: Store['getAccount'] = (id) => this.parts.accounts.getAccount(id);
  readonly listAccounts: Store['listAccounts'] = (limit, after) => this.parts.accounts.listAccounts(limit, after);
  readonly topUp: Store['topUp'] = (accountId, amountMicros, note, now) => this.parts.accounts.topUp(accountId, amountMicros, note, now);
  readonly listLedger: Store['listLedger'] = (accountId, limit, afterId, order) => this.parts.accounts.listLedger(accountId, limit, afterId, order);
  readonly createApiKey: Store['createApiKey'] = (key) => this.parts.accounts.createApiKey(key);
  readonly getApiKey: Store['getApiKey'] = (id) => this.parts.accounts.getApiKey(id);
  readonly listApiKeys: Store['listApiKeys'] = (accountId) => this.parts.accounts.listApiKeys(accountId);
  readonly updateApiKeyLimits: Store['updateApiKeyLimits'] = (id, limits) => this.parts.accounts.updateApiKeyLimits(id, limits);
  readonly findApiKeyByHash: Store['findApiKeyByHash'] = (hash) => this.parts.accounts.findApiKeyByHash(hash);
  readonly keysVersion: Store['keysVersion'] = () => this.parts.accounts.keysVersion();
  readonly hasApiKeys: Store['hasApiKeys'] = () => this.parts.accounts.hasApiKeys();
  readonly setApiKeyDisabled: Store['setApiKeyDisabled'] = (id, disabled) => this.parts.accounts.setApiKeyDisabled(id, disabled);
  readonly updateApiKey: Store['updateApiKey'] = (id, change) => this.parts.accounts.updateApiKey(id, change);

  readonly submitTask: Store['submitTask'] = (task, options) => this.parts.tasks.submitTask(task, options);
  readonly getTask: Store['getTask'] = (id) => this.parts.tasks.getTask(id);
  readonly listTasks: Store['listTasks'] = (query) => this.parts.tasks.listTasks(query);
  readonly claimTasks: Store['claimTasks'] = (options) => this.parts.tasks.claimTasks(options);
  readonly hasInterruptedTask: Store['hasInterruptedTask'] = (providers, now) => this.parts.tasks.hasInterruptedTask(providers, now);
  readonly setRunOpen: Store['setRunOpen'] = (guard, open) => this.parts.tasks.setRunOpen(guard, open);
  readonly renewLease: Store['renewLease'] = (guard, expiresAt) => this.parts.tasks.renewLease(guard, expiresAt);
  readonly renewLeases: Store['renewLeases'] = (owner, expiresAt) => this.parts.tasks.renewLeases(owner, expiresAt);
  readonly reportProgress: Store['reportProgress'] = (guard, progress) => this.parts.tasks.reportProgress(guard, progress);
  readonly reportProgressMany: Store['reportProgressMany'] = (updates) => this.parts.tasks.reportProgressMany(updates);
  readonly markProcessing: Store['markProcessing'] = (guard, now) => this.parts.tasks.markProcessing(guard, now);
  readonly completeTask: Store['completeTask'] = (guard, result, finishedAt, finalCostMicros, upstreamCostMicros) =>
    this.parts.tasks.completeTask(guard, result, finishedAt, finalCostMicros, upstreamCostMicros);
  readonly failTask: Store['failTask'] = (guard, failure, finishedAt) => this.parts.tasks.failTask(guard, failure, finishedAt);
  readonly cancelHeldTask: Store['cancelHeldTask'] = (guard, reason, finishedAt) => this.parts.tasks.cancelHeldTask(guard, reason, finishedAt);
  readonly cancelTask: Store['cancelTask'] = (id, accountId, now) => this.parts.tasks.cancelTask(id, accountId, now);
  readonly refundTask: Store['refundTask'] = (id, now, note) => this.parts.tasks.refundTask(id, now, note);
  readonly releaseTask: Store['releaseTask'] = (guard, options) => this.parts.tasks.releaseTask(guard, options);
  readonly saveProviderState: Store['saveProviderState'] = (guard, state) => this.parts.tasks.saveProviderState(guard, state);
  readonly moveTask: Store['moveTask'] = (guard, provider, state, notBefore, upstreamCostMicros) =>
    this.parts.tasks.moveTask(guard, provider, state, notBefore, upstreamCostMicros);
  readonly listLeasedBy: Store['listLeasedBy'] = (ownerPrefix) => this.parts.tasks.listLeasedBy(ownerPrefix);
  readonly expireLease: Store['expireLease'] = (guard) => this.parts.tasks.expireLease(guard);
  readonly nextLeaseExpiry: Store['nextLeaseExpiry'] = (providers) => this.parts.tasks.nextLeaseExpiry(providers);
  readonly countUnfinishedTasks: Store['countUnfinishedTasks'] = () => this.parts.tasks.countUnfinishedTasks();
  readonly listExpiredResults: Store['listExpiredResults'] = (now, limit) => this.parts.tasks.listExpiredResults(now, limit);
  readonly markResultsCollected: Store['markResultsCollected'] = (id) => this.parts.tasks.markResultsCollected(id);

  readonly getTaskStates: Store['getTaskStates'] = (ids) => this.parts.taskEvents.getTaskStates(ids);
  readonly recentRunTimes: Store['recentRunTimes'] = (query) => this.parts.taskEvents.recentRunTimes(query);

  readonly createAssetGroup: Store['createAssetGroup'] = (group) => this.parts.assets.createAssetGroup(group);
  readonly getAssetGroup: Store['getAssetGroup'] = (id) => this.parts.assets.getAssetGroup(id);
  readonly createAssetReview: Store['createAssetReview'] = (review, assets) => this.parts.assets.createAssetReview(review, assets);
  readonly getAssetReview: Store['getAssetReview'] = (id) => this.parts.assets.getAssetReview(id);
  readonly listUnfinishedReviews: Store['listUnfinishedReviews'] = () => this.parts.assets.listUnfinishedReviews();
  readonly updateAssetReview: Store['updateAssetReview'] = (id, change) => this.parts.assets.updateAssetReview(id, change);
  readonly listReviewAssets: Store['listReviewAssets'] = (reviewId) => this.parts.assets.listReviewAssets(reviewId);
  readonly settleAsset: Store['settleAsset'] = (id, outcome) => this.parts.assets.settleAsset(id, outcome);
  readonly getAsset: Store['getAsset'] = (id) => this.parts.assets.getAsset(id);
  readonly listAssets: Store['listAssets'] = (accountId, limit, after) => this.parts.assets.listAssets(accountId, limit, after);
  readonly listAssetReviews: Store['listAssetReviews'] = (accountId, limit, before) => this.parts.assets.listAssetReviews(accountId, limit, before);
  readonly listAssetsOfReviews: Store['listAssetsOfReviews'] = (reviewIds) => this.parts.assets.listAssetsOfReviews(reviewIds);
  readonly listAssetGroups: Store['listAssetGroups'] = (accountId, limit, before) => this.parts.assets.listAssetGroups(accountId, limit, before);
  readonly deleteAsset: Store['deleteAsset'] = (id, accountId, now) => this.parts.assets.deleteAsset(id, accountId, now);

  readonly setApiKeyCallbackUrl: Store['setApiKeyCallbackUrl'] = (keyId, url) => this.parts.webhooks.setApiKeyCallbackUrl(keyId, url);
  readonly getWebhookSecret: Store['getWebhookSecret'] = (accountId) => this.parts.webhooks.getWebhookSecret(accountId);
  readonly ensureWebhookSecret: Store['ensureWebhookSecret'] = (accountId, secret, now) => this.parts.webhooks.ensureWebhookSecret(accountId, secret, now);
  readonly rotateWebhookSecret: Store['rotateWebhookSecret'] = (accountId, secret, now, previousUntil) =>
    this.parts.webhooks.rotateWebhookSecret(accountId, secret, now, previousUntil);
  readonly claimWebhookDeliveries: Store['claimWebhookDeliveries'] = (options) => this.parts.webhooks.claimWebhookDeliveries(options);
  readonly saveWebhookBody: Store['saveWebhookBody'] = (guard, body) => this.parts.webhooks.saveWebhookBody(guard, body);
  readonly recordWebhookAttempt: Store['recordWebhookAttempt'] = (guard, attempt, outcome) => this.parts.webhooks.recordWebhookAttempt(guard, attempt, outcome);
  readonly releaseWebhookDelivery: Store['releaseWebhookDelivery'] = (guard, dueAt) => this.parts.webhooks.releaseWebhookDelivery(guard, dueAt);
  readonly nextWebhookDue: Store['nextWebhookDue'] = () => this.parts.webhooks.nextWebhookDue();
  readonly listWebhookLeaseOwners: Store['listWebhookLeaseOwners'] = (ownerPrefix) => this.parts.webhooks.listWebhookLeaseOwners(ownerPrefix);
  readonly expireWebhookLeases: Store['expireWebhookLeases'] = (owner) => this.parts.webhooks.expireWebhookLeases(owner);
  readonly listWebhookDeliveries: Store['listWebhookDeliveries'] = (query) => this.parts.webhooks.listWebhookDeliveries(query);
  readonly getWebhookDelivery: Store['getWebhookDelivery'] = (id) => this.parts.webhooks.getWebhookDelivery(id);
  readonly listWebhookAttempts: Store['listWebhookAttempts'] = (deliverySeqs) => this.parts.webhooks.listWebhookAttempts(deliverySeqs);
  readonly retryWebhookDelivery: Store['retryWebhookDelivery'] = (id, now) => this.parts.webhooks.retryWebhookDelivery(id, now);

  readonly usage: Store['usage'] = (query) => this.parts.usage.usage(query);
  readonly limitedBalanceMicros: Store['limitedBalanceMicros'] = () => this.parts.usage.limitedBalanceMicros();
  readonly queueDepth: Store['queueDepth'] = () => this.parts.usage.queueDepth();
  readonly channelActivity: Store['channelActivity'] = (query) => this.parts.usage.channelActivity(query);
  readonly channelSpend: Store['channelSpend'] = (query) => this.parts.usage.channelSpend(query);
}
