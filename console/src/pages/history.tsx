import { useEffect, useState } from 'preact/hooks';
import { call } from '../api.js';
import { isFinal, useStatusLabel } from '../components/task-live.js';
import { Button, Card, Empty, LoadMore, Problem, StatusBadge } from '../components/ui.js';
import { dateTime, excerpt, usd } from '../format.js';
import { useLoad, usePagedList } from '../hooks.js';
import { defineText, fill, useLanguage, useText } from '../i18n.js';
import { href, navigate } from '../router.js';
import type { Model, Task, TaskList, TaskStatus } from '../types.js';
import './history.css';

const text = defineText({
  en: {
    title: 'History',
    intro: "This account's tasks, newest first.",
    status: 'Status',
    model: 'Model',
    from: 'From',
    to: 'To',
    all: 'All',
    clear: 'Clear filters',
    refresh: 'Refresh',
    preview: 'Preview',
    prompt: 'Prompt',
    output: 'Output',
    cost: 'Cost',
    created: 'Created',
    loading: 'Loading…',
    loadMore: 'Load more',
    none: 'No tasks yet. Generate one in the playground.',
    noneFiltered: 'No task matches these filters.',
    noPrompt: '(no prompt)',
    shown: '{n} shown',
    newVideo: 'New video',
  },
  zh: {
    title: '历史任务',
    intro: '本账户的任务，最新的在前。',
    status: '状态',
    model: '模型',
    from: '开始日期',
    to: '结束日期',
    all: '全部',
    clear: '清除筛选',
    refresh: '刷新',
    preview: '预览',
    prompt: '提示词',
    output: '输出',
    cost: '费用',
    created: '创建时间',
    loading: '正在加载…',
    loadMore: '加载更多',
    none: '还没有任务。去试用页生成一个吧。',
    noneFiltered: '没有符合筛选条件的任务。',
    noPrompt: '（无提示词）',
    shown: '已显示 {n} 个',
    newVideo: '生成新视频',
  },
});

const STATUSES: TaskStatus[] = ['pending', 'processing', 'completed', 'failed', 'cancelled'];
const PAGE = 20;
const POLL_MS = 2000;

export interface Filters {
  status: string;
  model: string;
  /** Local days, YYYY-MM-DD. */
  from: string;
  to: string;
  /** Tasks a page (1–100), default 20. */
  limit: string;
}

const filtersOf = (query: URLSearchParams): Filters => ({
  status: query.get('status') ?? '',
  model: query.get('model') ?? '',
  from: query.get('from') ?? '',
  to: query.get('to') ?? '',
  limit: query.get('limit') ?? '',
});

/** The unix second a local day starts at; `next` for the one after it. */
function dayStart(day: string, next = false): number | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!match) return undefined;
  return Math.floor(new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3]) + (next ? 1 : 0)).getTime() / 1000);
}

/** GET /v1/tasks with the filters: the dates are the user's local days, sent as unix seconds (both bounds inclusive). */
export function listQuery(filters: Filters, after?: string | number) {
  const until = dayStart(filters.to, true);
  const limit = Number(filters.limit);
  return {
    limit: Number.isInteger(limit) && limit >= 1 && limit <= 100 ? limit : PAGE,
    after,
    status: filters.status || undefined,
    model: filters.model || undefined,
    created_after: dayStart(filters.from),
    created_before: until === undefined ? undefined : until - 1,
    include: 'request',
  };
}

export function History(props: { query: URLSearchParams }) {
  const t = useText(text);
  const language = useLanguage();
  const label = useStatusLabel();
  const filters = filtersOf(props.query);
  const key = JSON.stringify(filters);
  const models = useLoad((signal) => call<{ data: Model[] }>('/v1/models', { signal }).then((r) => r.data), []);
  const listing = usePagedList((after, signal) => call<TaskList>('/v1/tasks', { query: listQuery(filters, after), signal }), [key]);
  const tasks = listing.items;

  // Unfinished tasks in view are read again every 2 s until they finish.
  const unfinished = tasks.filter((task) => !isFinal(task.status)).map((task) => task.id);
  const watching = unfinished.slice(0, 10).join(',');
  useEffect(() => {
    if (!watching) return;
    const controller = new AbortController();
    const timer = setInterval(() => {
      for (const id of watching.split(',')) {
        call<{ data: Task }>(`/v1/tasks/${encodeURIComponent(id)}`, { query: { include: 'request', language }, signal: controller.signal })
          .then((answer) => listing.update((list) => list.map((task) => (task.id === id ? answer.data : task))))
          .catch(() => undefined);
      }
    }, POLL_MS);
    return () => {
      clearInterval(timer);
      controller.abort();
    };
  }, [watching, language]);

  const setFilter = (change: Partial<Filters>) => {
    const next = { ...filters, ...change };
    navigate('/history', { status: next.status, model: next.model, from: next.from, to: next.to, limit: next.limit });
  };
  const filtered = Boolean(filters.status || filters.model || filters.from || filters.to);

  return (
    <div class="history">
      <div class="history-head">
        <div>
          <h1>{t.title}</h1>
          <p class="muted">{t.intro}</p>
        </div>
        <a class="btn btn-primary" href={href('/playground')}>
          {t.newVideo}
        </a>
      </div>
      <Card>
        <form class="fields history-filters" onSubmit={(e) => e.preventDefault()} aria-label={t.title}>
          <label class="filter">
            <span class="label">{t.status}</span>
            <select name="status" value={filters.status} onChange={(e) => setFilter({ status: e.currentTarget.value })}>
              <option value="">{t.all}</option>
              {STATUSES.map((status) => (
                <option key={status} value={status}>
                  {label(status)}
                </option>
              ))}
            </select>
          </label>
          <label class="filter">
            <span class="label">{t.model}</span>
            <select name="model" value={filters.model} onChange={(e) => setFilter({ model: e.currentTarget.value })}>
              <option value="">{t.all}</option>
              {(models.data ?? []).map((m) => (
                <option key={m.id} value={m.id}>
                  {m.id}
                </option>
              ))}
              {filters.model && !(models.data ?? []).some((m) => m.id === filters.model) ? <option value={filters.model}>{filters.model}</option> : null}
            </select>
          </label>
          <label class="filter">
            <span class="label">{t.from}</span>
            <input type="date" name="from" value={filters.from} max={filters.to || undefined} onChange={(e) => setFilter({ from: e.currentTarget.value })} />
          </label>
          <label class="filter">
            <span class="label">{t.to}</span>
            <input type="date" name="to" value={filters.to} min={filters.from || undefined} onChange={(e) => setFilter({ to: e.currentTarget.value })} />
          </label>
          <div class="actions filter-actions">
            {filtered ? (
              <Button kind="ghost" onClick={() => navigate('/history', { limit: filters.limit })} data-testid="clear-filters">
                {t.clear}
              </Button>
            ) : null}
            <Button onClick={listing.reload} data-testid="refresh">
              {t.refresh}
            </Button>
          </div>
        </form>
        <Problem error={listing.error} />
        {tasks.length === 0 ? (
          listing.loading ? (
            <Empty>{t.loading}</Empty>
          ) : listing.error ? null : (
            <Empty>{filtered ? t.noneFiltered : t.none}</Empty>
          )
        ) : (
          <div class="table-wrap">
            <table class="history-table" data-testid="history" data-loading={listing.loading ? 'true' : undefined}>
              <thead>
                <tr>
                  <th>{t.preview}</th>
                  <th>{t.prompt}</th>
                  <th>{t.status}</th>
                  <th class="optional">{t.model}</th>
                  <th class="optional">{t.output}</th>
                  <th>{t.cost}</th>
                  <th class="optional">{t.created}</th>
                </tr>
              </thead>
              <tbody>
                {tasks.map((task) => (
                  <tr key={task.id} data-task-id={task.id} data-status={task.status}>
                    <td class="thumb-cell">
                      <a href={href(`/tasks/${task.id}`)} tabIndex={-1} aria-label={task.id}>
                        <Thumbnail task={task} />
                      </a>
                    </td>
                    <td class="prompt-cell">
                      <a href={href(`/tasks/${task.id}`)} data-testid="task-link">
                        {excerpt(task.request?.prompt) || <span class="muted">{t.noPrompt}</span>}
                      </a>
                      <small class="mono muted task-id">{task.id}</small>
                    </td>
                    <td class="status-cell">
                      <StatusBadge status={task.status} label={isFinal(task.status) ? label(task.status) : `${label(task.status)} ${task.progress}%`} />
                    </td>
                    <td class="optional">{task.request?.model ?? '—'}</td>
                    <td class="optional">{task.request ? `${task.request.resolution} · ${task.request.size} · ${task.request.duration} s` : '—'}</td>
                    <td class="cost-cell" data-usd={task.cost}>
                      {usd(task.cost, language)}
                    </td>
                    <td class="optional">{dateTime(task.created, language)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <div class="actions history-foot">
          {tasks.length > 0 ? <span class="muted">{fill(t.shown, { n: tasks.length })}</span> : null}
          <LoadMore list={listing} label={t.loadMore} busyLabel={t.loading} />
        </div>
      </Card>
    </div>
  );
}

/** The last frame when there is one, else the video's first frame; nothing for unfinished or failed tasks. */
function Thumbnail(props: { task: Task }) {
  const [broken, setBroken] = useState(false);
  const { task } = props;
  if (task.status !== 'completed' || !task.result || broken) return <span class="thumb thumb-empty" />;
  if (task.result.last_frame_url) return <img class="thumb" src={task.result.last_frame_url} alt="" loading="lazy" onError={() => setBroken(true)} />;
  const url = task.result.videos[0]?.url[0];
  if (!url) return <span class="thumb thumb-empty" />;
  return <video class="thumb" src={url} preload="metadata" muted playsinline onError={() => setBroken(true)} />;
}
