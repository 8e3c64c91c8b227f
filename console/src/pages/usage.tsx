import { call } from '../api.js';
import type { UsageView } from '../admin-types.js';
import { UsageReport } from '../components/usage-panel.js';
import { defineText, useText } from '../i18n.js';

const text = defineText({
  en: {
    title: 'Usage',
    intro: "Tasks of this key's account created in the range, by UTC day of creation, and what they cost.",
  },
  zh: {
    title: '用量',
    intro: '此密钥所属账户在所选范围内创建的任务（按创建时的 UTC 日期），以及它们的花费。',
  },
});

const GROUPS = ['day', 'model'] as const;

/** `#/usage?days=7|30|90` or `?from=&to=`, and `group=day|model` for the table. */
export function Usage(props: { query: URLSearchParams }) {
  const t = useText(text);
  return (
    <div class="usage-page">
      <h1>{t.title}</h1>
      <p class="muted">{t.intro}</p>
      <UsageReport
        path="/usage"
        query={props.query}
        groups={GROUPS}
        fetch={(group_by, range, signal) => call<{ data: UsageView }>('/v1/usage', { query: { ...range, group_by }, signal }).then((r) => r.data)}
      />
    </div>
  );
}
