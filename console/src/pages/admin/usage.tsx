import { call } from '../../api.js';
import type { AdminAccount, UsageGroup, UsageView } from '../../admin-types.js';
import { Card, Problem } from '../../components/ui.js';
import {
  BucketTable,
  RangePicker,
  rangeDates,
  rangeFromQuery,
  rangeQuery,
  rangeText,
  SpendChart,
  type UsageRange,
  UsageStats,
} from '../../components/usage-panel.js';
import { useLoad } from '../../hooks.js';
import { defineText, useLanguage, useText } from '../../i18n.js';
import { navigate } from '../../router.js';
import { fieldError } from '../usage.js';
import { accountHref } from './accounts.js';

const text = defineText({
  en: {
    title: 'Service usage',
    intro: 'Tasks of every account created in the range, by UTC day of creation, model, account and channel, and what they cost.',
    byDay: 'Spend per day',
    byModel: 'Spend per model',
    byAccount: 'Spend per account',
    byChannel: 'Spend per channel',
    details: 'Details',
    group: 'Group by',
    day: 'Day',
    model: 'Model',
    account: 'Account',
    channel: 'Channel',
    loading: 'Loading…',
  },
  zh: {
    title: '全站用量',
    intro: '所有账户在所选范围内创建的任务（按创建时的 UTC 日期、模型、账户和渠道），以及它们的花费。',
    byDay: '每日花费',
    byModel: '各模型花费',
    byAccount: '各账户花费',
    byChannel: '各渠道花费',
    details: '明细',
    group: '分组',
    day: '按天',
    model: '按模型',
    account: '按账户',
    channel: '按渠道',
    loading: '正在加载…',
  },
});

const GROUPS: UsageGroup[] = ['day', 'model', 'account', 'channel'];

/** `#/admin/usage?days=|from=&to=&group=`: the whole service's usage, four ways. */
export function AdminUsage(props: { query: URLSearchParams }) {
  const t = useText(text);
  const language = useLanguage();
  const range = rangeFromQuery(props.query);
  const groupParam = props.query.get('group') as UsageGroup | null;
  const group: UsageGroup = groupParam && GROUPS.includes(groupParam) ? groupParam : 'day';
  const { from, to } = rangeDates(range);
  const go = (next: { range?: UsageRange; group?: UsageGroup }) =>
    navigate('/admin/usage', { ...rangeQuery(next.range ?? range), group: (next.group ?? group) === 'day' ? undefined : (next.group ?? group) });

  const usage = useLoad(
    async (signal) => {
      const ask = (group_by: UsageGroup) =>
        call<{ data: UsageView }>('/admin/v1/usage', { as: 'admin', query: { from, to, group_by }, signal }).then((r) => r.data);
      const [day, model, account, channel] = await Promise.all(GROUPS.map(ask));
      return { day: day!, model: model!, account: account!, channel: channel! };
    },
    [from, to],
  );
  const accounts = useLoad(
    (signal) => call<{ data: AdminAccount[] }>('/admin/v1/accounts', { as: 'admin', query: { limit: 500 }, signal }).then((r) => r.data),
    [],
  );
  const names = new Map((accounts.data ?? []).map((a) => [a.id, a.name]));
  const nameCounts = new Map<string, number>();
  for (const name of names.values()) nameCounts.set(name, (nameCounts.get(name) ?? 0) + 1);
  // An account is shown by its name; by its id too when another account has the same name.
  const accountLabel = (id: string) => {
    const name = names.get(id);
    if (!name) return id;
    return (nameCounts.get(name) ?? 0) > 1 ? `${name} (${id})` : name;
  };
  const data = usage.data;
  const titles: Record<UsageGroup, string> = { day: t.byDay, model: t.byModel, account: t.byAccount, channel: t.byChannel };
  const groupNames: Record<UsageGroup, string> = { day: t.day, model: t.model, account: t.account, channel: t.channel };

  return (
    <div class="usage-page admin-page">
      <h1>{t.title}</h1>
      <p class="muted">{t.intro}</p>
      <div class="usage-toolbar">
        <RangePicker range={range} onChange={(next) => go({ range: next })} error={usage.error} />
        {data ? <span class="muted usage-range">{rangeText(data.day, language)}</span> : null}
      </div>
      <Problem error={fieldError(usage.error) ? null : usage.error} />
      {data ? (
        <>
          <UsageStats view={data.day} balance />
          <div class="grid two usage-charts">
            {GROUPS.map((g) => (
              <Card key={g} title={titles[g]}>
                <SpendChart view={data[g]} title={titles[g]} labelOf={g === 'account' ? accountLabel : undefined} />
              </Card>
            ))}
          </div>
          <Card
            title={t.details}
            actions={
              <fieldset class="segmented">
                <legend class="visually-hidden">{t.group}</legend>
                {GROUPS.map((g) => (
                  <button key={g} type="button" data-group={g} aria-pressed={group === g} onClick={() => go({ group: g })}>
                    {groupNames[g]}
                  </button>
                ))}
              </fieldset>
            }
          >
            <BucketTable
              view={data[group]}
              keyLabel={groupNames[group]}
              labelOf={group === 'account' ? accountLabel : undefined}
              href={group === 'account' ? accountHref : undefined}
            />
          </Card>
        </>
      ) : usage.loading ? (
        <p class="muted">{t.loading}</p>
      ) : null}
    </div>
  );
}
