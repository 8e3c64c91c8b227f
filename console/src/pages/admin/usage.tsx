import { call } from '../../api.js';
import type { AdminAccount, AdminUsageView, ChannelList, UsageGroup } from '../../admin-types.js';
import { type CostChannels, UsageReport } from '../../components/usage-panel.js';
import { useLoad } from '../../hooks.js';
import { defineText, useText } from '../../i18n.js';
import { accountHref } from './accounts.js';

const text = defineText({
  en: {
    title: 'Service usage',
    intro:
      'Tasks of every account created in the range, by UTC day of creation, model, account and channel, what they were charged, what the upstreams cost and the margin kept.',
  },
  zh: {
    title: '全站用量',
    intro: '所有账户在所选范围内创建的任务（按创建时的 UTC 日期、模型、账户和渠道），以及它们的花费、上游成本和毛利。',
  },
});

const GROUPS: readonly [UsageGroup, ...UsageGroup[]] = ['day', 'model', 'account', 'channel'];
/** The groupings with a margin chart. */
const MARGIN_GROUPS: readonly UsageGroup[] = ['day', 'channel'];

/**
 * `#/admin/usage?days=|from=&to=&group=`: the whole service's usage, four ways, with the operator's
 * upstream cost and margin; the channel list says which channels declare a cost (their margin is
 * known, the others' is —).
 */
export function AdminUsage(props: { query: URLSearchParams }) {
  const t = useText(text);
  const accounts = useLoad(
    (signal) => call<{ data: AdminAccount[] }>('/admin/v1/accounts', { as: 'admin', query: { limit: 500 }, signal }).then((r) => r.data),
    [],
  );
  const channels = useLoad((signal) => call<ChannelList>('/admin/v1/channels', { as: 'admin', signal }).then((r) => r.data), []);
  const costChannels: CostChannels | undefined = channels.data
    ? {
        declared: channels.data.filter((c) => c.cost !== null).map((c) => c.name),
        undeclared: channels.data.filter((c) => c.cost === null).map((c) => c.name),
      }
    : undefined;
  const names = new Map((accounts.data ?? []).map((a) => [a.id, a.name]));
  const nameCounts = new Map<string, number>();
  for (const name of names.values()) nameCounts.set(name, (nameCounts.get(name) ?? 0) + 1);
  // An account is shown by its name; by its id too when another account has the same name.
  const accountLabel = (id: string) => {
    const name = names.get(id);
    if (!name) return id;
    return (nameCounts.get(name) ?? 0) > 1 ? `${name} (${id})` : name;
  };
  return (
    <div class="usage-page admin-page">
      <h1>{t.title}</h1>
      <p class="muted">{t.intro}</p>
      <UsageReport
        path="/admin/usage"
        query={props.query}
        groups={GROUPS}
        fetch={(group_by, range, signal) =>
          call<{ data: AdminUsageView }>('/admin/v1/usage', { as: 'admin', query: { ...range, group_by }, signal }).then((r) => r.data)
        }
        labelOf={{ account: accountLabel }}
        hrefOf={{ account: accountHref }}
        margins={{ groups: MARGIN_GROUPS, channels: costChannels }}
      />
    </div>
  );
}
