import { useState } from 'preact/hooks';
import { call } from '../../api.js';
import type { AdminChannel, ChannelCost, ChannelList } from '../../admin-types.js';
import { Button, Card, Empty, Problem } from '../../components/ui.js';
import { count, dateTime, seconds, usd } from '../../format.js';
import { useLoad } from '../../hooks.js';
import { defineText, fill, useLanguage, useText } from '../../i18n.js';
import { age, percent, StateBadge } from './parts.js';

const text = defineText({
  en: {
    title: 'Channels',
    intro: 'Where tasks go, in the order of the configuration: load now, and how each channel fared within the window.',
    window: 'Window',
    refresh: 'Refresh',
    name: 'Channel',
    provider: 'Provider',
    models: 'Models',
    allModels: 'all models',
    priority: 'Priority',
    inFlight: 'In flight',
    inFlightOf: '{pending} pending · {processing} processing / {max}',
    finished: 'Finished',
    finishedOf: '{completed} ok · {failed} failed',
    errorRate: 'Error rate',
    p50: 'p50',
    p95: 'p95',
    state: 'State',
    ok: 'ok',
    busy: 'busy',
    paused: 'paused',
    apiOnly: 'This instance does not run tasks (VIDGATE_ROLE=api): states reflect the database only.',
    none: 'No channels are configured.',
    m15: '15 min',
    h1: '1 h',
    h24: '24 h',
    d7: '7 days',
    cost: 'Upstream cost',
    noCost: 'not declared',
    oneRate: '{model} {resolution} · {rate}/s',
    rates: '{models} models · {range}/s',
    ratesOne: '1 model · {range}/s',
    withVideo: '+ with reference video',
    resolution: 'Resolution',
    perSecond: 'per second',
    perSecondVideo: 'with ref. video',
    perSecondVideoHint: 'with a reference video: USD per input + output second',
    budget: 'Today (UTC)',
    spentOf: '{spent} of {budget}',
    budgetDetail: '{settled} settled + {inFlight} in flight · {remaining} left',
    noBudget: '{spent} today · no daily budget',
    todayOnly: '{settled} settled + {inFlight} in flight',
    budgetLabel: 'Upstream cost today: {spent} of a {budget} daily budget',
    budgetSpent: 'Daily budget spent',
    until: 'until {time} (in {left})',
  },
  zh: {
    title: '渠道',
    intro: '任务的去向，按配置顺序排列：当前负载，以及各渠道在时间窗口内的表现。',
    window: '时间窗口',
    refresh: '刷新',
    name: '渠道',
    provider: '提供方',
    models: '模型',
    allModels: '全部模型',
    priority: '优先级',
    inFlight: '进行中',
    inFlightOf: '排队 {pending} · 生成 {processing} / {max}',
    finished: '已结束',
    finishedOf: '成功 {completed} · 失败 {failed}',
    errorRate: '错误率',
    p50: 'p50',
    p95: 'p95',
    state: '状态',
    ok: '正常',
    busy: '繁忙',
    paused: '暂停',
    apiOnly: '本实例不执行任务（VIDGATE_ROLE=api）：状态仅反映数据库。',
    none: '没有配置渠道。',
    m15: '15 分钟',
    h1: '1 小时',
    h24: '24 小时',
    d7: '7 天',
    cost: '上游成本',
    noCost: '未声明',
    oneRate: '{model} {resolution} · {rate}/秒',
    rates: '{models} 个模型 · {range}/秒',
    ratesOne: '1 个模型 · {range}/秒',
    withVideo: '+ 含参考视频',
    resolution: '分辨率',
    perSecond: '每秒',
    perSecondVideo: '含参考视频',
    perSecondVideoHint: '含参考视频时：每输入 + 输出秒的美元价格',
    budget: '今日（UTC）',
    spentOf: '{spent} / {budget}',
    budgetDetail: '已结算 {settled} + 进行中 {inFlight} · 剩余 {remaining}',
    noBudget: '今日 {spent} · 无每日预算',
    todayOnly: '已结算 {settled} + 进行中 {inFlight}',
    budgetLabel: '今日上游成本：{spent}，每日预算 {budget}',
    budgetSpent: '每日预算已用完',
    until: '至 {time}（还有 {left}）',
  },
});

const WINDOWS = [
  [900, 'm15'],
  [3600, 'h1'],
  [86_400, 'h24'],
  [604_800, 'd7'],
] as const;

type Text = (typeof text)['en'];

/** Every declared rate, a row per model and resolution: the output-second rate and the one with a reference video. */
function costRows(cost: ChannelCost): Array<{ model: string; resolution: string; perSecond?: number; withVideo?: number }> {
  const rows = new Map<string, { model: string; resolution: string; perSecond?: number; withVideo?: number }>();
  const add = (rates: ChannelCost['per_second'], field: 'perSecond' | 'withVideo') => {
    for (const [model, byResolution] of Object.entries(rates)) {
      for (const [resolution, rate] of Object.entries(byResolution)) {
        const key = `${model} ${resolution}`;
        rows.set(key, { ...(rows.get(key) ?? { model, resolution }), [field]: rate });
      }
    }
  };
  add(cost.per_second, 'perSecond');
  add(cost.per_second_with_reference_video, 'withVideo');
  return [...rows.values()];
}

/** The declared cost in a line (one rate, or how many models and the range of the per-second rates), the whole table when opened. */
function CostCell(props: { cost: ChannelCost | null; t: Text }) {
  const { t } = props;
  const language = useLanguage();
  if (!props.cost) return <span class="muted">{t.noCost}</span>;
  const rows = costRows(props.cost);
  if (rows.length === 0) return <span class="muted">{t.noCost}</span>;
  const models = new Set(rows.map((r) => r.model));
  const plain = rows.map((r) => r.perSecond).filter((v): v is number => v !== undefined);
  const all = plain.length > 0 ? plain : rows.map((r) => r.withVideo).filter((v): v is number => v !== undefined);
  const low = Math.min(...all);
  const high = Math.max(...all);
  const range = low === high ? usd(low, language) : `${usd(low, language)}–${usd(high, language)}`;
  const only = rows.length === 1 ? rows[0]! : null;
  const summary =
    only && only.perSecond !== undefined
      ? fill(t.oneRate, { model: only.model, resolution: only.resolution, rate: usd(only.perSecond, language) })
      : fill(models.size === 1 ? t.ratesOne : t.rates, { models: models.size, range });
  const withVideo = rows.some((r) => r.withVideo !== undefined);
  return (
    <details class="cost-details" data-testid="cost">
      <summary data-cost-summary>
        {summary}
        {withVideo ? <span class="muted"> {t.withVideo}</span> : null}
      </summary>
      <table class="cost-rates">
        <thead>
          <tr>
            <th>{t.resolution}</th>
            <th class="num">{t.perSecond}</th>
            <th class="num" title={t.perSecondVideoHint}>
              {t.perSecondVideo}
            </th>
          </tr>
        </thead>
        {[...models].map((model) => (
          <tbody key={model}>
            <tr class="cost-model">
              <th colSpan={3}>{model}</th>
            </tr>
            {rows
              .filter((r) => r.model === model)
              .map((r) => (
                <tr key={r.resolution} data-model={r.model} data-resolution={r.resolution} data-rate={r.perSecond ?? ''} data-rate-video={r.withVideo ?? ''}>
                  <td>{r.resolution}</td>
                  <td class="num">{r.perSecond === undefined ? '—' : usd(r.perSecond, language)}</td>
                  <td class="num">{r.withVideo === undefined ? '—' : usd(r.withVideo, language)}</td>
                </tr>
              ))}
          </tbody>
        ))}
      </table>
    </details>
  );
}

const share = (part: number, whole: number) => (whole > 0 ? Math.max(0, Math.min(100, (part / whole) * 100)) : 0);

/** Today's upstream cost (settled + in flight) as a bar against the daily budget, and what remains; without a budget, the figures. */
function BudgetCell(props: { channel: AdminChannel; t: Text }) {
  const { t } = props;
  const language = useLanguage();
  const { today, daily_budget_usd: budget } = props.channel;
  const money = (v: number) => usd(v, language);
  if (budget === null) {
    if (!props.channel.cost) return <span class="muted">—</span>;
    return (
      <>
        {fill(t.noBudget, { spent: money(today.spent) })}
        <div class="muted small">{fill(t.todayOnly, { settled: money(today.settled), inFlight: money(today.in_flight) })}</div>
      </>
    );
  }
  const settled = share(today.settled, budget);
  const inFlight = Math.min(100 - settled, share(today.in_flight, budget));
  const over = today.remaining === 0;
  return (
    <>
      <div class={`budget-bar${over ? ' over' : ''}`} aria-hidden="true" data-testid="budget-bar">
        <div class="budget-settled" style={{ width: `${settled}%` }} data-share={settled} />
        <div class="budget-in-flight" style={{ width: `${inFlight}%` }} data-share={inFlight} />
      </div>
      <meter
        class="visually-hidden"
        min={0}
        max={budget}
        value={Math.min(today.spent, budget)}
        aria-label={fill(t.budgetLabel, { spent: money(today.spent), budget: money(budget) })}
      />
      <div class="budget-spent" data-cell="budget-spent">
        {fill(t.spentOf, { spent: money(today.spent), budget: money(budget) })}
      </div>
      <div class="muted small" data-cell="budget-detail">
        {fill(t.budgetDetail, { settled: money(today.settled), inFlight: money(today.in_flight), remaining: money(today.remaining ?? 0) })}
      </div>
    </>
  );
}

/** A spent daily budget pauses a channel until 00:00 UTC: the remaining budget is then 0 (the API's reason says so in English). */
const pausedByBudget = (c: AdminChannel) => c.state === 'paused' && c.daily_budget_usd !== null && c.today.remaining === 0;

/** `#/admin/channels`: each channel's tasks in flight, today's upstream cost against its budget, declared cost, error rate, p50/p95, state. */
export function AdminChannels() {
  const t = useText(text);
  const language = useLanguage();
  const [windowSeconds, setWindowSeconds] = useState(3600);
  const channels = useLoad((signal) => call<ChannelList>('/admin/v1/channels', { as: 'admin', query: { window: windowSeconds }, signal }), [windowSeconds]);
  const list = channels.data?.data ?? [];
  return (
    <div class="admin-page">
      <h1>{t.title}</h1>
      <p class="muted">{t.intro}</p>
      <Card
        actions={
          <>
            <fieldset class="segmented" data-testid="window">
              <legend class="visually-hidden">{t.window}</legend>
              {WINDOWS.map(([value, name]) => (
                <button key={value} type="button" aria-pressed={windowSeconds === value} data-window={value} onClick={() => setWindowSeconds(value)}>
                  {t[name]}
                </button>
              ))}
            </fieldset>
            <Button onClick={channels.reload} disabled={channels.loading}>
              {t.refresh}
            </Button>
          </>
        }
      >
        <Problem error={channels.error} />
        {channels.data && !channels.data.runs_work ? <p class="muted">{t.apiOnly}</p> : null}
        {channels.data && list.length === 0 ? <Empty>{t.none}</Empty> : null}
        {list.length > 0 ? (
          <div class="table-wrap">
            <table class="channels" data-testid="channels" data-window={channels.data?.data[0]?.window_seconds}>
              <thead>
                <tr>
                  <th>{t.name}</th>
                  <th>{t.state}</th>
                  <th>{t.inFlight}</th>
                  <th>{t.budget}</th>
                  <th class="optional">{t.cost}</th>
                  <th class="num optional">{t.finished}</th>
                  <th class="num">{t.errorRate}</th>
                  <th class="num">{t.p50}</th>
                  <th class="num">{t.p95}</th>
                  <th class="optional">{t.models}</th>
                  <th class="num optional">{t.priority}</th>
                </tr>
              </thead>
              <tbody>
                {list.map((c) => (
                  <tr
                    key={c.name}
                    data-channel={c.name}
                    data-pending={c.in_flight.pending}
                    data-processing={c.in_flight.processing}
                    data-finished={c.finished}
                    data-p50={c.p50_seconds ?? ''}
                    data-p95={c.p95_seconds ?? ''}
                    data-paused={c.state === 'paused' ? (pausedByBudget(c) ? 'budget' : 'other') : undefined}
                  >
                    <td>
                      <strong>{c.name}</strong>
                      <div class="muted small">{c.provider}</div>
                    </td>
                    <td class="state-cell">
                      <StateBadge state={c.state} label={t[c.state]} />
                      {pausedByBudget(c) ? <div class="small budget-spent-label">{t.budgetSpent}</div> : null}
                      {c.state_reason ? <div class="muted small state-reason">{c.state_reason}</div> : null}
                      {c.state === 'paused' && c.paused_until !== null ? (
                        <div class="small paused-until" data-paused-until={c.paused_until} title={new Date(c.paused_until * 1000).toISOString()}>
                          {fill(t.until, { time: dateTime(c.paused_until, language), left: age(c.paused_until - Date.now() / 1000, language) })}
                        </div>
                      ) : null}
                    </td>
                    <td data-cell="in-flight">
                      {fill(t.inFlightOf, {
                        pending: count(c.in_flight.pending, language),
                        processing: count(c.in_flight.processing, language),
                        max: count(c.max_in_flight, language),
                      })}
                    </td>
                    <td
                      class="budget-cell"
                      data-cell="budget"
                      data-date={c.today.date}
                      data-budget={c.daily_budget_usd ?? ''}
                      data-settled={c.today.settled}
                      data-in-flight={c.today.in_flight}
                      data-spent={c.today.spent}
                      data-remaining={c.today.remaining ?? ''}
                      title={c.today.date}
                    >
                      <BudgetCell channel={c} t={t} />
                    </td>
                    <td class="optional cost-cell" data-cell="cost">
                      <CostCell cost={c.cost} t={t} />
                    </td>
                    <td class="num optional" data-cell="finished">
                      {count(c.finished, language)}
                      <div class="muted small">{fill(t.finishedOf, { completed: count(c.completed, language), failed: count(c.failed, language) })}</div>
                    </td>
                    <td class="num" data-cell="error-rate">
                      {percent(c.error_rate, language)}
                    </td>
                    <td class="num" data-cell="p50">
                      {seconds(c.p50_seconds, language)}
                    </td>
                    <td class="num" data-cell="p95">
                      {seconds(c.p95_seconds, language)}
                    </td>
                    <td class="optional models-cell">{c.models === '*' ? t.allModels : c.models.join(', ')}</td>
                    <td class="num optional">
                      {c.priority}
                      {c.weight !== 1 ? <span class="muted"> ×{c.weight}</span> : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : null}
      </Card>
    </div>
  );
}
