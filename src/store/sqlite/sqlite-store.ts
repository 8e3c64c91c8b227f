import type { Store } from '../types.js';
import { SqliteAccounts } from './accounts.js';
import { SqliteAssets } from './assets.js';
import { SqliteConnection } from './connection.js';
import { LedgerWriter } from './ledger-writer.js';
import { SqliteSettings } from './settings.js';
import { SqliteTaskEvents } from './task-events.js';
import { SqliteTaskQueue } from './task-queue.js';
import { SqliteWebhooks } from './webhooks.js';

/**
 * The whole store on one SQLite file: one part per aggregate, all on one connection, so a transaction
 * of one part (a task and its ledger rows) is a transaction of the file. The methods below only pass
 * each call to its part; consumers that need one part take its interface.
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite';
  private readonly connection: SqliteConnection;
  private readonly settings: SqliteSettings;
  private readonly accounts: SqliteAccounts;
  private readonly tasks: SqliteTaskQueue;
  private readonly taskEvents: SqliteTaskEvents;
  private readonly assets: SqliteAssets;
  private readonly webhooks: SqliteWebhooks;

  constructor(readonly file: string) {
    this.connection = new SqliteConnection(file);
    // One writer for every balance change, whichever part's transaction it belongs to.
    const money = new LedgerWriter(this.connection.db);
    this.settings = new SqliteSettings(this.connection);
    this.accounts = new SqliteAccounts(this.connection, money);
    this.tasks = new SqliteTaskQueue(this.connection, money);
    this.taskEvents = new SqliteTaskEvents(this.connection);
    this.assets = new SqliteAssets(this.connection);
    this.webhooks = new SqliteWebhooks(this.connection);
  }

  readonly ping: Store['ping'] = () => this.connection.ping();
  readonly close: Store['close'] = () => this.connection.close();

  readonly getSetting: Store['getSetting'] = (name) => this.settings.getSetting(name);
  readonly initSetting: Store['initSetting'] = (name, value) => this.settings.initSetting(name, value);

  readonly createAccount: Store['createAccount'] = (account) => this.accounts.createAccount(account);
  readonly getAccount: Store['getAccount'] = (id) => this.accounts.getAccount(id);
  readonly listAccounts: Store['listAccounts'] = (limit, after) => this.accounts.listAccounts(limit, after);
  readonly topUp: Store['topUp'] = (accountId, amountMicros, note, now) => this.accounts.topUp(accountId, amountMicros, note, now);
  readonly listLedger: Store['listLedger'] = (accountId, limit, afterId) => this.accounts.listLedger(accountId, limit, afterId);
  readonly createApiKey: Store['createApiKey'] = (key) => this.accounts.createApiKey(key);
  readonly getApiKey: Store['getApiKey'] = (id) => this.accounts.getApiKey(id);
  readonly listApiKeys: Store['listApiKeys'] = (accountId) => this.accounts.listApiKeys(accountId);
  readonly updateApiKeyLimits: Store['updateApiKeyLimits'] = (id, limits) => this.accounts.updateApiKeyLimits(id, limits);
  readonly findApiKeyByHash: Store['findApiKeyByHash'] = (hash) => this.accounts.findApiKeyByHash(hash);
  readonly keysVersion: Store['keysVersion'] = () => this.accounts.keysVersion();
  readonly hasApiKeys: Store['hasApiKeys'] = () => this.accounts.hasApiKeys();
  readonly setApiKeyDisabled: Store['setApiKeyDisabled'] = (id, disabled) => this.accounts.setApiKeyDisabled(id, disabled);
  readonly updateApiKey: Store['updateApiKey'] = (id, change) => this.accounts.updateApiKey(id, change);

  readonly submitTask: Store['submitTask'] = (task, options) => this.tasks.submitTask(task, options);
  readonly getTask: Store['getTask'] = (id) => this.tasks.getTask(id);
  readonly listTasks: Store['listTasks'] = (query) => this.tasks.listTasks(query);
  readonly claimTasks: Store['claimTasks'] = (options) => this.tasks.claimTasks(options);
  readonly hasInterruptedTask: Store['hasInterruptedTask'] = (providers, now) => this.tasks.hasInterruptedTask(providers, now);
  readonly setRunOpen: Store['setRunOpen'] = (guard, open) => this.tasks.setRunOpen(guard, open);
  readonly renewLease: Store['renewLease'] = (guard, expiresAt) => this.tasks.renewLease(guard, expiresAt);
  readonly renewLeases: Store['renewLeases'] = (owner, expiresAt) => this.tasks.renewLeases(owner, expiresAt);
  readonly reportProgress: Store['reportProgress'] = (guard, progress) => this.tasks.reportProgress(guard, progress);
  readonly reportProgressMany: Store['reportProgressMany'] = (updates) => this.tasks.reportProgressMany(updates);
  readonly markProcessing: Store['markProcessing'] = (guard, now) => this.tasks.markProcessing(guard, now);
  readonly completeTask: Store['completeTask'] = (guard, result, finishedAt, finalCostMicros) =>
    this.tasks.completeTask(guard, result, finishedAt, finalCostMicros);
  readonly failTask: Store['failTask'] = (guard, failure, finishedAt) => this.tasks.failTask(guard, failure, finishedAt);
  readonly cancelHeldTask: Store['cancelHeldTask'] = (guard, reason, finishedAt) => this.tasks.cancelHeldTask(guard, reason, finishedAt);
  readonly cancelTask: Store['cancelTask'] = (id, accountId, now) => this.tasks.cancelTask(id, accountId, now);
  readonly refundTask: Store['refundTask'] = (id, now, note) => this.tasks.refundTask(id, now, note);
  readonly releaseTask: Store['releaseTask'] = (guard, options) => this.tasks.releaseTask(guard, options);
  readonly saveProviderState: Store['saveProviderState'] = (guard, state) => this.tasks.saveProviderState(guard, state);
  readonly moveTask: Store['moveTask'] = (guard, provider, state, notBefore) => this.tasks.moveTask(guard, provider, state, notBefore);
  readonly listLeasedBy: Store['listLeasedBy'] = (ownerPrefix) => this.tasks.listLeasedBy(ownerPrefix);
  readonly expireLease: Store['expireLease'] = (guard) => this.tasks.expireLease(guard);
  readonly nextLeaseExpiry: Store['nextLeaseExpiry'] = (providers) => this.tasks.nextLeaseExpiry(providers);
  readonly countUnfinishedTasks: Store['countUnfinishedTasks'] = () => this.tasks.countUnfinishedTasks();
  readonly listExpiredResults: Store['listExpiredResults'] = (now, limit) => this.tasks.listExpiredResults(now, limit);
  readonly markResultsCollected: Store['markResultsCollected'] = (id) => this.tasks.markResultsCollected(id);

  readonly getTaskStates: Store['getTaskStates'] = (ids) => this.taskEvents.getTaskStates(ids);
  readonly recentRunTimes: Store['recentRunTimes'] = (query) => this.taskEvents.recentRunTimes(query);

  readonly createAssetGroup: Store['createAssetGroup'] = (group) => this.assets.createAssetGroup(group);
  readonly getAssetGroup: Store['getAssetGroup'] = (id) => this.assets.getAssetGroup(id);
  readonly createAssetReview: Store['createAssetReview'] = (review, assets) => this.assets.createAssetReview(review, assets);
  readonly getAssetReview: Store['getAssetReview'] = (id) => this.assets.getAssetReview(id);
  readonly listUnfinishedReviews: Store['listUnfinishedReviews'] = () => this.assets.listUnfinishedReviews();
  readonly updateAssetReview: Store['updateAssetReview'] = (id, change) => this.assets.updateAssetReview(id, change);
  readonly listReviewAssets: Store['listReviewAssets'] = (reviewId) => this.assets.listReviewAssets(reviewId);
  readonly settleAsset: Store['settleAsset'] = (id, outcome) => this.assets.settleAsset(id, outcome);
  readonly getAsset: Store['getAsset'] = (id) => this.assets.getAsset(id);
  readonly listAssets: Store['listAssets'] = (accountId, limit, after) => this.assets.listAssets(accountId, limit, after);
  readonly deleteAsset: Store['deleteAsset'] = (id, accountId, now) => this.assets.deleteAsset(id, accountId, now);

  readonly setApiKeyCallbackUrl: Store['setApiKeyCallbackUrl'] = (keyId, url) => this.webhooks.setApiKeyCallbackUrl(keyId, url);
  readonly getWebhookSecret: Store['getWebhookSecret'] = (accountId) => this.webhooks.getWebhookSecret(accountId);
  readonly ensureWebhookSecret: Store['ensureWebhookSecret'] = (accountId, secret, now) => this.webhooks.ensureWebhookSecret(accountId, secret, now);
  readonly rotateWebhookSecret: Store['rotateWebhookSecret'] = (accountId, secret, now, previousUntil) =>
    this.webhooks.rotateWebhookSecret(accountId, secret, now, previousUntil);
  readonly claimWebhookDeliveries: Store['claimWebhookDeliveries'] = (options) => this.webhooks.claimWebhookDeliveries(options);
  readonly saveWebhookBody: Store['saveWebhookBody'] = (guard, body) => this.webhooks.saveWebhookBody(guard, body);
  readonly recordWebhookAttempt: Store['recordWebhookAttempt'] = (guard, attempt, outcome) => this.webhooks.recordWebhookAttempt(guard, attempt, outcome);
  readonly releaseWebhookDelivery: Store['releaseWebhookDelivery'] = (guard, dueAt) => this.webhooks.releaseWebhookDelivery(guard, dueAt);
  readonly nextWebhookDue: Store['nextWebhookDue'] = () => this.webhooks.nextWebhookDue();
  readonly listWebhookLeaseOwners: Store['listWebhookLeaseOwners'] = (ownerPrefix) => this.webhooks.listWebhookLeaseOwners(ownerPrefix);
  readonly expireWebhookLeases: Store['expireWebhookLeases'] = (owner) => this.webhooks.expireWebhookLeases(owner);
  readonly listWebhookDeliveries: Store['listWebhookDeliveries'] = (query) => this.webhooks.listWebhookDeliveries(query);
  readonly getWebhookDelivery: Store['getWebhookDelivery'] = (id) => this.webhooks.getWebhookDelivery(id);
  readonly listWebhookAttempts: Store['listWebhookAttempts'] = (deliverySeqs) => this.webhooks.listWebhookAttempts(deliverySeqs);
  readonly retryWebhookDelivery: Store['retryWebhookDelivery'] = (id, now) => this.webhooks.retryWebhookDelivery(id, now);
}
