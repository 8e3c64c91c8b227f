import { ApiProblem, call } from '../api.js';
import type { UsageView } from '../admin-types.js';
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
} from '../components/usage-panel.js';
import { Card, Problem } from '../components/ui.js';
import { useLoad } from '../hooks.js';
import { defineText, useLanguage, useText } from '../i18n.js';
import { navigate } from '../router.js';

const text = defineText({
  en: {
    title: 'Usage',
    intro: "Tasks of this key's account created in the range, by UTC day of creation, and what they cost.",
    byDay: 'Spend per day',
    byModel: 'Spend per model',
    buckets: 'Details',
    group: 'Group by',
    day: 'Day',
    model: 'Model',
    loading: 'Loading…',
  },
  zh: {
    title: '用量',
    intro: '此密钥所属账户在所选范围内创建的任务（按创建时的 UTC 日期），以及它们的花费。',
    byDay: '每日花费',
    byModel: '各模型花费',
    buckets: '明细',
    group: '分组',
    day: '按天',
    model: '按模型',
    loading: '正在加载…',
  },
});

type Group = 'day' | 'model';

/** A refused range names its field; the picker shows that one beside the field. */
export const fieldError = (error: unknown): boolean => error instanceof ApiProblem && (error.param === 'from' || error.param === 'to');

/** `#/usage?days=7|30|90` or `?from=&to=`, and `group=day|model` for the table. */
export function Usage(props: { query: URLSearchParams }) {
  const t = useText(text);
  const language = useLanguage();
  const range = rangeFromQuery(props.query);
  const group: Group = props.query.get('group') === 'model' ? 'model' : 'day';
  const { from, to } = rangeDates(range);
  const go = (next: { range?: UsageRange; group?: Group }) =>
    navigate('/usage', { ...rangeQuery(next.range ?? range), group: (next.group ?? group) === 'day' ? undefined : 'model' });

  const loaded = useLoad(
    async (signal) => {
      const ask = (group_by: Group) => call<{ data: UsageView }>('/v1/usage', { query: { from, to, group_by }, signal }).then((r) => r.data);
      const [day, model] = await Promise.all([ask('day'), ask('model')]);
      return { day, model };
    },
    [from, to],
  );
  const data = loaded.data;
  const table = data ? data[group] : undefined;

  return (
    <div class="usage-page" data-loading={loaded.loading ? 'true' : undefined}>
      <h1>{t.title}</h1>
      <p class="muted">{t.intro}</p>
      <div class="usage-toolbar">
        <RangePicker range={range} onChange={(next) => go({ range: next })} error={loaded.error} />
        {data ? <span class="muted usage-range">{rangeText(data.day, language)}</span> : null}
      </div>
      <Problem error={fieldError(loaded.error) ? null : loaded.error} />
      {data ? (
        <>
          <UsageStats view={data.day} balance />
          <div class="grid two usage-charts">
            <Card title={t.byDay}>
              <SpendChart view={data.day} title={t.byDay} />
            </Card>
            <Card title={t.byModel}>
              <SpendChart view={data.model} title={t.byModel} />
            </Card>
          </div>
          <Card
            title={t.buckets}
            actions={
              <fieldset class="segmented">
                <legend class="visually-hidden">{t.group}</legend>
                {(['day', 'model'] as const).map((g) => (
                  <button key={g} type="button" data-group={g} aria-pressed={group === g} onClick={() => go({ group: g })}>
                    {g === 'day' ? t.day : t.model}
                  </button>
                ))}
              </fieldset>
            }
          >
            {table ? <BucketTable view={table} keyLabel={group === 'day' ? t.day : t.model} /> : null}
          </Card>
        </>
      ) : loaded.loading ? (
        <p class="muted">{t.loading}</p>
      ) : null}
    </div>
  );
}
