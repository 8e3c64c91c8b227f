import { useState } from 'preact/hooks';
import { call } from '../../api.js';
import type { ChannelList } from '../../admin-types.js';
import { Button, Card, Empty, Problem } from '../../components/ui.js';
import { count, seconds } from '../../format.js';
import { useLoad } from '../../hooks.js';
import { defineText, fill, useLanguage, useText } from '../../i18n.js';
import { percent, StateBadge } from './parts.js';

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
  },
});

const WINDOWS = [
  [900, 'm15'],
  [3600, 'h1'],
  [86_400, 'h24'],
  [604_800, 'd7'],
] as const;

/** `#/admin/channels`: each channel's tasks in flight, error rate, p50/p95 time to completion, state. */
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
                  >
                    <td>
                      <strong>{c.name}</strong>
                      <div class="muted small">{c.provider}</div>
                    </td>
                    <td>
                      <StateBadge state={c.state} label={t[c.state]} />
                      {c.state_reason ? <div class="muted small state-reason">{c.state_reason}</div> : null}
                    </td>
                    <td data-cell="in-flight">
                      {fill(t.inFlightOf, {
                        pending: count(c.in_flight.pending, language),
                        processing: count(c.in_flight.processing, language),
                        max: count(c.max_in_flight, language),
                      })}
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
