import { useEffect, useState } from 'preact/hooks';
import { ApiProblem, call } from '../../api.js';
import type { AdminAccount, WebhookDelivery } from '../../admin-types.js';
import { Button, Empty, Field, Problem } from '../../components/ui.js';
import { count } from '../../format.js';
import { defineText, type UiLanguage, useLanguage, useText } from '../../i18n.js';
import { href } from '../../router.js';
import { announceBalanceChange } from '../../session.js';
import './admin.css';

/** Pieces more than one operator screen shows: the top-up form, the webhook delivery table, number formats. */

const locale = (language: UiLanguage) => (language === 'zh' ? 'zh-CN' : 'en-US');

export const percent = (value: number | null, language: UiLanguage): string =>
  value === null ? '—' : new Intl.NumberFormat(locale(language), { style: 'percent', maximumFractionDigits: 1 }).format(value);

/** A moment in a table cell: "Dec 2, 14:05:09" (the year only when it is not this one). */
export function shortTime(unixSeconds: number, language: UiLanguage): string {
  const date = new Date(unixSeconds * 1000);
  const year = date.getFullYear() === new Date().getFullYear() ? undefined : 'numeric';
  return new Intl.DateTimeFormat(locale(language), {
    year,
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  }).format(date);
}

/** 75 → "1 min 15 s"; 4000 → "1 h 6 min". */
export function age(totalSeconds: number | null, language: UiLanguage): string {
  if (totalSeconds === null) return '—';
  const s = Math.max(0, Math.round(totalSeconds));
  const zh = language === 'zh';
  const unit = { h: zh ? ' 小时' : ' h', m: zh ? ' 分' : ' min', s: zh ? ' 秒' : ' s' };
  if (s < 60) return `${s}${unit.s}`;
  if (s < 3600) return `${Math.floor(s / 60)}${unit.m}${s % 60 ? ` ${s % 60}${unit.s}` : ''}`;
  return `${Math.floor(s / 3600)}${unit.h}${Math.floor((s % 3600) / 60) ? ` ${Math.floor((s % 3600) / 60)}${unit.m}` : ''}`;
}

/** A number input's value as a number, or null when empty. */
export const numberOrNull = (value: string): number | null => (value.trim() === '' ? null : Number(value));

/** The field an answer names, for showing its message beside that field. */
export const paramOf = (error: unknown): string | undefined => (error instanceof ApiProblem ? error.param : undefined);

/** A badge coloured by the shared `.state-*` classes (channels: ok/busy/paused; deliveries: pending/delivered/failed). */
export function StateBadge(props: { state: string; label: string }) {
  return (
    <span class={`badge state-${props.state}`} data-state={props.state}>
      {props.label}
    </span>
  );
}

const topUpText = defineText({
  en: {
    amount: 'Amount (USD)',
    note: 'Note',
    optional: 'optional',
    topUp: 'Top up',
    adding: 'Adding…',
    cancel: 'Cancel',
    done: 'Added.',
  },
  zh: {
    amount: '金额（美元）',
    note: '备注',
    optional: '可选',
    topUp: '充值',
    adding: '正在充值…',
    cancel: '取消',
    done: '已充值。',
  },
});

/** POST /admin/v1/accounts/{id}/topups; hands back the account as it now stands. */
export function TopUpForm(props: { accountId: string; onDone: (account: AdminAccount) => void; onCancel?: () => void }) {
  const t = useText(topUpText);
  const [amount, setAmount] = useState('');
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    setDone(false);
    try {
      const answer = await call<{ data: AdminAccount }>(`/admin/v1/accounts/${encodeURIComponent(props.accountId)}/topups`, {
        as: 'admin',
        body: { amount: Number(amount), ...(note.trim() ? { note: note.trim() } : {}) },
      });
      setAmount('');
      setNote('');
      setDone(true);
      announceBalanceChange();
      props.onDone(answer.data);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const param = paramOf(error);
  return (
    <form class="fields top-up" onSubmit={submit} data-testid="top-up">
      <Field label={t.amount} name="amount" error={param === 'amount' ? (error as Error).message : null}>
        <input
          type="number"
          name="amount"
          min="0.000001"
          step="any"
          inputMode="decimal"
          value={amount}
          onInput={(e) => setAmount(e.currentTarget.value)}
          required
        />
      </Field>
      <Field label={`${t.note} (${t.optional})`} name="note" error={param === 'note' ? (error as Error).message : null}>
        <input name="note" value={note} maxLength={500} onInput={(e) => setNote(e.currentTarget.value)} />
      </Field>
      <div class="actions form-actions">
        <Button kind="primary" type="submit" disabled={busy || !amount}>
          {busy ? t.adding : t.topUp}
        </Button>
        {props.onCancel ? (
          <Button kind="ghost" onClick={props.onCancel}>
            {t.cancel}
          </Button>
        ) : null}
        {done ? (
          <span class="muted" role="status">
            {t.done}
          </span>
        ) : null}
      </div>
      {param === 'amount' || param === 'note' ? null : <Problem error={error} />}
    </form>
  );
}

const deliveryText = defineText({
  en: {
    created: 'Created',
    account: 'Account',
    task: 'Task',
    event: 'Event',
    url: 'URL',
    state: 'State',
    attempts: 'Attempts',
    lastStatus: 'Last status',
    lastError: 'Last error',
    next: 'Next attempt',
    redeliver: 'Redeliver',
    sending: 'Sending…',
    details: 'Attempts',
    hide: 'Hide',
    attempt: '#',
    at: 'At',
    duration: 'Took',
    status: 'HTTP',
    error: 'Error',
    none: 'No deliveries.',
    pending: 'pending',
    delivered: 'delivered',
    failed: 'given up',
    event_pending: 'pending',
    event_processing: 'processing',
    event_completed: 'completed',
    event_failed: 'failed',
    event_cancelled: 'cancelled',
  },
  zh: {
    created: '创建时间',
    account: '账户',
    task: '任务',
    event: '事件',
    url: 'URL',
    state: '状态',
    attempts: '尝试次数',
    lastStatus: '最近状态码',
    lastError: '最近错误',
    next: '下次尝试',
    redeliver: '重新投递',
    sending: '正在发送…',
    details: '尝试记录',
    hide: '收起',
    attempt: '#',
    at: '时间',
    duration: '耗时',
    status: 'HTTP',
    error: '错误',
    none: '没有投递记录。',
    pending: '待投递',
    delivered: '已送达',
    failed: '已放弃',
    event_pending: '排队中',
    event_processing: '生成中',
    event_completed: '已完成',
    event_failed: '失败',
    event_cancelled: '已取消',
  },
});

/** A pending delivery shown is read again this often (GET /admin/v1/webhook-deliveries/{id}) until it settles. */
const FOLLOW_MS = 1000;
/** At most this many of a table's pending rows are followed, besides those redelivered from it. */
const FOLLOW_ROWS = 10;

/**
 * Webhook deliveries with their attempts. Redeliver (POST …/retry) replaces the row with the answer,
 * and a pending row is followed until it is delivered or given up; each change goes to `onChange`.
 */
export function DeliveryTable(props: {
  deliveries: WebhookDelivery[];
  onChange: (delivery: WebhookDelivery) => void;
  /** With an account column: how to name an account (by default its id). */
  accountName?: (id: string) => string;
  showAccount?: boolean;
}) {
  const t = useText(deliveryText);
  if (props.deliveries.length === 0) return <Empty>{t.none}</Empty>;
  const followed = new Set(
    props.deliveries
      .filter((d) => d.state === 'pending')
      .slice(0, FOLLOW_ROWS)
      .map((d) => d.id),
  );
  return (
    <div class="table-wrap">
      <table class="deliveries">
        <thead>
          <tr>
            <th>{t.created}</th>
            {props.showAccount ? <th class="optional">{t.account}</th> : null}
            <th>{t.event}</th>
            <th class="optional">{t.url}</th>
            <th>{t.state}</th>
            <th class="num">{t.attempts}</th>
            <th class="num">{t.lastStatus}</th>
            <th class="optional">{t.lastError}</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {props.deliveries.map((d) => (
            <DeliveryRow
              key={d.id}
              delivery={d}
              follow={followed.has(d.id)}
              onChange={props.onChange}
              showAccount={props.showAccount}
              accountName={props.accountName}
            />
          ))}
        </tbody>
      </table>
    </div>
  );
}

function DeliveryRow(props: {
  delivery: WebhookDelivery;
  follow: boolean;
  onChange: (delivery: WebhookDelivery) => void;
  showAccount?: boolean;
  accountName?: (id: string) => string;
}) {
  const t = useText(deliveryText);
  const language = useLanguage();
  const d = props.delivery;
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [redelivered, setRedelivered] = useState(false);
  const [followError, setFollowError] = useState<unknown>(null);
  const path = `/admin/v1/webhook-deliveries/${encodeURIComponent(d.id)}`;
  // Each answer is a new row object, so the next read is set up until the delivery leaves pending.
  // A read that fails stops the following and says why, until the row is read again (Refresh).
  const following = d.state === 'pending' && (props.follow || redelivered) && !followError;
  useEffect(() => setFollowError(null), [d]);
  useEffect(() => {
    if (!following) return;
    const controller = new AbortController();
    const timer = setTimeout(() => {
      call<{ data: WebhookDelivery }>(path, { as: 'admin', signal: controller.signal })
        .then((answer) => {
          if (!controller.signal.aborted) props.onChange(answer.data);
        })
        .catch((err: unknown) => {
          if (!controller.signal.aborted) setFollowError(err);
        });
    }, FOLLOW_MS);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [following, d]);
  const redeliver = async () => {
    setBusy(true);
    setError(null);
    try {
      const answer = await call<{ data: WebhookDelivery }>(`${path}/retry`, { as: 'admin', method: 'POST' });
      setRedelivered(true);
      props.onChange(answer.data);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const columns = 8 + (props.showAccount ? 1 : 0);
  return (
    <>
      <tr data-delivery-id={d.id} data-state={d.state} data-attempts={d.attempts} data-following={following ? 'true' : undefined}>
        <td class="nowrap">{shortTime(d.created_at, language)}</td>
        {props.showAccount ? (
          <td class="optional">
            <a href={href(`/admin/accounts/${encodeURIComponent(d.account_id)}`)} title={d.account_id}>
              {props.accountName?.(d.account_id) ?? d.account_id}
            </a>
          </td>
        ) : null}
        <td>
          <strong data-event={d.event}>{t[`event_${d.event}`]}</strong>
          <div class="mono small muted">{d.task_id}</div>
        </td>
        <td class="optional url-cell" title={d.url}>
          {d.url}
        </td>
        <td>
          <StateBadge state={d.state} label={t[d.state]} />
          {d.state === 'pending' && d.next_attempt_at !== null ? (
            <div class="muted small">
              {t.next}: {shortTime(d.next_attempt_at, language)}
            </div>
          ) : null}
        </td>
        <td class="num" data-cell="attempts">
          {d.attempt_log.length > 0 ? (
            <button
              type="button"
              class="link-button"
              onClick={() => setOpen(!open)}
              aria-expanded={open}
              aria-label={`${open ? t.hide : t.details}: ${count(d.attempts, language)}`}
              data-attempt-log={d.id}
            >
              {count(d.attempts, language)} {open ? '▴' : '▾'}
            </button>
          ) : (
            count(d.attempts, language)
          )}
        </td>
        <td class="num" data-cell="last-status">
          {d.last_status ?? '—'}
        </td>
        <td class="optional error-cell">{d.last_error ?? ''}</td>
        <td>
          <Button onClick={redeliver} disabled={busy || d.state === 'pending'} data-redeliver={d.id}>
            {busy ? t.sending : t.redeliver}
          </Button>
          <Problem error={error ?? followError} />
        </td>
      </tr>
      {open ? (
        <tr class="attempts-row">
          <td colSpan={columns}>
            <table class="attempts">
              <thead>
                <tr>
                  <th>{t.attempt}</th>
                  <th>{t.at}</th>
                  <th class="num">{t.duration}</th>
                  <th class="num">{t.status}</th>
                  <th>{t.error}</th>
                </tr>
              </thead>
              <tbody>
                {d.attempt_log.map((a) => (
                  <tr key={a.attempt} data-attempt={a.attempt}>
                    <td>{a.attempt}</td>
                    <td class="nowrap">{shortTime(a.at, language)}</td>
                    <td class="num">{count(a.duration_ms, language)} ms</td>
                    <td class="num">{a.status ?? '—'}</td>
                    <td class="error-cell">{a.error ?? ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </td>
        </tr>
      ) : null}
    </>
  );
}
