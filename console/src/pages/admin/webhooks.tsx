import { useEffect, useState } from 'preact/hooks';
import { call } from '../../api.js';
import type { AdminAccount, DeliveryPage, DeliveryState, WebhookDelivery } from '../../admin-types.js';
import { Button, Card, Field, Problem } from '../../components/ui.js';
import { useLoad } from '../../hooks.js';
import { defineText, useText } from '../../i18n.js';
import { navigate } from '../../router.js';
import { DeliveryTable } from './parts.js';

const text = defineText({
  en: {
    title: 'Webhooks',
    intro: 'Every webhook delivery of the service, newest first, with each attempt. Redeliver sends a delivered or given-up one again.',
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
    intro: '本服务的全部 Webhook 投递，最新的在前，含每次尝试。“重新投递”会再次发送已送达或已放弃的投递。',
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
/** While a delivery shown is pending, its task's deliveries are read again this often. */
const FOLLOW_MS = 1000;
const FOLLOW_TASKS = 10;

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
  const [round, setRound] = useState(0);
  const [rows, setRows] = useState<WebhookDelivery[]>([]);
  const [next, setNext] = useState<number | null>(null);
  const [loading, setLoading] = useState(true);
  const [problem, setProblem] = useState<unknown>(null);

  useEffect(() => {
    const controller = new AbortController();
    setLoading(true);
    call<DeliveryPage>('/admin/v1/webhook-deliveries', {
      as: 'admin',
      query: { limit: PAGE, state: state || undefined, account_id: account || undefined },
      signal: controller.signal,
    })
      .then((page) => {
        setRows(page.data);
        setNext(page.has_more ? page.next_after : null);
        setProblem(null);
      })
      .catch((err) => {
        if (!controller.signal.aborted) setProblem(err);
      })
      .finally(() => {
        if (!controller.signal.aborted) setLoading(false);
      });
    return () => controller.abort();
  }, [state, account, round]);

  const more = async () => {
    if (next === null) return;
    setLoading(true);
    try {
      const page = await call<DeliveryPage>('/admin/v1/webhook-deliveries', {
        as: 'admin',
        query: { limit: PAGE, after: next, state: state || undefined, account_id: account || undefined },
      });
      setRows((old) => [...old, ...page.data.filter((d) => !old.some((o) => o.id === d.id))]);
      setNext(page.has_more ? page.next_after : null);
    } catch (err) {
      setProblem(err);
    } finally {
      setLoading(false);
    }
  };

  const merge = (fresh: WebhookDelivery[]) => setRows((old) => old.map((o) => fresh.find((f) => f.id === o.id) ?? o));

  // A delivery shown as pending (queued, retrying, or just redelivered) is followed until it settles,
  // through its task's log, which has every state: the row keeps its place whatever the filter.
  const pendingTasks = [...new Set(rows.filter((d) => d.state === 'pending').map((d) => d.task_id))].slice(0, FOLLOW_TASKS);
  const followKey = pendingTasks.join(',');
  useEffect(() => {
    if (!followKey) return;
    const controller = new AbortController();
    const timer = setTimeout(async () => {
      try {
        const pages = await Promise.all(
          followKey.split(',').map((task) =>
            call<DeliveryPage>(`/admin/v1/tasks/${encodeURIComponent(task)}/webhook-deliveries`, {
              as: 'admin',
              query: { limit: 100 },
              signal: controller.signal,
            }),
          ),
        );
        if (!controller.signal.aborted) merge(pages.flatMap((p) => p.data));
      } catch (err) {
        if (!controller.signal.aborted) setProblem(err);
      }
    }, FOLLOW_MS);
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [followKey, rows]);

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
            <Button onClick={() => setRound((r) => r + 1)} disabled={loading}>
              {t.refresh}
            </Button>
          </div>
        </div>
        <Problem error={problem ?? accounts.error} />
        {!loading || rows.length > 0 ? (
          <DeliveryTable deliveries={rows} showAccount accountName={(id) => accountList.find((a) => a.id === id)?.name ?? id} onChange={(d) => merge([d])} />
        ) : null}
        {next !== null ? (
          <div class="actions">
            <Button onClick={more} disabled={loading}>
              {t.more}
            </Button>
          </div>
        ) : null}
      </Card>
    </div>
  );
}
