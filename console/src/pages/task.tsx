import { useState } from 'preact/hooks';
import { call } from '../api.js';
import { isFinal, TaskProgress, TaskResult, useLiveTask } from '../components/task-live.js';
import { Button, Card, Empty, Problem } from '../components/ui.js';
import { dateTime, seconds, usd } from '../format.js';
import { defineText, useLanguage, useText } from '../i18n.js';
import { href, navigate } from '../router.js';
import { announceBalanceChange } from '../session.js';
import type { Task, TaskRequest } from '../types.js';
import './task.css';

const text = defineText({
  en: {
    title: 'Task',
    loading: 'Loading the task…',
    back: '← History',
    runAgain: 'Run again',
    runAgainHint: 'Submits the same request again (same seed: the same video), at its price.',
    edit: 'Edit in playground',
    running: 'Submitting…',
    request: 'Request',
    model: 'Model',
    prompt: 'Prompt',
    resolution: 'Resolution',
    size: 'Aspect ratio',
    duration: 'Duration',
    seed: 'Seed',
    audio: 'Generate audio',
    lastFrame: 'Return last frame',
    webSearch: 'Web search',
    inputs: 'Inputs',
    none: 'none',
    yes: 'yes',
    no: 'no',
    first_frame: 'first frame',
    last_frame: 'last frame',
    reference_image: 'reference image',
    reference_video: 'reference video',
    reference_audio: 'reference audio',
    image: 'image',
    timings: 'Timings',
    created: 'Created',
    started: 'Started',
    finished: 'Finished',
    queued: 'Queued',
    run: 'Run',
    estimated: 'Estimated',
    actual: 'Actual (submit to completion)',
    notYet: 'not yet',
    cost: 'Cost',
    credits: 'Credits',
    costPending: 'reserved while it runs; refunded in full if it fails or is cancelled',
    refunded: 'refunded',
    raw: 'Raw JSON',
    noRequest: 'This server does not show the request (include=request).',
  },
  zh: {
    title: '任务',
    loading: '正在加载任务…',
    back: '← 历史任务',
    runAgain: '再次运行',
    runAgainHint: '再次提交相同的请求（相同种子，生成相同视频），按其价格计费。',
    edit: '在试用页编辑',
    running: '正在提交…',
    request: '请求',
    model: '模型',
    prompt: '提示词',
    resolution: '分辨率',
    size: '画面比例',
    duration: '时长',
    seed: '随机种子',
    audio: '生成音频',
    lastFrame: '返回尾帧',
    webSearch: '联网搜索',
    inputs: '输入素材',
    none: '无',
    yes: '是',
    no: '否',
    first_frame: '首帧',
    last_frame: '尾帧',
    reference_image: '参考图片',
    reference_video: '参考视频',
    reference_audio: '参考音频',
    image: '图片',
    timings: '耗时',
    created: '创建时间',
    started: '开始时间',
    finished: '结束时间',
    queued: '排队',
    run: '运行',
    estimated: '预计',
    actual: '实际（提交到完成）',
    notYet: '尚未',
    cost: '费用',
    credits: '点数',
    costPending: '运行期间预扣；失败或取消时全额退回',
    refunded: '已退回',
    raw: '原始 JSON',
    noRequest: '此服务器不提供请求内容（include=request）。',
  },
});

type Role = 'first_frame' | 'last_frame' | 'reference_image' | 'reference_video' | 'reference_audio' | 'image';

/** Every input of a request with what it is used as. */
export function inputsOf(request: TaskRequest): Array<{ role: Role; url: string }> {
  const inputs: Array<{ role: Role; url: string }> = [];
  const plain = request.image_urls ?? [];
  const alone = plain.length === 1 && !request.video_urls?.length && !request.audio_urls?.length;
  for (const url of plain) inputs.push({ role: alone ? 'first_frame' : 'reference_image', url });
  for (const item of request.image_with_roles ?? []) inputs.push({ role: item.role as Role, url: item.url });
  for (const url of request.video_urls ?? []) inputs.push({ role: 'reference_video', url });
  for (const url of request.audio_urls ?? []) inputs.push({ role: 'reference_audio', url });
  return inputs;
}

export function TaskPage(props: { id: string }) {
  const t = useText(text);
  const language = useLanguage();
  const live = useLiveTask(props.id);
  const [running, setRunning] = useState(false);
  const [problem, setProblem] = useState<unknown>(null);
  const task = live.task;
  if (!task) return live.error ? <Problem error={live.error} /> : <Empty>{t.loading}</Empty>;

  const runAgain = async () => {
    if (!task.request) return;
    setRunning(true);
    setProblem(null);
    try {
      // The request as stored is a valid submit body (with the seed the render used).
      const answer = await call<{ data: Array<{ task_id: string }> }>('/v1/videos/generations', { method: 'POST', body: task.request });
      announceBalanceChange();
      const id = answer.data[0]?.task_id;
      if (id) navigate(`/tasks/${id}`);
    } catch (err) {
      setProblem(err);
    } finally {
      setRunning(false);
    }
  };

  return (
    <div class="task-page" data-task-id={task.id}>
      <div class="task-page-head">
        <a href={href('/history')}>{t.back}</a>
        <h1>
          {t.title} <span class="mono">{task.id}</span>
        </h1>
      </div>
      <div class="grid two">
        <div>
          <Card
            actions={
              <>
                <Button kind="secondary" onClick={runAgain} disabled={running || !task.request} title={t.runAgainHint} data-testid="run-again">
                  {running ? t.running : t.runAgain}
                </Button>
                <a class="btn btn-ghost" href={href('/playground', { from: task.id })} data-testid="edit-in-playground">
                  {t.edit}
                </a>
              </>
            }
          >
            <TaskProgress task={task} via={live.via} onChanged={() => void live.refresh()} />
            <TaskResult task={task} />
            <Problem error={problem} />
            {live.error ? <Problem error={live.error} /> : null}
          </Card>
        </div>
        <div>
          <RequestCard task={task} />
          <TimingsCard task={task} />
          <Card title={t.cost}>
            <dl class="facts">
              <dt>{t.cost}</dt>
              <dd data-testid="task-cost" data-usd={task.cost}>
                {usd(task.cost, language)}
                {!isFinal(task.status) ? <small class="muted"> · {t.costPending}</small> : null}
                {task.status === 'failed' || task.status === 'cancelled' ? <small class="muted"> · {t.refunded}</small> : null}
              </dd>
              <dt>{t.credits}</dt>
              <dd>{task.credits_cost}</dd>
            </dl>
          </Card>
        </div>
      </div>
      <details class="card raw-json">
        <summary>{t.raw}</summary>
        <pre class="json" data-testid="raw-json">
          {JSON.stringify(task, null, 2)}
        </pre>
      </details>
    </div>
  );
}

function RequestCard(props: { task: Task }) {
  const t = useText(text);
  const request = props.task.request;
  if (!request)
    return (
      <Card title={t.request}>
        <p class="muted">{t.noRequest}</p>
      </Card>
    );
  const yesNo = (value: boolean | undefined) => (value ? t.yes : t.no);
  const inputs = inputsOf(request);
  const webSearch = (request.tools ?? []).some((tool) => tool.type === 'web_search');
  return (
    <Card title={t.request}>
      <dl class="facts" data-testid="task-request">
        <dt>{t.model}</dt>
        <dd>{request.model}</dd>
        <dt>{t.prompt}</dt>
        <dd class="prompt-text">{request.prompt || <span class="muted">{t.none}</span>}</dd>
        <dt>{t.resolution}</dt>
        <dd>{request.resolution}</dd>
        <dt>{t.size}</dt>
        <dd>{request.size}</dd>
        <dt>{t.duration}</dt>
        <dd>{request.duration} s</dd>
        <dt>{t.seed}</dt>
        <dd class="mono">{request.seed}</dd>
        <dt>{t.audio}</dt>
        <dd>{yesNo(request.generate_audio)}</dd>
        <dt>{t.lastFrame}</dt>
        <dd>{yesNo(request.return_last_frame)}</dd>
        <dt>{t.webSearch}</dt>
        <dd>{yesNo(webSearch)}</dd>
        <dt>{t.inputs}</dt>
        <dd>
          {inputs.length === 0 ? (
            <span class="muted">{t.none}</span>
          ) : (
            <ul class="inputs" data-testid="task-inputs">
              {inputs.map((input) => (
                <li key={`${input.role}:${input.url}`} data-role={input.role}>
                  <span class="badge">{t[input.role]}</span>{' '}
                  {input.url.startsWith('asset://') ? (
                    <span class="mono">{input.url}</span>
                  ) : (
                    <a class="mono" href={input.url} target="_blank" rel="noreferrer">
                      {shorten(input.url)}
                    </a>
                  )}
                </li>
              ))}
            </ul>
          )}
        </dd>
      </dl>
    </Card>
  );
}

/** A long signed URL, short enough to read: its path's last part. */
const shorten = (url: string) => {
  try {
    const parsed = new URL(url);
    const name = parsed.pathname.split('/').filter(Boolean).pop() ?? '';
    return `${parsed.host}/…/${name}`;
  } catch {
    return url;
  }
};

function TimingsCard(props: { task: Task }) {
  const t = useText(text);
  const language = useLanguage();
  const { task } = props;
  const timings = task.timings;
  const at = (value: number | null | undefined) => (value === null || value === undefined ? <span class="muted">{t.notYet}</span> : dateTime(value, language));
  return (
    <Card title={t.timings}>
      <dl class="facts" data-testid="task-timings">
        <dt>{t.created}</dt>
        <dd>{dateTime(task.created, language)}</dd>
        <dt>{t.started}</dt>
        <dd>{at(timings?.started)}</dd>
        <dt>{t.finished}</dt>
        <dd>{at(timings?.finished ?? task.completed)}</dd>
        <dt>{t.queued}</dt>
        <dd>{seconds(timings?.queued_seconds, language)}</dd>
        <dt>{t.run}</dt>
        <dd>{seconds(timings?.run_seconds, language)}</dd>
        <dt>{t.estimated}</dt>
        <dd>{seconds(task.estimated_time, language)}</dd>
        <dt>{t.actual}</dt>
        <dd data-testid="actual-time">{seconds(task.actual_time, language)}</dd>
      </dl>
    </Card>
  );
}
