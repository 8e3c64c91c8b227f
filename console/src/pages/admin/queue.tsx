import { useEffect, useState } from 'preact/hooks';
import { call } from '../../api.js';
import type { QueueView } from '../../admin-types.js';
import { Button, Card, Empty, Problem } from '../../components/ui.js';
import { count } from '../../format.js';
import { useLoad } from '../../hooks.js';
import { defineText, fill, useLanguage, useText } from '../../i18n.js';
import { age } from './parts.js';

const text = defineText({
  en: {
    title: 'Queue',
    intro: 'Unfinished tasks now, by channel and model. Read again every 5 seconds.',
    pending: 'Pending',
    processing: 'Processing',
    oldest: 'Oldest pending waited',
    byChannel: 'By channel',
    byModel: 'By channel and model',
    channel: 'Channel',
    model: 'Model',
    empty: 'Nothing is queued or running.',
    updated: 'Updated {time}',
    pause: 'Pause auto-refresh',
    resume: 'Resume auto-refresh',
    refresh: 'Refresh now',
  },
  zh: {
    title: '队列',
    intro: '当前未完成的任务，按渠道和模型统计。每 5 秒刷新一次。',
    pending: '排队中',
    processing: '生成中',
    oldest: '最早排队任务已等待',
    byChannel: '按渠道',
    byModel: '按渠道和模型',
    channel: '渠道',
    model: '模型',
    empty: '没有排队或进行中的任务。',
    updated: '更新于 {time}',
    pause: '暂停自动刷新',
    resume: '恢复自动刷新',
    refresh: '立即刷新',
  },
});

export const QUEUE_REFRESH_MS = 5000;

/** `#/admin/queue`: pending/processing by channel and model, the oldest pending age; read every 5 s. */
export function AdminQueue() {
  const t = useText(text);
  const language = useLanguage();
  const [auto, setAuto] = useState(true);
  const queue = useLoad((signal) => call<{ data: QueueView }>('/admin/v1/queue', { as: 'admin', signal }).then((r) => ({ view: r.data, at: Date.now() })), []);
  const { reload } = queue;
  useEffect(() => {
    if (!auto) return;
    const timer = setInterval(reload, QUEUE_REFRESH_MS);
    return () => clearInterval(timer);
  }, [auto, reload]);
  const q = queue.data?.view;
  const time = queue.data ? new Intl.DateTimeFormat(language === 'zh' ? 'zh-CN' : 'en-US', { timeStyle: 'medium' }).format(queue.data.at) : '';
  const updated = time ? fill(t.updated, { time }) : '';
  return (
    <div class="admin-page">
      <h1>{t.title}</h1>
      <p class="muted">{t.intro}</p>
      <div class="actions page-actions">
        <Button onClick={() => setAuto(!auto)} aria-pressed={auto} data-testid="auto-refresh">
          {auto ? t.pause : t.resume}
        </Button>
        <Button onClick={reload} disabled={queue.loading}>
          {t.refresh}
        </Button>
        <span class="muted" data-testid="queue-updated" data-at={queue.data?.at}>
          {updated}
        </span>
      </div>
      <Problem error={queue.error} />
      {q ? (
        <>
          <div class="grid stats queue-totals" data-testid="queue-totals">
            <div class="stat" data-stat="pending" data-value={q.pending}>
              <div class="name">{t.pending}</div>
              <div class="value">{count(q.pending, language)}</div>
            </div>
            <div class="stat" data-stat="processing" data-value={q.processing}>
              <div class="name">{t.processing}</div>
              <div class="value">{count(q.processing, language)}</div>
            </div>
            <div class="stat" data-stat="oldest" data-value={q.oldest_pending_age_seconds ?? ''}>
              <div class="name">{t.oldest}</div>
              <div class="value">{age(q.oldest_pending_age_seconds, language)}</div>
            </div>
          </div>
          <Card title={t.byChannel}>
            {q.by_channel.length === 0 ? (
              <Empty>{t.empty}</Empty>
            ) : (
              <div class="table-wrap">
                <table class="queue" data-testid="queue-channels">
                  <thead>
                    <tr>
                      <th>{t.channel}</th>
                      <th class="num">{t.pending}</th>
                      <th class="num">{t.processing}</th>
                      <th class="num">{t.oldest}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {q.by_channel.map((row) => (
                      <tr key={row.channel} data-channel={row.channel} data-pending={row.pending} data-processing={row.processing}>
                        <td>{row.channel}</td>
                        <td class="num">{count(row.pending, language)}</td>
                        <td class="num">{count(row.processing, language)}</td>
                        <td class="num">{age(row.oldest_pending_age_seconds, language)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </Card>
          <Card title={t.byModel}>
            {q.by_channel_model.length === 0 ? (
              <Empty>{t.empty}</Empty>
            ) : (
              <div class="table-wrap">
                <table class="queue" data-testid="queue-models">
                  <thead>
                    <tr>
                      <th>{t.channel}</th>
                      <th>{t.model}</th>
                      <th class="num">{t.pending}</th>
                      <th class="num">{t.processing}</th>
                      <th class="num optional">{t.oldest}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {q.by_channel_model.map((row) => (
                      <tr
                        key={`${row.channel}/${row.model}`}
                        data-channel={row.channel}
                        data-model={row.model}
                        data-pending={row.pending}
                        data-processing={row.processing}
                      >
                        <td>{row.channel}</td>
                        <td>{row.model}</td>
                        <td class="num">{count(row.pending, language)}</td>
                        <td class="num">{count(row.processing, language)}</td>
                        <td class="num optional">{age(row.oldest_pending_age_seconds, language)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </Card>
        </>
      ) : null}
    </div>
  );
}
