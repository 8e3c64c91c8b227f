/**
 * Why a task failed, as stored: a code, parameters and an English detail. The message a client reads
 * is rendered at read time in the language it asks for (README: API `language`).
 */
export const LANGUAGES = ['en', 'zh', 'ko', 'ja'] as const;
export type Language = (typeof LANGUAGES)[number];

export type FailureCode =
  | 'render_failed'
  | 'attempts_exhausted'
  | 'run_crashed'
  | 'unsupported_input'
  | 'invalid_media'
  | 'media_fetch_failed'
  | 'provider_error'
  | 'timeout'
  | 'cancelled_upstream'
  | 'internal_error';

export interface TaskFailure {
  code: FailureCode;
  /** Values substituted into the message templates; `detail` is free English text from a tool or upstream. */
  params: Record<string, string | number>;
}

type Templates = Record<Language, string>;

const TEMPLATES: Record<FailureCode, Templates> = {
  render_failed: {
    en: 'Video rendering failed: {detail}',
    zh: '视频渲染失败：{detail}',
    ko: '동영상 렌더링에 실패했습니다: {detail}',
    ja: '動画のレンダリングに失敗しました: {detail}',
  },
  attempts_exhausted: {
    en: 'The task was interrupted {attempts} times and has been given up',
    zh: '任务被中断 {attempts} 次，已放弃',
    ko: '작업이 {attempts}번 중단되어 포기되었습니다',
    ja: 'タスクは {attempts} 回中断されたため中止されました',
  },
  run_crashed: {
    en: 'The task stopped the server twice while it ran (the second time on its own), so it has been given up and not charged',
    zh: '该任务运行时两次导致服务中断（第二次为单独运行），已放弃且不收费',
    ko: '작업이 실행 중 서버를 두 번 중단시켜(두 번째는 단독 실행) 포기되었으며 요금은 청구되지 않았습니다',
    ja: 'タスクの実行中にサーバーが 2 回停止したため（2 回目は単独実行）、タスクは中止され、料金は請求されません',
  },
  unsupported_input: {
    en: '{field} cannot be used by this provider yet: {detail}',
    zh: '此提供方暂不支持 {field}：{detail}',
    ko: '이 제공자는 아직 {field}을(를) 사용할 수 없습니다: {detail}',
    ja: 'このプロバイダーはまだ {field} を使用できません: {detail}',
  },
  invalid_media: {
    en: '{field} does not meet the media rules: {detail}',
    zh: '{field} 不符合媒体要求：{detail}',
    ko: '{field}이(가) 미디어 규칙을 충족하지 않습니다: {detail}',
    ja: '{field} はメディアの要件を満たしていません: {detail}',
  },
  media_fetch_failed: {
    en: '{field} could not be fetched: {detail}',
    zh: '无法获取 {field}：{detail}',
    ko: '{field}을(를) 가져올 수 없습니다: {detail}',
    ja: '{field} を取得できませんでした: {detail}',
  },
  provider_error: {
    en: 'The video provider rejected the task: {detail}',
    zh: '视频服务商拒绝了该任务：{detail}',
    ko: '동영상 제공자가 작업을 거부했습니다: {detail}',
    ja: '動画プロバイダーがタスクを拒否しました: {detail}',
  },
  timeout: {
    en: 'The task did not finish within {seconds} seconds',
    zh: '任务未在 {seconds} 秒内完成',
    ko: '작업이 {seconds}초 안에 완료되지 않았습니다',
    ja: 'タスクは {seconds} 秒以内に完了しませんでした',
  },
  cancelled_upstream: {
    en: 'The video provider cancelled the task: {detail}',
    zh: '视频服务商取消了该任务：{detail}',
    ko: '동영상 제공자가 작업을 취소했습니다: {detail}',
    ja: '動画プロバイダーがタスクをキャンセルしました: {detail}',
  },
  internal_error: {
    en: 'Internal error while processing the task, please try again later',
    zh: '处理任务时发生内部错误，请稍后重试',
    ko: '작업 처리 중 내부 오류가 발생했습니다. 잠시 후 다시 시도하세요',
    ja: 'タスクの処理中に内部エラーが発生しました。しばらくしてから再試行してください',
  },
};

const CLIENT_CAUSED: ReadonlySet<FailureCode> = new Set(['invalid_media', 'media_fetch_failed', 'unsupported_input', 'provider_error']);

export function failureType(code: FailureCode): 'invalid_request_error' | 'server_error' {
  return CLIENT_CAUSED.has(code) ? 'invalid_request_error' : 'server_error';
}

export function failureMessage(failure: TaskFailure, language: Language = 'en'): string {
  const template = TEMPLATES[failure.code]?.[language] ?? TEMPLATES.internal_error[language];
  return template.replace(/\{(\w+)\}/g, (_, name: string) => String(failure.params[name] ?? ''));
}

/** A local path: absolute (after a delimiter, so a URL's path is not one), or relative with two separators or more. */
const LOCAL_PATH = /(^|[\s'"`(=[,])(?:file:)?\/[^\s'"`)\],;:]*|(?<![\w/:.@-])(?:\.{1,2}\/)?[\w.-]+(?:\/[\w.-]+){2,}/g;
const MAX_DETAIL_CHARS = 300;

/**
 * The part of an unexpected error's message a client may read in a task's error: its first line,
 * with local paths taken out and cut short. Tools' raw output and the paths of this server's
 * files belong to the log, which gets the whole error.
 */
export function clientSafeDetail(message: string): string {
  const firstLine = message.split('\n', 1)[0]!.trim();
  const cleaned = firstLine.replace(LOCAL_PATH, (_path, before: string | undefined) => `${before ?? ''}…`);
  return cleaned.length > MAX_DETAIL_CHARS ? `${cleaned.slice(0, MAX_DETAIL_CHARS)}…` : cleaned || 'an unexpected error';
}

/** A failure that is the task's own (bad input, refused by upstream): it ends the task without retry. */
export class TaskFailureError extends Error {
  constructor(readonly failure: TaskFailure) {
    super(`${failure.code}: ${JSON.stringify(failure.params)}`);
    this.name = 'TaskFailureError';
  }
}
