import { useState } from 'preact/hooks';
import { call } from '../../api.js';
import type { AdminAccount } from '../../admin-types.js';
import { Button, Card, Empty, Field, LoadMore, Problem } from '../../components/ui.js';
import { usePagedList } from '../../hooks.js';
import type { ListPage } from '../../types.js';
import { count, usd } from '../../format.js';
import { defineText, fill, useLanguage, useText } from '../../i18n.js';
import { href } from '../../router.js';
import { numberOrNull, paramOf, shortTime, TopUpForm } from './parts.js';

const text = defineText({
  en: {
    title: 'Accounts',
    create: 'Open an account',
    name: 'Name',
    balance: 'Opening balance (USD)',
    balanceHint: 'Leave empty for an account with unlimited quota.',
    open: 'Open account',
    opening: 'Opening…',
    opened: 'Opened {name}.',
    openPage: 'Open its page',
    list: 'All accounts',
    refresh: 'Refresh',
    id: 'ID',
    balanceColumn: 'Balance',
    spent: 'Spent',
    keys: 'Keys',
    created: 'Created',
    unlimited: 'unlimited',
    topUp: 'Top up',
    empty: 'No accounts yet.',
    more: 'Load more',
  },
  zh: {
    title: '账户',
    create: '开设账户',
    name: '名称',
    balance: '初始余额（美元）',
    balanceHint: '留空则为不限额账户。',
    open: '开设账户',
    opening: '正在开设…',
    opened: '已开设 {name}。',
    openPage: '打开账户页',
    list: '全部账户',
    refresh: '刷新',
    id: 'ID',
    balanceColumn: '余额',
    spent: '已花费',
    keys: '密钥',
    created: '创建时间',
    unlimited: '不限额',
    topUp: '充值',
    empty: '还没有账户。',
    more: '加载更多',
  },
});

const PAGE = 50;

export const accountHref = (id: string) => href(`/admin/accounts/${encodeURIComponent(id)}`);

/** `#/admin/accounts`: every account, opening one, topping one up. */
export function AdminAccounts() {
  const t = useText(text);
  const list = usePagedList((after, signal) => call<ListPage<AdminAccount>>('/admin/v1/accounts', { as: 'admin', query: { limit: PAGE, after }, signal }), []);
  const accounts = list.items;
  const replace = (account: AdminAccount) => list.update((old) => old.map((a) => (a.id === account.id ? account : a)));

  return (
    <div class="admin-page">
      <h1>{t.title}</h1>
      {/* By id a new account comes last: shown at once when the last page is, else when paging reaches it. */}
      <CreateAccount onCreated={(account) => (list.hasMore ? undefined : list.update((old) => [...old.filter((a) => a.id !== account.id), account]))} />
      <Card
        title={t.list}
        actions={
          <Button onClick={list.reload} disabled={list.loading}>
            {t.refresh}
          </Button>
        }
      >
        <Problem error={list.error} />
        {!list.loading && accounts.length === 0 && !list.error ? <Empty>{t.empty}</Empty> : null}
        {accounts.length > 0 ? (
          <div class="table-wrap">
            <table class="accounts" data-testid="accounts">
              <thead>
                <tr>
                  <th>{t.name}</th>
                  <th class="optional">{t.id}</th>
                  <th class="num">{t.balanceColumn}</th>
                  <th class="num optional">{t.spent}</th>
                  <th class="num optional">{t.keys}</th>
                  <th class="optional">{t.created}</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {accounts.map((a) => (
                  <AccountRow key={a.id} account={a} onChange={replace} />
                ))}
              </tbody>
            </table>
          </div>
        ) : null}
        <LoadMore list={list} label={t.more} />
      </Card>
    </div>
  );
}

function AccountRow(props: { account: AdminAccount; onChange: (account: AdminAccount) => void }) {
  const t = useText(text);
  const language = useLanguage();
  const a = props.account;
  const [topUp, setTopUp] = useState(false);
  return (
    <>
      <tr data-account-id={a.id}>
        <td>
          <a href={accountHref(a.id)}>{a.name}</a>
        </td>
        <td class="optional mono">{a.id}</td>
        <td class="num" data-cell="balance" data-balance={a.unlimited ? 'unlimited' : a.balance}>
          {a.unlimited ? t.unlimited : usd(a.balance, language)}
        </td>
        <td class="num optional" data-cell="spent">
          {usd(a.spent, language)}
        </td>
        <td class="num optional">{count(a.key_count, language)}</td>
        <td class="optional nowrap">{shortTime(a.created_at, language)}</td>
        <td>
          <div class="actions row-actions">
            <Button onClick={() => setTopUp(!topUp)} aria-expanded={topUp} data-top-up={a.id}>
              {t.topUp}
            </Button>
          </div>
        </td>
      </tr>
      {topUp ? (
        <tr class="form-row">
          <td colSpan={7}>
            <TopUpForm
              accountId={a.id}
              onDone={(account) => {
                props.onChange(account);
                setTopUp(false);
              }}
              onCancel={() => setTopUp(false)}
            />
          </td>
        </tr>
      ) : null}
    </>
  );
}

function CreateAccount(props: { onCreated: (account: AdminAccount) => void }) {
  const t = useText(text);
  const [name, setName] = useState('');
  const [balance, setBalance] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [created, setCreated] = useState<AdminAccount | null>(null);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    setCreated(null);
    try {
      const opening = numberOrNull(balance);
      const answer = await call<{ data: AdminAccount }>('/admin/v1/accounts', {
        as: 'admin',
        body: { name: name.trim(), ...(opening === null ? {} : { balance: opening }) },
      });
      setCreated(answer.data);
      setName('');
      setBalance('');
      props.onCreated(answer.data);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const param = paramOf(error);
  return (
    <Card title={t.create}>
      <form class="fields" onSubmit={submit} data-testid="create-account">
        <Field label={t.name} name="name" error={param === 'name' ? (error as Error).message : null}>
          <input name="name" value={name} maxLength={200} required onInput={(e) => setName(e.currentTarget.value)} />
        </Field>
        <Field label={t.balance} name="balance" hint={t.balanceHint} error={param === 'balance' ? (error as Error).message : null}>
          <input type="number" name="balance" min="0" step="any" inputMode="decimal" value={balance} onInput={(e) => setBalance(e.currentTarget.value)} />
        </Field>
        <div class="actions form-actions">
          <Button kind="primary" type="submit" disabled={busy || !name.trim()}>
            {busy ? t.opening : t.open}
          </Button>
          {created ? (
            <span role="status" data-created-account={created.id}>
              {fill(t.opened, { name: created.name })} <a href={accountHref(created.id)}>{t.openPage}</a>
            </span>
          ) : null}
        </div>
      </form>
      {param === 'name' || param === 'balance' ? null : <Problem error={error} />}
    </Card>
  );
}
