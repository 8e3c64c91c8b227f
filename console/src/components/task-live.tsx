import { useEffect, useState } from 'preact/hooks';
import { ApiProblem, call, followEvents } from '../api.js';
import { seconds } from '../format.js';
import { defineText, fill, type UiLanguage, useLanguage, useText } from '../i18n.js';
import { href } from '../router.js';
import { announceBalanceChange, useSession } from '../session.js';
import type { Task, TaskStatus } from '../types.js';
import { Button, Problem, ProgressBar, StatusBadge } from './ui.js';
import './task-live.css';

/**
 * What the playground and the task page share: following one task live (its event stream, else
 * polling), its progress with a cancel button, and its result with downloads and "continue".
 */

const text = defineText({
  en: {
    pending: 'Queued',
    processing: 'Generating',
    completed: 'Completed',
    failed: 'Failed',
    cancelled: 'Cancelled',
    progress: 'Progress',
    elapsed: '{elapsed} elapsed, about {estimate} expected',
    live: 'live',
    polling: 'checking every 2 s',
    cancel: 'Cancel',
    cancelling: 'Cancelling…',
    video: 'Video',
    lastFrame: 'Last frame',
    downloadVideo: 'Download MP4',
    downloadFrame: 'Download last frame (PNG)',
    downloading: 'Downloading…',
    continue: 'Continue from last frame',
    continueHint: 'Starts a new video whose first frame is this one, with the same model and settings.',
    noLastFrame: 'Turn on "Return last frame" to continue a video from its last frame.',
    expires: 'Links valid until {time}.',
    openTask: 'Task page',
  },
  zh: {
    pending: '排队中',
    processing: '生成中',
    completed: '已完成',
    failed: '失败',
    cancelled: '已取消',
    progress: '进度',
    elapsed: '已用 {elapsed}，预计约 {estimate}',
    live: '实时',
    polling: '每 2 秒查询一次',
    cancel: '取消',
    cancelling: '正在取消…',
    video: '视频',
    lastFrame: '尾帧',
    downloadVideo: '下载 MP4',
    downloadFrame: '下载尾帧（PNG）',
    downloading: '正在下载…',
    continue: '从尾帧继续生成',
    continueHint: '以这一帧为首帧生成新视频，沿用相同的模型和设置。',
    noLastFrame: '勾选“返回尾帧”后，即可从视频的尾帧继续生成。',
    expires: '链接有效期至 {time}。',
    openTask: '任务详情',
  },
});

export const isFinal = (status: TaskStatus): boolean => status === 'completed' || status === 'failed' || status === 'cancelled';

export function useStatusLabel(): (status: TaskStatus) => string {
  const t = useText(text);
  return (status) => t[status] ?? status;
}

/** The task with `request` and `timings`, its error in the UI's language. */
export async function getTask(id: string, language: UiLanguage, signal?: AbortSignal): Promise<Task> {
  const answer = await call<{ data: Task }>(`/v1/tasks/${encodeURIComponent(id)}`, { query: { include: 'request', language }, signal });
  return answer.data;
}

const pause = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });

export const POLL_MS = 2000;

export interface LiveTask {
  task: Task | null;
  error: unknown;
  /** How the task is followed while unfinished. */
  via: 'stream' | 'poll' | null;
  /** Reads the task again (after a cancel, say). */
  refresh(): Promise<void>;
}

/**
 * Follows a task: reads it (with its request and timings), then, until it is finished, its event
 * stream; if the stream is unavailable or ends before a final state, polls every 2 s. The final
 * state is read once more so that timings are complete.
 */
export function useLiveTask(id: string | null): LiveTask {
  const language = useLanguage();
  const [task, setTask] = useState<Task | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [via, setVia] = useState<'stream' | 'poll' | null>(null);

  useEffect(() => {
    setTask((current) => (current && current.id === id ? current : null));
    setError(null);
    setVia(null);
    if (!id) return;
    const controller = new AbortController();
    const { signal } = controller;
    const show = (next: Task) => {
      if (!signal.aborted) setTask(next);
    };
    const run = async () => {
      let current = await getTask(id, language, signal);
      show(current);
      if (isFinal(current.status)) return;
      setVia('stream');
      let sawFinal = false;
      try {
        // The server closes the stream after the final state; letting it do so (rather than
        // cancelling the body) leaves no aborted request behind.
        await followEvents<Task>(
          `/v1/tasks/${encodeURIComponent(id)}/events?language=${language}`,
          (state) => {
            current = { ...current, ...state };
            show(current);
            if (isFinal(state.status)) sawFinal = true;
            return false;
          },
          signal,
        );
      } catch (err) {
        if (signal.aborted) return;
        console.warn('task events unavailable, polling instead', err);
      }
      if (!sawFinal) {
        setVia('poll');
        while (!signal.aborted && !isFinal(current.status)) {
          await pause(POLL_MS, signal);
          if (signal.aborted) return;
          try {
            current = await getTask(id, language, signal);
            show(current);
            setError(null);
          } catch (err) {
            if (signal.aborted) return;
            setError(err);
            if (err instanceof ApiProblem && err.status >= 400 && err.status < 500 && err.status !== 429) return;
          }
        }
      }
      if (signal.aborted) return;
      setVia(null);
      show(await getTask(id, language, signal));
    };
    run().catch((err: unknown) => {
      if (!signal.aborted) {
        setError(err);
        setVia(null);
      }
    });
    return () => controller.abort();
  }, [id, language]);

  const refresh = async () => {
    if (!id) return;
    try {
      setTask(await getTask(id, language));
    } catch (err) {
      setError(err);
    }
  };
  return { task, error, via, refresh };
}

function useNow(active: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [active]);
  return now;
}

/** Status, live progress, the elapsed time against the estimate, the error, and cancel. */
export function TaskProgress(props: { task: Task; via: LiveTask['via']; onChanged?: () => void }) {
  const t = useText(text);
  const label = useStatusLabel();
  const language = useLanguage();
  const { task } = props;
  const running = !isFinal(task.status);
  const now = useNow(running);
  const [cancelling, setCancelling] = useState(false);
  const [problem, setProblem] = useState<unknown>(null);
  const cancel = async () => {
    setCancelling(true);
    setProblem(null);
    try {
      await call(`/v1/tasks/${encodeURIComponent(task.id)}/cancel`, { method: 'POST' });
    } catch (err) {
      setProblem(err);
    } finally {
      setCancelling(false);
      announceBalanceChange();
      props.onChanged?.();
    }
  };
  const elapsed = Math.max(0, Math.round(now / 1000 - task.created));
  return (
    <div class="task-progress" data-testid="task-progress" data-status={task.status}>
      <div class="task-progress-head">
        <StatusBadge status={task.status} label={label(task.status)} />
        {running ? (
          <span class="muted">
            {fill(t.elapsed, { elapsed: seconds(elapsed, language), estimate: seconds(task.estimated_time, language) })}
            {props.via ? ` · ${props.via === 'stream' ? t.live : t.polling}` : ''}
          </span>
        ) : null}
        {running ? (
          <Button kind="danger" onClick={cancel} disabled={cancelling} data-testid="cancel">
            {cancelling ? t.cancelling : t.cancel}
          </Button>
        ) : null}
      </div>
      {running || task.status === 'completed' ? <ProgressBar value={task.progress} label={t.progress} /> : null}
      {task.error ? (
        <p class="problem" role="alert" data-testid="task-error" data-code={task.error.code}>
          {task.error.message}
        </p>
      ) : null}
      <Problem error={problem} />
    </div>
  );
}

const problemOf = async (res: Response): Promise<ApiProblem> => {
  const body = (await res.json().catch(() => null)) as { error?: { message?: string; type?: string; param?: string } } | null;
  return new ApiProblem(res.status, body?.error?.message ?? `${res.status} ${res.statusText}`, body?.error?.type ?? 'api_error', body?.error?.param);
};

/**
 * Saves a result: `/v1/tasks/{id}/content` needs the key, so a plain link cannot fetch it; the file
 * is read as a blob with the key and handed to the browser under the task's own file name.
 */
export function DownloadButton(props: { task: Task; variant: 'video' | 'last_frame'; label: string; testId: string }) {
  const t = useText(text);
  const { session } = useSession();
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<unknown>(null);
  const save = async () => {
    setBusy(true);
    setProblem(null);
    try {
      const res = await fetch(`/v1/tasks/${encodeURIComponent(props.task.id)}/content?variant=${props.variant}`, {
        headers: { authorization: `Bearer ${session.key}` },
      });
      if (!res.ok) throw await problemOf(res);
      const blob = await res.blob();
      const url = URL.createObjectURL(blob);
      const link = document.createElement('a');
      link.href = url;
      link.download = `${props.task.id}${props.variant === 'video' ? '.mp4' : '_last_frame.png'}`;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (err) {
      setProblem(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <Button onClick={save} disabled={busy} data-testid={props.testId}>
        {busy ? t.downloading : props.label}
      </Button>
      {problem ? <Problem error={problem} /> : null}
    </>
  );
}

/** Where "continue from last frame" leads: the playground, this task's settings, its last frame as first frame. */
export const continueHref = (task: Task): string | null =>
  task.result?.last_frame_url ? href('/playground', { from: task.id, first_frame: task.result.last_frame_url }) : null;

/** The video playing inline, the last frame, downloads and "continue from last frame". */
export function TaskResult(props: { task: Task; showTaskLink?: boolean }) {
  const t = useText(text);
  const language = useLanguage();
  const { task } = props;
  if (task.status !== 'completed' || !task.result) return null;
  const video = task.result.videos[0];
  const videoUrl = video?.url[0];
  const lastFrame = task.result.last_frame_url;
  const next = continueHref(task);
  return (
    <div class="task-result" data-testid="task-result">
      {videoUrl ? <video class="result" src={videoUrl} controls autoplay muted playsinline data-testid="result-video" /> : null}
      <div class="actions result-actions">
        <DownloadButton task={task} variant="video" label={t.downloadVideo} testId="download-video" />
        {lastFrame ? <DownloadButton task={task} variant="last_frame" label={t.downloadFrame} testId="download-last-frame" /> : null}
        {next ? (
          <a class="btn btn-primary" href={next} data-testid="continue" title={t.continueHint}>
            {t.continue}
          </a>
        ) : null}
        {props.showTaskLink ? (
          <a class="btn btn-ghost" href={href(`/tasks/${task.id}`)} data-testid="open-task">
            {t.openTask}
          </a>
        ) : null}
      </div>
      {video ? (
        <small class="muted">{fill(t.expires, { time: new Date(video.expires_at * 1000).toLocaleString(language === 'zh' ? 'zh-CN' : 'en-US') })}</small>
      ) : null}
      {lastFrame ? (
        <figure class="last-frame">
          <figcaption class="muted">{t.lastFrame}</figcaption>
          <img class="frame" src={lastFrame} alt={t.lastFrame} data-testid="last-frame" />
        </figure>
      ) : (
        <small class="muted">{t.noLastFrame}</small>
      )}
    </div>
  );
}
