import { call } from '../../api.js';
import type { AdminAccount, DeliveryPage, DeliveryState } from '../../admin-types.js';
import { Button, Card, Field, LoadMore, Problem } from '../../components/ui.js';
import { useLoad, usePagedList } from '../../hooks.js';
import { defineText, useText } from '../../i18n.js';
import { navigate } from '../../router.js';
import { DeliveryTable } from './parts.js';

const text = defineText({
  en: {
    title: 'Webhooks',
    intro:
      'Every webhook delivery of the service, newest first, with each attempt. Redeliver sends a delivered or given-up one again; a pending delivery is followed until it settles.',
    state: 'State',
    allStates: 'All states',
    pending: 'pending',
    delivered: 'delivered',
    failed: 'given up',
    account: 'Account',
    allAccounts: 'All accounts',
    refresh: 'Refresh',
    more: 'Load more',
  },
  zh: {
    title: 'Webhook',
    intro: '本服务的全部 Webhook 投递，最新的在前，含每次尝试。“重新投递”会再次发送已送达或已放弃的投递；待投递的会一直跟踪到有结果。',
    state: '状态',
    allStates: '全部状态',
    pending: '待投递',
    delivered: '已送达',
    failed: '已放弃',
    account: '账户',
    allAccounts: '全部账户',
    refresh: '刷新',
    more: '加载更多',
  },
});

const PAGE = 50;
const STATES: DeliveryState[] = ['pending', 'delivered', 'failed'];

/** `#/admin/webhooks?state=&account=`: the service-wide delivery log. */
export function AdminWebhooks(props: { query: URLSearchParams }) {
  const t = useText(text);
  const stateParam = props.query.get('state');
  const state = STATES.includes(stateParam as DeliveryState) ? (stateParam as DeliveryState) : '';
  const account = props.query.get('account') ?? '';
  const setFilter = (change: { state?: string; account?: string }) =>
    navigate('/admin/webhooks', { state: change.state ?? state, account: change.account ?? account });

  const accounts = useLoad(
    (signal) => call<{ data: AdminAccount[] }>('/admin/v1/accounts', { as: 'admin', query: { limit: 500 }, signal }).then((r) => r.data),
    [],
  );
  const list = usePagedList(
    (after, signal) =>
      call<DeliveryPage>('/admin/v1/webhook-deliveries', {
        as: 'admin',
        query: { limit: PAGE, after, state: state || undefined, account_id: account || undefined },
        signal,
      }),
    [state, account],
  );

  const accountList = accounts.data ?? [];
  return (
    <div class="admin-page">
      <h1>{t.title}</h1>
      <p class="muted">{t.intro}</p>
      <Card>
        <div class="fields filters" data-testid="webhook-filters">
          <Field label={t.state} name="state">
            <select name="state" value={state} onChange={(e) => setFilter({ state: e.currentTarget.value })}>
              <option value="">{t.allStates}</option>
              {STATES.map((s) => (
                <option key={s} value={s}>
                  {t[s]}
                </option>
              ))}
            </select>
          </Field>
          <Field label={t.account} name="account">
            <select name="account" value={account} onChange={(e) => setFilter({ account: e.currentTarget.value })}>
              <option value="">{t.allAccounts}</option>
              {account && !accountList.some((a) => a.id === account) ? <option value={account}>{account}</option> : null}
              {accountList.map((a) => (
                <option key={a.id} value={a.id}>
                  {a.name} ({a.id})
                </option>
              ))}
            </select>
          </Field>
          <div class="actions form-actions">
            <Button onClick={list.reload} disabled={list.loading}>
              {t.refresh}
            </Button>
          </div>
        </div>
        <Problem error={list.error ?? accounts.error} />
        {!list.loading || list.items.length > 0 ? (
          <DeliveryTable
            deliveries={list.items}
            showAccount
            accountName={(id) => accountList.find((a) => a.id === id)?.name ?? id}
            onChange={(d) => list.update((old) => old.map((o) => (o.id === d.id ? d : o)))}
          />
        ) : null}
        <LoadMore list={list} label={t.more} />
      </Card>
    </div>
  );
}
