import { useEffect, useState } from 'preact/hooks';
import { ApiProblem } from '../api.js';
import type { AdminUsageBucket, AdminUsageView, UsageBucket, UsageGroup, UsageView } from '../admin-types.js';
import { count, usd, utcDay } from '../format.js';
import { useLoad } from '../hooks.js';
import { defineText, fill, type UiLanguage, useLanguage, useText } from '../i18n.js';
import { navigate } from '../router.js';
import { BarChart } from './bar-chart.js';
import { Button, Card, Empty, Field, Problem } from './ui.js';
import './usage-panel.css';

/**
 * What the usage screens share (`#/usage`, `#/admin/usage`, an account's page): the range picker,
 * the totals, the charts and the bucket table, and the whole report below a screen's heading.
 * Days are UTC days, as the usage API counts them.
 */

const text = defineText({
  en: {
    range: 'Range',
    last: 'Last {n} days',
    custom: 'Custom',
    from: 'From (UTC)',
    to: 'To (UTC)',
    apply: 'Apply',
    balance: 'Balance',
    unlimited: 'unlimited',
    tasks: 'Tasks',
    completed: 'Completed',
    failed: 'Failed',
    cancelled: 'Cancelled',
    spent: 'Spent',
    outputSeconds: 'Video seconds',
    nothing: 'No tasks in this range.',
    max: 'max',
    showEmpty: 'Show {n} days without tasks',
    hideEmpty: 'Hide days without tasks',
    chart_day: 'Spend per day',
    chart_model: 'Spend per model',
    chart_account: 'Spend per account',
    chart_channel: 'Spend per channel',
    details: 'Details',
    groupBy: 'Group by',
    group_day: 'Day',
    group_model: 'Model',
    group_account: 'Account',
    group_channel: 'Channel',
    loading: 'Loading…',
    upstreamCost: 'Upstream cost',
    margin: 'Margin',
    marginRate: '{rate} of the price of those tasks',
    unknown: 'not known',
    noCostDeclared: 'no channel declares a cost',
    costNote:
      'Upstream cost and margin count only the completed tasks of channels that declare a cost ({declared}); tasks on other channels ({others}) are in Spent but in neither figure, so margin is not Spent − upstream cost. — : not known (no completed task with a declared cost).',
    costNoteGeneric:
      'Upstream cost and margin count only the completed tasks of channels that declare a cost; other tasks are in Spent but in neither figure, so margin is not Spent − upstream cost. — : not known (no completed task with a declared cost).',
    costNoteNone: 'No channel declares an upstream cost, so no margin is known: give a channel its cost in the configuration file.',
    none: 'none',
    margin_day: 'Margin per day',
    margin_model: 'Margin per model',
    margin_account: 'Margin per account',
    margin_channel: 'Margin per channel',
    min: 'min',
  },
  zh: {
    range: '时间范围',
    last: '最近 {n} 天',
    custom: '自定义',
    from: '开始（UTC）',
    to: '结束（UTC）',
    apply: '应用',
    balance: '余额',
    unlimited: '不限额',
    tasks: '任务',
    completed: '已完成',
    failed: '失败',
    cancelled: '已取消',
    spent: '花费',
    outputSeconds: '视频秒数',
    nothing: '此范围内没有任务。',
    max: '最大',
    showEmpty: '显示 {n} 个没有任务的日期',
    hideEmpty: '隐藏没有任务的日期',
    chart_day: '每日花费',
    chart_model: '各模型花费',
    chart_account: '各账户花费',
    chart_channel: '各渠道花费',
    details: '明细',
    groupBy: '分组',
    group_day: '按天',
    group_model: '按模型',
    group_account: '按账户',
    group_channel: '按渠道',
    loading: '正在加载…',
    upstreamCost: '上游成本',
    margin: '毛利',
    marginRate: '占这些任务售价的 {rate}',
    unknown: '未知',
    noCostDeclared: '没有渠道声明成本',
    costNote:
      '上游成本和毛利只统计声明了成本的渠道（{declared}）上已完成的任务；其他渠道（{others}）的任务计入花费，但不计入这两项，所以毛利不等于花费减上游成本。—：未知（没有声明了成本的已完成任务）。',
    costNoteGeneric:
      '上游成本和毛利只统计声明了成本的渠道上已完成的任务；其他任务计入花费，但不计入这两项，所以毛利不等于花费减上游成本。—：未知（没有声明了成本的已完成任务）。',
    costNoteNone: '没有渠道声明上游成本，因此毛利未知：请在配置文件中为渠道声明成本（cost）。',
    none: '无',
    margin_day: '每日毛利',
    margin_model: '各模型毛利',
    margin_account: '各账户毛利',
    margin_channel: '各渠道毛利',
    min: '最小',
  },
});

const PRESET_DAYS = [7, 30, 90] as const;

export type UsageRange = { days: number } | { from: string; to: string };

const DAY_MS = 86_400_000;

/** The range a hash query names: `days=7|30|90`, or `from` and `to` (YYYY-MM-DD); 30 days by default. */
function rangeFromQuery(query: URLSearchParams): UsageRange {
  const from = query.get('from');
  const to = query.get('to');
  if (from && to) return { from, to };
  const days = Number(query.get('days'));
  return { days: (PRESET_DAYS as readonly number[]).includes(days) ? days : 30 };
}

const rangeQuery = (range: UsageRange): Record<string, string | number | undefined> =>
  'days' in range ? { days: range.days } : { from: range.from, to: range.to };

/** The `from`/`to` the API is asked for: a preset ends today (UTC) and counts today. */
export function rangeDates(range: UsageRange, now = Date.now()): { from: string; to: string } {
  if (!('days' in range)) return range;
  return { from: utcDay(new Date(now - (range.days - 1) * DAY_MS)), to: utcDay(new Date(now)) };
}

/**
 * Which channels declare an upstream cost (from `GET /admin/v1/channels`): by channel a bucket's
 * figures are known exactly when its channel declares one.
 */
export interface CostChannels {
  declared: string[];
  undeclared: string[];
}

/** The operator's figures, as `GET /admin/v1/usage` has them; an account's `/v1/usage` never does. */
export const hasCosts = (view: UsageView): view is AdminUsageView => 'upstream_cost' in view.total && 'margin' in view.total;

/**
 * Whether a bucket's upstream cost and margin are known. By channel: whether the channel declares a
 * cost (when the channel list says). Otherwise the API's zeros stand for "no completed task with a
 * declared cost in the bucket", so a bucket with both at 0 shows —.
 */
export function costKnown(group: UsageGroup, bucket: AdminUsageBucket, channels?: CostChannels): boolean {
  if (group === 'channel' && channels) {
    if (channels.declared.includes(bucket.key)) return true;
    if (channels.undeclared.includes(bucket.key)) return false;
  }
  return bucket.upstream_cost !== 0 || bucket.margin !== 0;
}

/** Margin as a share of what those same tasks were charged (upstream cost + margin); null when they were charged nothing. */
export const marginRate = (costs: { upstream_cost: number; margin: number }): number | null => {
  const price = costs.upstream_cost + costs.margin;
  return price > 0 ? costs.margin / price : null;
};

const percentText = (value: number, language: UiLanguage) =>
  new Intl.NumberFormat(language === 'zh' ? 'zh-CN' : 'en-US', { style: 'percent', maximumFractionDigits: 1 }).format(value);

/** Preset buttons, and two date inputs for a custom range; errors the API names (from/to) show by their field. */
export function RangePicker(props: { range: UsageRange; onChange: (range: UsageRange) => void; error?: unknown }) {
  const t = useText(text);
  const dates = rangeDates(props.range);
  const [custom, setCustom] = useState(!('days' in props.range));
  const [from, setFrom] = useState(dates.from);
  const [to, setTo] = useState(dates.to);
  useEffect(() => {
    const next = rangeDates(props.range);
    setFrom(next.from);
    setTo(next.to);
    if (!('days' in props.range)) setCustom(true);
  }, ['days' in props.range ? props.range.days : `${props.range.from}/${props.range.to}`]);
  const problem = props.error instanceof ApiProblem ? props.error : null;
  const errorFor = (name: string) => (problem?.param === name ? problem.message : null);
  return (
    <div class="range-picker">
      <fieldset class="segmented" data-testid="range">
        <legend class="visually-hidden">{t.range}</legend>
        {PRESET_DAYS.map((days) => (
          <button
            key={days}
            type="button"
            data-days={days}
            aria-pressed={!custom && 'days' in props.range && props.range.days === days}
            onClick={() => {
              setCustom(false);
              props.onChange({ days });
            }}
          >
            {fill(t.last, { n: days })}
          </button>
        ))}
        <button type="button" data-days="custom" aria-pressed={custom} onClick={() => setCustom(true)}>
          {t.custom}
        </button>
      </fieldset>
      {custom ? (
        <form
          class="fields range-custom"
          onSubmit={(event) => {
            event.preventDefault();
            if (from && to) props.onChange({ from, to });
          }}
        >
          <Field label={t.from} name="from" error={errorFor('from')}>
            <input type="date" name="from" value={from} onInput={(e) => setFrom(e.currentTarget.value)} required />
          </Field>
          <Field label={t.to} name="to" error={errorFor('to')}>
            <input type="date" name="to" value={to} onInput={(e) => setTo(e.currentTarget.value)} required />
          </Field>
          <div class="actions range-apply">
            <Button kind="primary" type="submit" disabled={!from || !to}>
              {t.apply}
            </Button>
          </div>
        </form>
      ) : null}
    </div>
  );
}

/**
 * Balance (when the answer has one) and the totals of the range; with `costs` (an operator's answer)
 * also the upstream cost and margin, — when not known.
 */
export function UsageStats(props: { view: UsageView; balance?: boolean; costs?: { channels?: CostChannels } }) {
  const t = useText(text);
  const language = useLanguage();
  const { total } = props.view;
  const view = props.view;
  const costs = props.costs && hasCosts(view) ? view.total : null;
  const noneDeclared = props.costs?.channels?.declared.length === 0;
  // As for a bucket: both at 0 is "no completed task with a declared cost", shown as —.
  const costsKnown = costs !== null && (costs.upstream_cost !== 0 || costs.margin !== 0);
  const rate = costs && costsKnown ? marginRate(costs) : null;
  const stats: Array<[string, string, string]> = [
    ...(props.balance
      ? ([['balance', t.balance, props.view.balance === null ? t.unlimited : usd(props.view.balance, language)]] as Array<[string, string, string]>)
      : []),
    ['spent', t.spent, usd(total.spent, language)],
    ['tasks', t.tasks, count(total.tasks, language)],
    ['completed', t.completed, count(total.completed, language)],
    ['failed', t.failed, count(total.failed, language)],
    ['cancelled', t.cancelled, count(total.cancelled, language)],
    ['output_seconds', t.outputSeconds, count(total.output_seconds, language)],
  ];
  return (
    <div class="grid stats usage-stats">
      {stats.map(([name, label, value]) => (
        <div class="stat" key={name} data-stat={name}>
          <div class="name">{label}</div>
          <div class="value">{value}</div>
        </div>
      ))}
      {costs ? (
        <>
          <div class="stat" data-stat="upstream_cost" data-value={costsKnown ? costs.upstream_cost : ''}>
            <div class="name">{t.upstreamCost}</div>
            <div class="value">{costsKnown ? usd(costs.upstream_cost, language) : '—'}</div>
            {noneDeclared ? <div class="muted small">{t.noCostDeclared}</div> : null}
          </div>
          <div class={`stat${costsKnown && costs.margin < 0 ? ' negative' : ''}`} data-stat="margin" data-value={costsKnown ? costs.margin : ''}>
            <div class="name">{t.margin}</div>
            <div class="value">{costsKnown ? usd(costs.margin, language) : '—'}</div>
            {rate !== null ? (
              <div class="muted small" data-margin-rate={rate}>
                {fill(t.marginRate, { rate: percentText(rate, language) })}
              </div>
            ) : null}
          </div>
        </>
      ) : null}
    </div>
  );
}

/** What the figures count, under the totals of an operator's report. */
function CostNote(props: { channels?: CostChannels }) {
  const t = useText(text);
  const channels = props.channels;
  const list = (names: string[]) => (names.length > 0 ? names.join(', ') : t.none);
  const note = !channels
    ? t.costNoteGeneric
    : channels.declared.length === 0
      ? t.costNoteNone
      : fill(t.costNote, { declared: list(channels.declared), others: list(channels.undeclared) });
  return (
    <p class="muted usage-cost-note" data-testid="margin-note">
      {note}
    </p>
  );
}

/** Margin per bucket as bars, below zero when the upstream cost more, a dash where not known. */
export function MarginChart(props: { view: AdminUsageView | undefined; title: string; labelOf?: (key: string) => string; channels?: CostChannels }) {
  const t = useText(text);
  const language = useLanguage();
  const view = props.view;
  if (!view) return null;
  const bars = view.buckets.map((b) => ({
    label: props.labelOf ? props.labelOf(b.key) : b.key,
    value: costKnown(view.group_by, b, props.channels) ? b.margin : null,
  }));
  return (
    <div class="usage-chart margin-chart" data-margin-chart={view.group_by}>
      {bars.length === 0 ? (
        <Empty>{t.nothing}</Empty>
      ) : (
        <BarChart bars={bars} title={props.title} format={(v) => usd(v, language)} maxLabel={t.max} minLabel={t.min} unknownLabel={t.unknown} />
      )}
    </div>
  );
}

/** Spend per bucket as bars; `labelOf` turns a bucket key (an account id) into what a reader knows it by. */
export function SpendChart(props: { view: UsageView | undefined; title: string; labelOf?: (key: string) => string }) {
  const t = useText(text);
  const language = useLanguage();
  if (!props.view) return null;
  const bars = props.view.buckets.map((b) => ({ label: props.labelOf ? props.labelOf(b.key) : b.key, value: b.spent }));
  return (
    <div class="usage-chart" data-chart={props.view.group_by}>
      {bars.length === 0 ? <Empty>{t.nothing}</Empty> : <BarChart bars={bars} title={props.title} format={(v) => usd(v, language)} maxLabel={t.max} />}
    </div>
  );
}

/** Every bucket with its counts (and with `costs` the operator's figures, — when not known); by day, days without tasks are dimmed. */
function BucketTable(props: {
  view: UsageView;
  keyLabel: string;
  labelOf?: (key: string) => string;
  href?: (key: string) => string | null;
  costs?: { channels?: CostChannels };
}) {
  const t = useText(text);
  const language = useLanguage();
  const [showEmpty, setShowEmpty] = useState(false);
  if (props.view.buckets.length === 0) return <Empty>{t.nothing}</Empty>;
  // By day every day of the range is a bucket: the quiet ones are folded away unless asked for.
  const empty = props.view.group_by === 'day' ? props.view.buckets.filter((b) => b.tasks === 0).length : 0;
  const rows = empty > 0 && !showEmpty ? props.view.buckets.filter((b) => b.tasks > 0) : props.view.buckets;
  const withCosts = props.costs !== undefined && hasCosts(props.view);
  const costCells = (b: UsageBucket) => {
    if (!withCosts) return null;
    const costs = b as AdminUsageBucket;
    const known = costKnown(props.view.group_by, costs, props.costs?.channels);
    return (
      <>
        <td class="optional" data-upstream-cost={known ? costs.upstream_cost : ''}>
          {known ? usd(costs.upstream_cost, language) : '—'}
        </td>
        <td data-margin={known ? costs.margin : ''} class={known && costs.margin < 0 ? 'negative' : undefined}>
          {known ? usd(costs.margin, language) : '—'}
        </td>
      </>
    );
  };
  const cell = (b: UsageBucket) => {
    const label = props.labelOf ? props.labelOf(b.key) : b.key;
    const link = props.href?.(b.key);
    return link ? <a href={link}>{label}</a> : label;
  };
  return (
    <div class="table-wrap">
      <table class="usage-table" data-group={props.view.group_by}>
        <thead>
          <tr>
            <th>{props.keyLabel}</th>
            <th>{t.tasks}</th>
            <th class="optional">{t.completed}</th>
            <th class="optional">{t.failed}</th>
            <th class="optional">{t.cancelled}</th>
            <th class="optional">{t.outputSeconds}</th>
            <th>{t.spent}</th>
            {withCosts ? (
              <>
                <th class="optional">{t.upstreamCost}</th>
                <th>{t.margin}</th>
              </>
            ) : null}
          </tr>
        </thead>
        <tbody>
          {rows.map((b) => (
            <tr key={b.key} data-key={b.key} class={b.tasks === 0 ? 'zero' : undefined}>
              <td>{cell(b)}</td>
              <td>{count(b.tasks, language)}</td>
              <td class="optional">{count(b.completed, language)}</td>
              <td class="optional">{count(b.failed, language)}</td>
              <td class="optional">{count(b.cancelled, language)}</td>
              <td class="optional">{count(b.output_seconds, language)}</td>
              <td data-spent={b.spent}>{usd(b.spent, language)}</td>
              {costCells(b)}
            </tr>
          ))}
        </tbody>
      </table>
      {rows.length === 0 ? <Empty>{t.nothing}</Empty> : null}
      {empty > 0 ? (
        <div class="actions">
          <Button kind="ghost" onClick={() => setShowEmpty(!showEmpty)} aria-pressed={showEmpty} data-testid="toggle-empty-days">
            {showEmpty ? t.hideEmpty : fill(t.showEmpty, { n: empty })}
          </Button>
        </div>
      ) : null}
    </div>
  );
}

export const rangeText = (view: UsageView, language: UiLanguage): string =>
  language === 'zh' ? `${view.from} 至 ${view.to}（UTC）` : `${view.from} to ${view.to} (UTC)`;

/** A refused range names its field; the picker shows that one beside the field, not as a problem of the page. */
export const rangeRefused = (error: unknown): boolean => error instanceof ApiProblem && (error.param === 'from' || error.param === 'to');

/**
 * A usage screen below its heading (`#/usage`, `#/admin/usage`): the range and the grouping of the
 * table from the hash (`days=` or `from=&to=`, `group=`), the totals with the balance, a spend chart
 * per grouping (`groups`, the first the default) and the table of the one chosen. `fetch` asks the
 * screen's API for one grouping; `labelOf` / `hrefOf` name and link a grouping's keys (account ids).
 * `margins` (the operator's report, whose `fetch` answers `GET /admin/v1/usage`) adds the upstream
 * cost and margin to the totals and the table, what they count, and a margin chart per grouping of
 * its `groups`; `channels` says which channels declare a cost, when known.
 */
export function UsageReport<G extends UsageGroup>(props: {
  path: string;
  query: URLSearchParams;
  groups: readonly [G, ...G[]];
  fetch: (group: G, range: { from: string; to: string }, signal: AbortSignal) => Promise<UsageView>;
  labelOf?: Partial<Record<G, (key: string) => string>>;
  hrefOf?: Partial<Record<G, (key: string) => string | null>>;
  margins?: { groups: readonly G[]; channels?: CostChannels };
}) {
  const t = useText(text);
  const language = useLanguage();
  const range = rangeFromQuery(props.query);
  const asked = props.query.get('group') as G | null;
  const group: G = asked && props.groups.includes(asked) ? asked : props.groups[0];
  const { from, to } = rangeDates(range);
  const go = (next: { range?: UsageRange; group?: G }) => {
    const chosen = next.group ?? group;
    navigate(props.path, { ...rangeQuery(next.range ?? range), group: chosen === props.groups[0] ? undefined : chosen });
  };
  const usage = useLoad(
    async (signal) => {
      const views = await Promise.all(props.groups.map((g) => props.fetch(g, { from, to }, signal)));
      return new Map(props.groups.map((g, i) => [g, views[i]!]));
    },
    [from, to],
  );
  const views = usage.data;
  const first = views?.get(props.groups[0]);
  const table = views?.get(group);
  return (
    <div class="usage-report" data-loading={usage.loading ? 'true' : undefined}>
      <div class="usage-toolbar">
        <RangePicker range={range} onChange={(next) => go({ range: next })} error={usage.error} />
        {first ? <span class="muted usage-range">{rangeText(first, language)}</span> : null}
      </div>
      <Problem error={rangeRefused(usage.error) ? null : usage.error} />
      {first && table ? (
        <>
          <UsageStats view={first} balance costs={props.margins ? { channels: props.margins.channels } : undefined} />
          {props.margins && hasCosts(first) ? <CostNote channels={props.margins.channels} /> : null}
          <div class="grid two usage-charts">
            {props.groups.map((g) => (
              <Card key={g} title={t[`chart_${g}`]}>
                <SpendChart view={views?.get(g)} title={t[`chart_${g}`]} labelOf={props.labelOf?.[g]} />
              </Card>
            ))}
          </div>
          {props.margins && hasCosts(first) ? (
            <div class="grid two usage-charts margin-charts">
              {props.margins.groups.map((g) => {
                const view = views?.get(g);
                return (
                  <Card key={g} title={t[`margin_${g}`]}>
                    <MarginChart
                      view={view && hasCosts(view) ? view : undefined}
                      title={t[`margin_${g}`]}
                      labelOf={props.labelOf?.[g]}
                      channels={props.margins?.channels}
                    />
                  </Card>
                );
              })}
            </div>
          ) : null}
          <Card
            title={t.details}
            actions={
              <fieldset class="segmented">
                <legend class="visually-hidden">{t.groupBy}</legend>
                {props.groups.map((g) => (
                  <button key={g} type="button" data-group={g} aria-pressed={group === g} onClick={() => go({ group: g })}>
                    {t[`group_${g}`]}
                  </button>
                ))}
              </fieldset>
            }
          >
            <BucketTable
              view={table}
              keyLabel={t[`group_${group}`]}
              labelOf={props.labelOf?.[group]}
              href={props.hrefOf?.[group]}
              costs={props.margins ? { channels: props.margins.channels } : undefined}
            />
          </Card>
        </>
      ) : usage.loading ? (
        <p class="muted">{t.loading}</p>
      ) : null}
    </div>
  );
}
