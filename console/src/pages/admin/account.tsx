import { useState } from 'preact/hooks';
import { call } from '../../api.js';
import type { AdminAccount as Account, AdminKey, CreatedKey, DeliveryPage, LedgerEntry, UsageView } from '../../admin-types.js';
import { Button, Card, Empty, Field, LoadMore, Problem, StatusBadge } from '../../components/ui.js';
import { RangePicker, rangeDates, rangeRefused, rangeText, SpendChart, type UsageRange, UsageStats } from '../../components/usage-panel.js';
import { count, dateTime, excerpt, seconds, usd } from '../../format.js';
import { useLoad, usePagedList } from '../../hooks.js';
import { defineText, fill, useLanguage, useText } from '../../i18n.js';
import { href } from '../../router.js';
import type { ListPage, TaskList, TaskStatus } from '../../types.js';
import { DeliveryTable, numberOrNull, paramOf, StateBadge, shortTime, TopUpForm } from './parts.js';

const text = defineText({
  en: {
    back: '← Accounts',
    balance: 'Balance',
    spent: 'Spent',
    keys: 'Keys',
    created: 'Created',
    unlimited: 'unlimited',
    topUp: 'Top up',
    refresh: 'Refresh',
    // keys
    newKey: 'Create a key',
    keyName: 'Name',
    rpm: 'Requests per minute',
    inFlight: 'Tasks in flight',
    spendCap: 'Spending cap (USD)',
    callbackUrl: 'Default callback URL',
    defaultHint: 'empty: server default',
    noCap: 'empty: no cap',
    noCallback: 'empty: none',
    create: 'Create key',
    creating: 'Creating…',
    secretTitle: 'New key: {name}',
    secretOnce: 'This is the only time the secret is shown. Copy it now and give it to its owner.',
    copy: 'Copy',
    copied: 'Copied.',
    copyFailed: 'Copying was refused: select the text and copy it by hand.',
    saved: 'I have saved it',
    prefix: 'Prefix',
    state: 'State',
    limits: 'Limits',
    keySpent: 'Spent',
    keyInFlight: 'In flight',
    lastUsed: 'Last used',
    never: 'never',
    active: 'active',
    disabled: 'disabled',
    disable: 'Disable',
    enable: 'Enable',
    edit: 'Edit',
    save: 'Save',
    cancel: 'Cancel',
    perMinute: '{n}/min',
    inFlightN: '{n} in flight',
    capN: 'cap {usd}',
    defaults: 'defaults',
    noKeys: 'No keys yet.',
    // usage
    usage: 'Usage',
    spendPerDay: 'Spend per day',
    // ledger
    ledger: 'Balance history',
    kind: 'Kind',
    amount: 'Amount',
    after: 'Balance after',
    task: 'Task',
    key: 'Key',
    note: 'Note',
    at: 'Time',
    topup: 'top-up',
    reserve: 'reserved',
    settle: 'settled',
    refund: 'refund',
    earlier: 'Earlier entries',
    noLedger: 'No money has moved yet.',
    // tasks
    tasks: 'Tasks',
    allStatuses: 'All statuses',
    status: 'Status',
    prompt: 'Prompt',
    model: 'Model',
    noPrompt: '(no prompt)',
    cost: 'Cost',
    took: 'Took',
    noTasks: 'No tasks.',
    more: 'Load more',
    // webhooks
    webhooks: 'Webhook deliveries',
    fullLog: 'Full log',
    pending: 'pending',
    processing: 'processing',
    completed: 'completed',
    failed: 'failed',
    cancelled: 'cancelled',
  },
  zh: {
    back: '← 账户',
    balance: '余额',
    spent: '已花费',
    keys: '密钥',
    created: '创建时间',
    unlimited: '不限额',
    topUp: '充值',
    refresh: '刷新',
    newKey: '创建密钥',
    keyName: '名称',
    rpm: '每分钟请求数',
    inFlight: '同时进行的任务',
    spendCap: '花费上限（美元）',
    callbackUrl: '默认回调 URL',
    defaultHint: '留空：使用服务默认值',
    noCap: '留空：不设上限',
    noCallback: '留空：无',
    create: '创建密钥',
    creating: '正在创建…',
    secretTitle: '新密钥：{name}',
    secretOnce: '密钥只显示这一次。请立即复制并交给使用者。',
    copy: '复制',
    copied: '已复制。',
    copyFailed: '浏览器拒绝了复制：请选中文本手动复制。',
    saved: '我已保存',
    prefix: '前缀',
    state: '状态',
    limits: '限制',
    keySpent: '已花费',
    keyInFlight: '进行中',
    lastUsed: '最近使用',
    never: '从未',
    active: '启用',
    disabled: '已停用',
    disable: '停用',
    enable: '启用',
    edit: '编辑',
    save: '保存',
    cancel: '取消',
    perMinute: '{n}/分钟',
    inFlightN: '同时 {n} 个',
    capN: '上限 {usd}',
    defaults: '默认',
    noKeys: '还没有密钥。',
    usage: '用量',
    spendPerDay: '每日花费',
    ledger: '余额记录',
    kind: '类型',
    amount: '金额',
    after: '变动后余额',
    task: '任务',
    key: '密钥',
    note: '备注',
    at: '时间',
    topup: '充值',
    reserve: '预扣',
    settle: '结算',
    refund: '退款',
    earlier: '更早的记录',
    noLedger: '还没有资金变动。',
    tasks: '任务',
    allStatuses: '全部状态',
    status: '状态',
    prompt: '提示词',
    model: '模型',
    noPrompt: '（无提示词）',
    cost: '费用',
    took: '耗时',
    noTasks: '没有任务。',
    more: '加载更多',
    webhooks: 'Webhook 投递',
    fullLog: '完整日志',
    pending: '排队中',
    processing: '生成中',
    completed: '已完成',
    failed: '失败',
    cancelled: '已取消',
  },
});
type Text = typeof text.en;

const base = (id: string) => `/admin/v1/accounts/${encodeURIComponent(id)}`;

/** `#/admin/accounts/<id>`: balance and its history, usage, keys, tasks, webhook deliveries. */
export function AdminAccount(props: { id: string }) {
  const t = useText(text);
  const language = useLanguage();
  const [moved, setMoved] = useState(0);
  const account = useLoad((signal) => call<{ data: Account }>(base(props.id), { as: 'admin', signal }).then((r) => r.data), [props.id, moved]);
  const [topUp, setTopUp] = useState(false);
  const a = account.data;
  const refreshAll = () => setMoved((m) => m + 1);

  return (
    <div class="admin-page account-page">
      <p>
        <a href={href('/admin/accounts')}>{t.back}</a>
      </p>
      <h1>
        {a ? a.name : props.id} <span class="muted mono account-id">{props.id}</span>
      </h1>
      <Problem error={account.error} />
      {a ? (
        <>
          <div class="grid stats account-stats">
            <div class="stat" data-stat="balance" data-balance={a.unlimited ? 'unlimited' : a.balance}>
              <div class="name">{t.balance}</div>
              <div class="value">{a.unlimited ? t.unlimited : usd(a.balance, language)}</div>
            </div>
            <div class="stat" data-stat="spent" data-spent={a.spent}>
              <div class="name">{t.spent}</div>
              <div class="value">{usd(a.spent, language)}</div>
            </div>
            <div class="stat" data-stat="keys">
              <div class="name">{t.keys}</div>
              <div class="value">{count(a.key_count, language)}</div>
            </div>
            <div class="stat" data-stat="created">
              <div class="name">{t.created}</div>
              <div class="value small-value">{dateTime(a.created_at, language)}</div>
            </div>
          </div>
          <div class="actions page-actions">
            <Button kind="primary" onClick={() => setTopUp(!topUp)} aria-expanded={topUp} data-testid="open-top-up">
              {t.topUp}
            </Button>
            <Button onClick={refreshAll}>{t.refresh}</Button>
          </div>
          {topUp ? (
            <Card>
              <TopUpForm
                accountId={a.id}
                onDone={() => {
                  setTopUp(false);
                  refreshAll();
                }}
                onCancel={() => setTopUp(false)}
              />
            </Card>
          ) : null}
          <Keys accountId={a.id} round={moved} onCreated={refreshAll} />
          <AccountUsage accountId={a.id} round={moved} />
          <Ledger accountId={a.id} round={moved} />
          <Tasks accountId={a.id} round={moved} />
          <Deliveries accountId={a.id} round={moved} />
        </>
      ) : null}
    </div>
  );
}

function limitsText(t: Text, k: AdminKey, language: 'en' | 'zh'): string {
  const parts = [
    k.rpm_limit === null ? null : fill(t.perMinute, { n: count(k.rpm_limit, language) }),
    k.in_flight_limit === null ? null : fill(t.inFlightN, { n: count(k.in_flight_limit, language) }),
    k.spend_cap === null ? null : fill(t.capN, { usd: usd(k.spend_cap, language) }),
  ].filter(Boolean);
  return parts.length ? parts.join(' · ') : t.defaults;
}

interface LimitFields {
  rpm: string;
  inFlight: string;
  cap: string;
  callback: string;
}

const NO_LIMITS: LimitFields = { rpm: '', inFlight: '', cap: '', callback: '' };

/** A key's limits and its default callback URL, as the create form and a row's edit form both take them. */
function LimitInputs(props: { value: LimitFields; onChange: (v: LimitFields) => void; error: unknown }) {
  const t = useText(text);
  const param = paramOf(props.error);
  const message = (name: string) => (param === name ? (props.error as Error).message : null);
  const set = (change: Partial<LimitFields>) => props.onChange({ ...props.value, ...change });
  return (
    <>
      <Field label={t.rpm} name="rpm_limit" hint={t.defaultHint} error={message('rpm_limit')}>
        <input type="number" name="rpm_limit" min="1" step="1" value={props.value.rpm} onInput={(e) => set({ rpm: e.currentTarget.value })} />
      </Field>
      <Field label={t.inFlight} name="in_flight_limit" hint={t.defaultHint} error={message('in_flight_limit')}>
        <input type="number" name="in_flight_limit" min="1" step="1" value={props.value.inFlight} onInput={(e) => set({ inFlight: e.currentTarget.value })} />
      </Field>
      <Field label={t.spendCap} name="spend_cap" hint={t.noCap} error={message('spend_cap')}>
        <input type="number" name="spend_cap" min="0" step="any" value={props.value.cap} onInput={(e) => set({ cap: e.currentTarget.value })} />
      </Field>
      <Field label={t.callbackUrl} name="callback_url" hint={t.noCallback} error={message('callback_url')} wide>
        <input type="url" name="callback_url" value={props.value.callback} onInput={(e) => set({ callback: e.currentTarget.value })} placeholder="https://…" />
      </Field>
    </>
  );
}

const limitsBody = (v: LimitFields) => ({ rpm_limit: numberOrNull(v.rpm), in_flight_limit: numberOrNull(v.inFlight), spend_cap: numberOrNull(v.cap) });
const LIMIT_PARAMS = ['rpm_limit', 'in_flight_limit', 'spend_cap', 'callback_url', 'name'];

function Keys(props: { accountId: string; round: number; onCreated: () => void }) {
  const t = useText(text);
  const keys = useLoad(
    (signal) => call<{ data: AdminKey[] }>(`${base(props.accountId)}/keys`, { as: 'admin', signal }).then((r) => r.data),
    [props.accountId, props.round],
  );
  const list = keys.data ?? [];
  const [name, setName] = useState('');
  const [limits, setLimits] = useState<LimitFields>(NO_LIMITS);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [secret, setSecret] = useState<{ name: string; value: string } | null>(null);

  const create = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const callback = limits.callback.trim();
      const body = { ...(name.trim() ? { name: name.trim() } : {}), ...limitsBody(limits), ...(callback ? { callback_url: callback } : {}) };
      const answer = await call<CreatedKey>(`${base(props.accountId)}/keys`, { as: 'admin', body });
      setSecret({ name: answer.data.name, value: answer.api_key });
      keys.update((old) => [...old, answer.data]);
      setName('');
      setLimits(NO_LIMITS);
      props.onCreated();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const replace = (key: AdminKey) => keys.update((old) => old.map((k) => (k.id === key.id ? key : k)));
  const param = paramOf(error);

  return (
    <Card
      title={t.keys}
      id="keys"
      actions={
        <Button onClick={keys.reload} disabled={keys.loading}>
          {t.refresh}
        </Button>
      }
    >
      {secret ? <SecretOnce name={secret.name} secret={secret.value} onDone={() => setSecret(null)} /> : null}
      <Problem error={keys.error} />
      {list.length === 0 && !keys.loading ? <Empty>{t.noKeys}</Empty> : null}
      {list.length > 0 ? (
        <div class="table-wrap">
          <table class="keys" data-testid="keys">
            <thead>
              <tr>
                <th>{t.keyName}</th>
                <th class="optional">{t.prefix}</th>
                <th>{t.state}</th>
                <th class="optional">{t.limits}</th>
                <th class="num optional">{t.keySpent}</th>
                <th class="num optional">{t.keyInFlight}</th>
                <th>{t.lastUsed}</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {list.map((k) => (
                <KeyRow key={k.id} apiKey={k} onChange={replace} />
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <h3 class="sub-head">{t.newKey}</h3>
      <form class="fields" onSubmit={create} data-testid="create-key">
        <Field label={t.keyName} name="key_name" error={param === 'name' ? (error as Error).message : null}>
          <input name="key_name" value={name} maxLength={200} onInput={(e) => setName(e.currentTarget.value)} placeholder="key" />
        </Field>
        <LimitInputs value={limits} onChange={setLimits} error={error} />
        <div class="actions form-actions">
          <Button kind="primary" type="submit" disabled={busy}>
            {busy ? t.creating : t.create}
          </Button>
        </div>
      </form>
      {param && LIMIT_PARAMS.includes(param) ? null : <Problem error={error} />}
    </Card>
  );
}

/** The new key's secret, shown once, with a copy button. */
function SecretOnce(props: { name: string; secret: string; onDone: () => void }) {
  const t = useText(text);
  const [copied, setCopied] = useState<'yes' | 'no' | null>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(props.secret);
      setCopied('yes');
    } catch {
      setCopied('no');
      (document.getElementById('new-key-secret') as HTMLInputElement | null)?.select();
    }
  };
  return (
    <section class="secret-once" aria-label={fill(t.secretTitle, { name: props.name })} data-testid="new-key">
      <strong>{fill(t.secretTitle, { name: props.name })}</strong>
      <p class="muted">{t.secretOnce}</p>
      <div class="secret-line">
        <input id="new-key-secret" class="mono" readOnly value={props.secret} onFocus={(e) => e.currentTarget.select()} data-testid="new-key-secret" />
        <Button onClick={copy} data-testid="copy-secret">
          {t.copy}
        </Button>
        <Button kind="ghost" onClick={props.onDone}>
          {t.saved}
        </Button>
      </div>
      {copied ? (
        <span role="status" class={copied === 'yes' ? 'muted' : 'field-error'}>
          {copied === 'yes' ? t.copied : t.copyFailed}
        </span>
      ) : null}
    </section>
  );
}

function KeyRow(props: { apiKey: AdminKey; onChange: (key: AdminKey) => void }) {
  const t = useText(text);
  const language = useLanguage();
  const k = props.apiKey;
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [editing, setEditing] = useState(false);
  const [limits, setLimits] = useState<LimitFields>(NO_LIMITS);
  const patch = async (body: Record<string, unknown>) => {
    setBusy(true);
    setError(null);
    try {
      const answer = await call<{ data: AdminKey }>(`/admin/v1/keys/${encodeURIComponent(k.id)}`, { as: 'admin', method: 'PATCH', body });
      props.onChange(answer.data);
      return true;
    } catch (err) {
      setError(err);
      return false;
    } finally {
      setBusy(false);
    }
  };
  const startEdit = () => {
    setLimits({
      rpm: k.rpm_limit === null ? '' : String(k.rpm_limit),
      inFlight: k.in_flight_limit === null ? '' : String(k.in_flight_limit),
      cap: k.spend_cap === null ? '' : String(k.spend_cap),
      callback: k.callback_url ?? '',
    });
    setError(null);
    setEditing(true);
  };
  const param = paramOf(error);
  return (
    <>
      <tr data-key-id={k.id} data-key-name={k.name} data-disabled={k.disabled ? 'true' : 'false'}>
        <td>
          {k.name}
          {k.callback_url ? <div class="muted small url-cell">{k.callback_url}</div> : null}
        </td>
        <td class="optional mono">{k.prefix}…</td>
        <td>
          <StateBadge state={k.disabled ? 'failed' : 'delivered'} label={k.disabled ? t.disabled : t.active} />
        </td>
        <td class="optional" data-cell="limits">
          {limitsText(t, k, language)}
        </td>
        <td class="num optional" data-cell="spent">
          {usd(k.spent, language)}
        </td>
        <td class="num optional">{count(k.in_flight, language)}</td>
        <td data-cell="last-used" data-last-used={k.last_used_at ?? ''}>
          {k.last_used_at === null ? t.never : shortTime(k.last_used_at, language)}
        </td>
        <td>
          <div class="actions row-actions">
            <Button kind="ghost" onClick={() => (editing ? setEditing(false) : startEdit())} aria-expanded={editing}>
              {t.edit}
            </Button>
            <Button kind={k.disabled ? 'secondary' : 'danger'} onClick={() => patch({ disabled: !k.disabled })} disabled={busy} data-toggle-key={k.id}>
              {k.disabled ? t.enable : t.disable}
            </Button>
          </div>
          {editing ? null : <Problem error={error} />}
        </td>
      </tr>
      {editing ? (
        <tr class="form-row">
          <td colSpan={8}>
            <form
              class="fields"
              onSubmit={async (event) => {
                event.preventDefault();
                const callback = limits.callback.trim();
                if (await patch({ ...limitsBody(limits), callback_url: callback === '' ? null : callback })) setEditing(false);
              }}
            >
              <LimitInputs value={limits} onChange={setLimits} error={error} />
              <div class="actions form-actions">
                <Button kind="primary" type="submit" disabled={busy}>
                  {t.save}
                </Button>
                <Button kind="ghost" onClick={() => setEditing(false)}>
                  {t.cancel}
                </Button>
              </div>
            </form>
            {param && LIMIT_PARAMS.includes(param) ? null : <Problem error={error} />}
          </td>
        </tr>
      ) : null}
    </>
  );
}

function AccountUsage(props: { accountId: string; round: number }) {
  const t = useText(text);
  const language = useLanguage();
  const [range, setRange] = useState<UsageRange>({ days: 30 });
  const { from, to } = rangeDates(range);
  const usage = useLoad(
    (signal) =>
      call<{ data: UsageView }>('/admin/v1/usage', { as: 'admin', query: { account_id: props.accountId, from, to, group_by: 'day' }, signal }).then(
        (r) => r.data,
      ),
    [props.accountId, from, to, props.round],
  );
  return (
    <Card title={t.usage} id="usage" actions={usage.data ? <span class="muted">{rangeText(usage.data, language)}</span> : null}>
      <RangePicker range={range} onChange={setRange} error={usage.error} />
      <Problem error={rangeRefused(usage.error) ? null : usage.error} />
      {usage.data ? (
        <>
          <UsageStats view={usage.data} />
          <SpendChart view={usage.data} title={t.spendPerDay} />
        </>
      ) : null}
    </Card>
  );
}

const LEDGER_PAGE = 20;

/** Newest first (order=desc): each page's `next_after` is the oldest entry shown, the next page the ones before it. */
function Ledger(props: { accountId: string; round: number }) {
  const t = useText(text);
  const language = useLanguage();
  const ledger = usePagedList(
    (after, signal) =>
      call<ListPage<LedgerEntry, number>>(`${base(props.accountId)}/ledger`, { as: 'admin', query: { limit: LEDGER_PAGE, order: 'desc', after }, signal }),
    [props.accountId],
    props.round,
  );
  const rows = ledger.items;
  return (
    <Card title={t.ledger} id="ledger">
      <Problem error={ledger.error} />
      {rows.length === 0 && !ledger.loading && !ledger.error ? <Empty>{t.noLedger}</Empty> : null}
      {rows.length > 0 ? (
        <div class="table-wrap">
          <table class="ledger" data-testid="ledger">
            <thead>
              <tr>
                <th>{t.at}</th>
                <th>{t.kind}</th>
                <th class="num">{t.amount}</th>
                <th class="num">{t.after}</th>
                <th class="optional">{t.task}</th>
                <th class="optional">{t.note}</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((e) => (
                <tr key={e.id} data-ledger-id={e.id} data-kind={e.kind} data-amount={e.amount}>
                  <td class="nowrap">{shortTime(e.created_at, language)}</td>
                  <td>{t[e.kind]}</td>
                  <td class={`num ${e.amount < 0 ? 'negative' : 'positive'}`}>
                    {e.amount > 0 ? '+' : ''}
                    {usd(e.amount, language)}
                  </td>
                  <td class="num">{e.balance_after === null ? '—' : usd(e.balance_after, language)}</td>
                  <td class="optional mono">{e.task_id ?? ''}</td>
                  <td class="optional">{e.note ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <LoadMore list={ledger} label={t.earlier} />
    </Card>
  );
}

const TASK_PAGE = 20;
const STATUSES: TaskStatus[] = ['pending', 'processing', 'completed', 'failed', 'cancelled'];

/** Newest first, with what each asked for (include=request): model and the start of the prompt. */
function Tasks(props: { accountId: string; round: number }) {
  const t = useText(text);
  const language = useLanguage();
  const [status, setStatus] = useState<TaskStatus | ''>('');
  const tasks = usePagedList(
    (after, signal) =>
      call<TaskList>(`${base(props.accountId)}/tasks`, {
        as: 'admin',
        query: { limit: TASK_PAGE, status: status || undefined, include: 'request', after },
        signal,
      }),
    [props.accountId, status],
    props.round,
  );
  const rows = tasks.items;
  return (
    <Card
      title={t.tasks}
      id="tasks"
      actions={
        <select aria-label={t.status} value={status} onChange={(e) => setStatus(e.currentTarget.value as TaskStatus | '')} name="task_status">
          <option value="">{t.allStatuses}</option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {t[s]}
            </option>
          ))}
        </select>
      }
    >
      <Problem error={tasks.error} />
      {rows.length === 0 && !tasks.loading && !tasks.error ? <Empty>{t.noTasks}</Empty> : null}
      {rows.length > 0 ? (
        <div class="table-wrap">
          <table class="account-tasks" data-testid="account-tasks">
            <thead>
              <tr>
                <th>{t.prompt}</th>
                <th class="optional">{t.model}</th>
                <th>{t.status}</th>
                <th class="num">{t.cost}</th>
                <th class="optional">{t.created}</th>
                <th class="num optional">{t.took}</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((task) => (
                <tr key={task.id} data-task-id={task.id}>
                  <td class="prompt-cell">
                    <span data-cell="prompt">{excerpt(task.request?.prompt) || <span class="muted">{t.noPrompt}</span>}</span>
                    <div class="mono small muted">{task.id}</div>
                  </td>
                  <td class="optional" data-cell="model">
                    {task.request?.model ?? '—'}
                  </td>
                  <td>
                    <StatusBadge status={task.status} label={t[task.status]} />
                    {task.error ? <div class="muted small">{task.error.message}</div> : null}
                  </td>
                  <td class="num" data-cost={task.cost}>
                    {usd(task.cost, language)}
                  </td>
                  <td class="optional nowrap">{shortTime(task.created, language)}</td>
                  <td class="num optional">{seconds(task.actual_time, language)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <LoadMore list={tasks} label={t.more} />
    </Card>
  );
}

function Deliveries(props: { accountId: string; round: number }) {
  const t = useText(text);
  const log = usePagedList(
    (after, signal) => call<DeliveryPage>(`${base(props.accountId)}/webhook-deliveries`, { as: 'admin', query: { limit: 10, after }, signal }),
    [props.accountId],
    props.round,
  );
  return (
    <Card
      title={t.webhooks}
      id="webhooks"
      actions={
        <a class="btn btn-secondary" href={href('/admin/webhooks', { account: props.accountId })}>
          {t.fullLog}
        </a>
      }
    >
      <Problem error={log.error} />
      {log.loading && log.items.length === 0 ? null : (
        <DeliveryTable deliveries={log.items} onChange={(d) => log.update((old) => old.map((o) => (o.id === d.id ? d : o)))} />
      )}
      <LoadMore list={log} label={t.more} />
    </Card>
  );
}
