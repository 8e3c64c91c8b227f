import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { ApiProblem, call } from '../api.js';
import type { Asset, AssetList } from '../admin-types.js';
import { AssetPreview } from '../components/asset-preview.js';
import { getTask, TaskProgress, TaskResult, useLiveTask } from '../components/task-live.js';
import { Button, Card, Empty, Field, Problem } from '../components/ui.js';
import { count, usd } from '../format.js';
import { useLoad } from '../hooks.js';
import { defineText, fill, useLanguage, useText } from '../i18n.js';
import { quote } from '../pricing.js';
import { announceBalanceChange } from '../session.js';
import type { Model, TaskRequest } from '../types.js';
import './playground.css';

const text = defineText({
  en: {
    title: 'Playground',
    intro: 'Describe a video, pick what it starts from, and generate it. The price is shown before you submit.',
    mode: 'What the video starts from',
    modeText: 'Text only',
    modeFirst: 'First frame',
    modeFirstLast: 'First + last frame',
    modeReference: 'References',
    modeTextHint: 'The video is generated from the prompt alone.',
    modeFirstHint: 'The video starts from this image (image-to-video).',
    modeFirstLastHint: 'The video starts at the first image and ends at the last. Frames cannot be mixed with reference images, videos or audio.',
    modeReferenceHint:
      'Reference images (up to 9), videos (up to 3, 1.8–15.2 s in all, 480p–720p) and audio (up to 3, 15 s in all; needs an image or video too): at most 12 files.',
    prompt: 'Prompt',
    promptPlaceholder: 'A kitten yawning at the camera',
    promptCount: '{count} / {limit} characters',
    promptCountNoLimit: '{count} characters (no limit on this model)',
    promptRequired: 'Required without an image or video.',
    model: 'Model',
    resolution: 'Resolution',
    size: 'Aspect ratio',
    adaptive: 'adaptive (matches the input)',
    duration: 'Duration (s)',
    durationHint: '{min}–{max} s',
    seed: 'Seed',
    seedHint: 'Empty = random; the same seed renders the same video.',
    random: 'random',
    generateAudio: 'Generate audio',
    returnLastFrame: 'Return last frame',
    returnLastFrameHint: 'Needed to continue from the last frame.',
    webSearch: 'Web search',
    firstFrame: 'First frame',
    lastFrame: 'Last frame',
    referenceImages: 'Reference images',
    referenceVideos: 'Reference videos',
    referenceAudio: 'Reference audio',
    image: 'Image {n}',
    videoN: 'Video {n}',
    audioN: 'Audio {n}',
    addImage: '+ Image',
    addVideo: '+ Video',
    addAudio: '+ Audio',
    noAssetsModel: 'Assets (asset://) work only on doubao-seedance-2.0 and -fast.',
    assetUnsupported: 'This model does not take asset:// URLs: choose doubao-seedance-2.0 or -fast.',
    audioNeedsVisual: 'Reference audio needs a reference image or video.',
    tooManyFiles: 'At most 12 reference files in all.',
    needImage: 'Choose an image: upload one or give its URL.',
    needReference: 'Add at least one reference image, video or audio.',
    price: 'Price',
    priceFormula: '{rate} per second × {seconds} s',
    priceVideo:
      'Reserved now: {rate} per second × (15.2 s of reference video at most + {duration} s). The final charge uses the real length of the reference video (input + output seconds), and the rest is refunded.',
    priceUnknown: 'Choose a duration from {min} to {max} s to see the price.',
    generate: 'Generate',
    submitting: 'Submitting…',
    result: 'Result',
    empty: 'Your video appears here: watch it render, play it and download it.',
    loadingModels: 'Loading models…',
    prefilled: 'Settings from task {id}.',
    continuing: 'Continuing from the last frame of the previous video.',
    assetMissing: 'Asset {id} is not an approved asset of this account.',
  },
  zh: {
    title: '试用',
    intro: '描述视频、选择起始素材，然后生成。提交前会显示价格。',
    mode: '视频从什么开始',
    modeText: '仅文本',
    modeFirst: '首帧',
    modeFirstLast: '首帧 + 尾帧',
    modeReference: '参考素材',
    modeTextHint: '只根据提示词生成视频。',
    modeFirstHint: '视频从这张图片开始（图生视频）。',
    modeFirstLastHint: '视频从首帧图片开始，到尾帧图片结束。首尾帧不能与参考图片、视频或音频同时使用。',
    modeReferenceHint:
      '参考图片（最多 9 张）、视频（最多 3 个，合计 1.8–15.2 秒，480p–720p）和音频（最多 3 个，合计不超过 15 秒，须同时有图片或视频）：合计最多 12 个文件。',
    prompt: '提示词',
    promptPlaceholder: '一只小猫对着镜头打哈欠',
    promptCount: '{count} / {limit} 字符',
    promptCountNoLimit: '{count} 字符（此模型不限长度）',
    promptRequired: '没有图片或视频时必填。',
    model: '模型',
    resolution: '分辨率',
    size: '画面比例',
    adaptive: '自适应（匹配输入素材）',
    duration: '时长（秒）',
    durationHint: '{min}–{max} 秒',
    seed: '随机种子',
    seedHint: '留空为随机；相同种子生成相同视频。',
    random: '随机',
    generateAudio: '生成音频',
    returnLastFrame: '返回尾帧',
    returnLastFrameHint: '从尾帧继续生成时需要。',
    webSearch: '联网搜索',
    firstFrame: '首帧',
    lastFrame: '尾帧',
    referenceImages: '参考图片',
    referenceVideos: '参考视频',
    referenceAudio: '参考音频',
    image: '图片 {n}',
    videoN: '视频 {n}',
    audioN: '音频 {n}',
    addImage: '+ 图片',
    addVideo: '+ 视频',
    addAudio: '+ 音频',
    noAssetsModel: '素材（asset://）仅适用于 doubao-seedance-2.0 和 -fast。',
    assetUnsupported: '此模型不支持 asset:// 链接：请选择 doubao-seedance-2.0 或 -fast。',
    audioNeedsVisual: '参考音频须同时有参考图片或参考视频。',
    tooManyFiles: '参考文件合计最多 12 个。',
    needImage: '请选择图片：上传或填写图片链接。',
    needReference: '请至少添加一个参考图片、视频或音频。',
    price: '价格',
    priceFormula: '每秒 {rate} × {seconds} 秒',
    priceVideo: '现在预扣：每秒 {rate} ×（参考视频最长 15.2 秒 + {duration} 秒）。最终按参考视频的实际时长（输入 + 输出秒数）结算，多扣部分退回。',
    priceUnknown: '请选择 {min} 到 {max} 秒的时长以查看价格。',
    generate: '生成视频',
    submitting: '正在提交…',
    result: '结果',
    empty: '视频会显示在这里：可以观看生成进度、播放和下载。',
    loadingModels: '正在加载模型…',
    prefilled: '已沿用任务 {id} 的设置。',
    continuing: '从上一个视频的尾帧继续生成。',
    assetMissing: '素材 {id} 不是本账户已审核通过的素材。',
  },
});

type Mode = 'text' | 'first_frame' | 'first_last' | 'reference';
const MODES: Mode[] = ['text', 'first_frame', 'first_last', 'reference'];
type MediaKind = 'image' | 'video' | 'audio';

export interface Form {
  model: string;
  prompt: string;
  mode: Mode;
  resolution: string;
  size: string;
  duration: string;
  seed: string;
  generateAudio: boolean;
  returnLastFrame: boolean;
  webSearch: boolean;
  firstFrame: string;
  lastFrame: string;
  images: string[];
  videos: string[];
  audios: string[];
}

const LIMITS = { images: 9, videos: 3, audios: 3, total: 12 } as const;

const defaultsFor = (model: Model | undefined): Form => ({
  model: model?.id ?? '',
  prompt: '',
  mode: 'text',
  resolution: model ? fitResolution(model, '720p') : '720p',
  size: '16:9',
  duration: String(model?.durations.default ?? 5),
  seed: '',
  generateAudio: false,
  returnLastFrame: false,
  webSearch: false,
  firstFrame: '',
  lastFrame: '',
  images: [],
  videos: [],
  audios: [],
});

const fitResolution = (model: Model, wanted: string) =>
  model.resolutions.includes(wanted) ? wanted : model.resolutions.includes('720p') ? '720p' : model.resolutions[0]!;

/** A stored request back into the form, in the mode it was made in. */
export function formFromRequest(request: TaskRequest, models: Model[]): Form {
  const model = models.find((m) => m.id === request.model || m.aliases.includes(request.model)) ?? models[0];
  const form: Form = {
    ...defaultsFor(model),
    prompt: request.prompt ?? '',
    resolution: request.resolution ?? '720p',
    size: request.size ?? '16:9',
    duration: String(request.duration ?? model?.durations.default ?? 5),
    seed: request.seed === undefined || request.seed === -1 ? '' : String(request.seed),
    generateAudio: request.generate_audio === true,
    returnLastFrame: request.return_last_frame === true,
    webSearch: (request.tools ?? []).some((tool) => tool.type === 'web_search') || request.web_search === true,
  };
  const roles = request.image_with_roles ?? [];
  const plain = request.image_urls ?? [];
  const videos = request.video_urls ?? [];
  const audios = request.audio_urls ?? [];
  const first = roles.find((r) => r.role === 'first_frame')?.url;
  const last = roles.find((r) => r.role === 'last_frame')?.url;
  if (first || last) return { ...form, mode: last ? 'first_last' : 'first_frame', firstFrame: first ?? '', lastFrame: last ?? '' };
  if (plain.length === 1 && roles.length === 0 && videos.length === 0 && audios.length === 0) return { ...form, mode: 'first_frame', firstFrame: plain[0]! };
  const images = [...plain, ...roles.filter((r) => r.role === 'reference_image').map((r) => r.url)];
  if (images.length + videos.length + audios.length > 0) return { ...form, mode: 'reference', images, videos: [...videos], audios: [...audios] };
  return form;
}

/** A number field as typed: an integer is sent as one; anything else as typed, for the server to name. */
const numberOrText = (value: string): number | string | undefined => {
  const trimmed = value.trim();
  if (!trimmed) return undefined;
  return /^-?\d+$/.test(trimmed) ? Number(trimmed) : trimmed;
};

export interface Built {
  body: Record<string, unknown>;
  /** Request paths (`image_with_roles[1].url`) → the form field that holds them. */
  targets: Record<string, string>;
}

/** The submit body of the form, and which control each of its paths came from. */
export function buildBody(form: Form): Built {
  const targets: Record<string, string> = {
    model: 'model',
    prompt: 'prompt',
    resolution: 'resolution',
    size: 'size',
    duration: 'duration',
    seed: 'seed',
    generate_audio: 'generate_audio',
    return_last_frame: 'return_last_frame',
    tools: 'web_search',
  };
  const body: Record<string, unknown> = { model: form.model };
  if (form.prompt) body.prompt = form.prompt;
  body.resolution = form.resolution;
  body.size = form.size;
  const duration = numberOrText(form.duration);
  if (duration !== undefined) body.duration = duration;
  const seed = numberOrText(form.seed);
  if (seed !== undefined) body.seed = seed;
  body.generate_audio = form.generateAudio;
  body.return_last_frame = form.returnLastFrame;
  if (form.webSearch) body.tools = [{ type: 'web_search' }];
  const place = (path: string, field: string) => {
    targets[path] = field;
    targets[`${path}.url`] = field;
  };
  if (form.mode === 'first_frame' && form.firstFrame) {
    body.image_urls = [form.firstFrame];
    place('image_urls', 'first_frame');
    place('image_urls[0]', 'first_frame');
  }
  if (form.mode === 'first_last') {
    const roles: Array<{ url: string; role: string }> = [];
    if (form.firstFrame) {
      place(`image_with_roles[${roles.length}]`, 'first_frame');
      roles.push({ url: form.firstFrame, role: 'first_frame' });
    }
    if (form.lastFrame) {
      place(`image_with_roles[${roles.length}]`, 'last_frame');
      roles.push({ url: form.lastFrame, role: 'last_frame' });
    }
    body.image_with_roles = roles;
    place('image_with_roles', form.firstFrame ? 'first_frame' : 'last_frame');
  }
  if (form.mode === 'reference') {
    const images = form.images.map((url, i) => ({ url: url.trim(), field: `image-${i}` })).filter((m) => m.url);
    const videos = form.videos.map((url, i) => ({ url: url.trim(), field: `video-${i}` })).filter((m) => m.url);
    const audios = form.audios.map((url, i) => ({ url: url.trim(), field: `audio-${i}` })).filter((m) => m.url);
    // One plain image alone would be read as a first frame (README: Submit rules), so a lone
    // reference image carries its role; with others (or videos, audio) image_urls are references.
    if (images.length === 1 && videos.length === 0 && audios.length === 0) {
      body.image_with_roles = [{ url: images[0]!.url, role: 'reference_image' }];
      place('image_with_roles', 'images');
      place('image_with_roles[0]', images[0]!.field);
    } else if (images.length > 0) {
      body.image_urls = images.map((m) => m.url);
      place('image_urls', 'images');
      images.forEach((m, i) => place(`image_urls[${i}]`, m.field));
    }
    if (videos.length > 0) {
      body.video_urls = videos.map((m) => m.url);
      videos.forEach((m, i) => place(`video_urls[${i}]`, m.field));
    }
    if (audios.length > 0) {
      body.audio_urls = audios.map((m) => m.url);
      audios.forEach((m, i) => place(`audio_urls[${i}]`, m.field));
    }
    targets.video_urls = 'videos';
    targets.audio_urls = 'audios';
    targets.image_urls ??= 'images';
    targets.image_with_roles ??= 'images';
  }
  return { body, targets };
}

/** The form control a 400's `param` names: the exact path, else its nearest parent (`image_urls[1].url` → `image_urls[1]` → `image_urls`). */
export function fieldFor(param: string, targets: Record<string, string>): string | null {
  let path = param;
  for (;;) {
    const field = targets[path];
    if (field) return field;
    const parent = path.replace(/(\.[A-Za-z_]+|\[\d+\])$/, '');
    if (parent === path) return null;
    path = parent;
  }
}

const isAsset = (url: string) => url.startsWith('asset://');
const assetId = (url: string) => url.replace(/^asset:\/\//, '');
const KIND_TYPE = { image: 'Image', video: 'Video', audio: 'Audio' } as const;

export function Playground(props: { query: URLSearchParams }) {
  const t = useText(text);
  const language = useLanguage();
  const models = useLoad((signal) => call<{ data: Model[] }>('/v1/models', { signal }).then((r) => r.data), []);
  const assets = useLoad(
    (signal) => call<AssetList>('/v1/assets', { signal, query: { limit: 100 } }).then((r) => r.data.filter((a) => a.status === 'active')),
    [],
  );
  const [form, setForm] = useState<Form>(() => defaultsFor(undefined));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [focus, setFocus] = useState<{ field: string; round: number } | null>(null);
  const [problem, setProblem] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [submitting, setSubmitting] = useState(false);
  const [taskId, setTaskId] = useState<string | null>(null);
  const live = useLiveTask(taskId);
  const resultPanel = useRef<HTMLDivElement>(null);

  const from = props.query.get('from') ?? '';
  const firstFrame = props.query.get('first_frame') ?? '';
  const assetParam = props.query.get('asset') ?? '';
  const prefillKey = `${from}|${firstFrame}|${assetParam}`;
  const modelsReady = models.data !== undefined;
  const assetsReady = assets.data !== undefined || assets.error !== null;

  // The form starts from the URL: a task to run again, a last frame to continue from, an asset.
  useEffect(() => {
    if (!models.data) return;
    if (assetParam && !assetsReady) return;
    const list = models.data;
    const controller = new AbortController();
    (async () => {
      let next = defaultsFor(list[0]);
      let message: string | null = null;
      if (from) {
        const task = await getTask(from, language, controller.signal);
        if (task.request) next = formFromRequest(task.request, list);
        message = fill(t.prefilled, { id: from });
      }
      if (firstFrame) {
        next = { ...next, mode: 'first_frame', firstFrame, lastFrame: '', images: [], videos: [], audios: [] };
        message = t.continuing;
      }
      if (assetParam) {
        const id = assetId(assetParam);
        const asset = assets.data?.find((a) => a.id === id);
        if (!asset) throw new Error(fill(t.assetMissing, { id }));
        const url = `asset://${asset.id}`;
        const model = list.find((m) => m.id === next.model);
        if (model && !model.features.asset_urls) {
          const capable = list.find((m) => m.features.asset_urls);
          if (capable) next = { ...next, model: capable.id, resolution: fitResolution(capable, next.resolution) };
        }
        const base =
          next.mode === 'reference' ? next : { ...next, mode: 'reference' as const, firstFrame: '', lastFrame: '', images: [], videos: [], audios: [] };
        if (asset.type === 'Image') next = { ...base, images: [...base.images, url] };
        else if (asset.type === 'Video') next = { ...base, videos: [...base.videos, url] };
        else next = { ...base, audios: [...base.audios, url] };
      }
      if (controller.signal.aborted) return;
      setForm(next);
      setErrors({});
      setProblem(null);
      setNotice(message);
      setTaskId(null);
    })().catch((err: unknown) => {
      if (!controller.signal.aborted) setProblem(err);
    });
    return () => controller.abort();
  }, [prefillKey, modelsReady, assetParam ? assetsReady : true]);

  // A 400 names its field: bring that control into view and focus it, as soon as the error is drawn.
  useLayoutEffect(() => {
    if (!focus) return;
    const holder = document.querySelector(`[data-field="${focus.field}"]`);
    holder?.scrollIntoView({ block: 'center', behavior: 'smooth' });
    holder?.querySelector<HTMLElement>('input:not([type="file"]):not([hidden]), textarea, select')?.focus({ preventScroll: true });
  }, [focus]);

  if (models.error) return <Problem error={models.error} />;
  const model = models.data?.find((m) => m.id === form.model);
  if (!models.data || !model) return <Empty>{t.loadingModels}</Empty>;

  const edit = (change: Partial<Form>, ...fields: string[]) => {
    setForm((f) => ({ ...f, ...change }));
    if (fields.length > 0)
      setErrors((e) => {
        const next = { ...e };
        for (const field of fields) delete next[field];
        return next;
      });
  };
  const chooseModel = (id: string) => {
    const next = models.data!.find((m) => m.id === id);
    if (next) edit({ model: id, resolution: fitResolution(next, form.resolution) }, 'model', 'resolution');
  };

  const assetsAllowed = model.features.asset_urls;
  const approved = assets.data ?? [];
  const referenceCount = form.images.length + form.videos.length + form.audios.length;
  const duration = Number(form.duration);
  const withVideo = form.mode === 'reference' && form.videos.some((v) => v.trim());
  const price = quote(model, form.resolution, duration, withVideo);
  const durationOk = Number.isInteger(duration) && duration >= model.durations.min && duration <= model.durations.max;
  const promptLength = [...form.prompt].length;
  const limit = model.features.prompt_limit;

  const submit = async (event: Event) => {
    event.preventDefault();
    setProblem(null);
    const local: Record<string, string> = {};
    if (form.mode === 'first_frame' && !form.firstFrame.trim()) local.first_frame = t.needImage;
    if (form.mode === 'first_last') {
      if (!form.firstFrame.trim()) local.first_frame = t.needImage;
      if (!form.lastFrame.trim()) local.last_frame = t.needImage;
    }
    if (form.mode === 'reference' && ![...form.images, ...form.videos, ...form.audios].some((u) => u.trim())) local.images = t.needReference;
    const firstLocal = Object.keys(local)[0];
    if (firstLocal) {
      setErrors(local);
      setFocus({ field: firstLocal, round: Date.now() });
      return;
    }
    const { body, targets } = buildBody(form);
    setSubmitting(true);
    setErrors({});
    try {
      const answer = await call<{ data: Array<{ task_id: string }> | { id: string } }>('/v1/videos/generations', { method: 'POST', body });
      const id = Array.isArray(answer.data) ? answer.data[0]?.task_id : answer.data.id;
      if (!id) throw new Error('the server answered without a task id');
      setTaskId(id);
      setNotice(null);
      announceBalanceChange();
      // On a phone the result is below the form: bring it into view (a no-op where it already is).
      resultPanel.current?.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
    } catch (err) {
      const field = err instanceof ApiProblem && err.param ? fieldFor(err.param, targets) : null;
      if (field && err instanceof ApiProblem) {
        setErrors({ [field]: err.message });
        setFocus({ field, round: Date.now() });
      } else setProblem(err);
    } finally {
      setSubmitting(false);
    }
  };

  const modeLabel: Record<Mode, string> = { text: t.modeText, first_frame: t.modeFirst, first_last: t.modeFirstLast, reference: t.modeReference };
  const modeHint: Record<Mode, string> = {
    text: t.modeTextHint,
    first_frame: t.modeFirstHint,
    first_last: t.modeFirstLastHint,
    reference: t.modeReferenceHint,
  };
  const slot = (kind: MediaKind, name: string, label: string, value: string, onChange: (url: string) => void, onRemove?: () => void) => (
    <MediaSlot
      key={name}
      kind={kind}
      name={name}
      label={label}
      value={value}
      error={errors[name] ?? (isAsset(value) && !assetsAllowed ? t.assetUnsupported : null)}
      onChange={(url) => {
        onChange(url);
        setErrors((e) => {
          const next = { ...e };
          delete next[name];
          return next;
        });
      }}
      onRemove={onRemove}
      assets={assetsAllowed ? approved.filter((a) => a.type === KIND_TYPE[kind]) : []}
    />
  );
  const list = (kind: MediaKind, key: 'images' | 'videos' | 'audios', title: string, itemLabel: string, add: string) => {
    const values = form[key];
    const full = values.length >= LIMITS[key] || referenceCount >= LIMITS.total;
    return (
      <fieldset class={`media-group${errors[key] ? ' has-error' : ''}`} data-field={key}>
        <legend>
          {title}{' '}
          <span class="muted">
            ({values.length}/{LIMITS[key]})
          </span>
        </legend>
        {values.map((value, i) =>
          slot(
            kind,
            `${kind}-${i}`,
            fill(itemLabel, { n: i + 1 }),
            value,
            (url) => edit({ [key]: values.map((v, j) => (j === i ? url : v)) } as Partial<Form>, key),
            () => edit({ [key]: values.filter((_, j) => j !== i) } as Partial<Form>, key, `${kind}-${i}`),
          ),
        )}
        {errors[key] ? (
          <small class="field-error" role="alert" data-error-for={key}>
            {errors[key]}
          </small>
        ) : null}
        <div>
          <Button onClick={() => edit({ [key]: [...values, ''] } as Partial<Form>, key)} disabled={full} data-testid={`add-${kind}`}>
            {add}
          </Button>
        </div>
      </fieldset>
    );
  };

  return (
    <div class="playground">
      <h1>{t.title}</h1>
      <p class="muted">{t.intro}</p>
      <div class="grid two">
        <form onSubmit={submit} noValidate class="playground-form" aria-label={t.title}>
          <Card>
            {notice ? (
              <p class="notice" data-testid="prefill-notice">
                {notice}
              </p>
            ) : null}
            <div class="fields">
              <Field
                label={t.prompt}
                name="prompt"
                error={errors.prompt}
                wide
                hint={limit === null ? fill(t.promptCountNoLimit, { count: count(promptLength, language) }) : undefined}
              >
                <textarea
                  name="prompt"
                  value={form.prompt}
                  placeholder={t.promptPlaceholder}
                  onInput={(e) => edit({ prompt: e.currentTarget.value }, 'prompt')}
                  rows={4}
                />
              </Field>
              {limit !== null ? (
                <small class={`prompt-count${promptLength > limit ? ' over' : ''}`} data-testid="prompt-count">
                  {fill(t.promptCount, { count: count(promptLength, language), limit: count(limit, language) })}
                  {form.mode === 'text' && !form.prompt.trim() ? ` · ${t.promptRequired}` : ''}
                </small>
              ) : null}
            </div>
          </Card>
          <Card>
            <fieldset class="modes">
              <legend class="label">{t.mode}</legend>
              <div class="segmented mode-switch">
                {MODES.map((mode) => (
                  <button
                    key={mode}
                    type="button"
                    aria-pressed={form.mode === mode}
                    data-mode={mode}
                    onClick={() => edit({ mode }, 'first_frame', 'last_frame', 'images')}
                  >
                    {modeLabel[mode]}
                  </button>
                ))}
              </div>
              <small class="hint">{modeHint[form.mode]}</small>
            </fieldset>
            <div class="media">
              {form.mode === 'first_frame' || form.mode === 'first_last'
                ? slot('image', 'first_frame', t.firstFrame, form.firstFrame, (url) => edit({ firstFrame: url }))
                : null}
              {form.mode === 'first_last' ? slot('image', 'last_frame', t.lastFrame, form.lastFrame, (url) => edit({ lastFrame: url })) : null}
              {form.mode === 'reference' ? (
                <>
                  {list('image', 'images', t.referenceImages, t.image, t.addImage)}
                  {list('video', 'videos', t.referenceVideos, t.videoN, t.addVideo)}
                  {list('audio', 'audios', t.referenceAudio, t.audioN, t.addAudio)}
                  {form.audios.some((a) => a.trim()) && !form.images.some((i) => i.trim()) && !form.videos.some((v) => v.trim()) ? (
                    <small class="hint warn">{t.audioNeedsVisual}</small>
                  ) : null}
                  {referenceCount >= LIMITS.total ? <small class="hint">{t.tooManyFiles}</small> : null}
                </>
              ) : null}
              {form.mode !== 'text' && !assetsAllowed ? <small class="hint">{t.noAssetsModel}</small> : null}
            </div>
          </Card>
          <Card>
            <div class="fields">
              <Field label={t.model} name="model" error={errors.model} hint={model.description} wide>
                <select name="model" value={form.model} onChange={(e) => chooseModel(e.currentTarget.value)}>
                  {models.data.map((m) => (
                    <option key={m.id} value={m.id}>
                      {m.id}
                    </option>
                  ))}
                </select>
              </Field>
              <Field label={t.resolution} name="resolution" error={errors.resolution}>
                <select name="resolution" value={form.resolution} onChange={(e) => edit({ resolution: e.currentTarget.value }, 'resolution')}>
                  {model.resolutions.map((r) => (
                    <option key={r} value={r}>
                      {r}
                    </option>
                  ))}
                </select>
              </Field>
              <Field label={t.size} name="size" error={errors.size}>
                <select name="size" value={form.size} onChange={(e) => edit({ size: e.currentTarget.value }, 'size')}>
                  {model.sizes.map((s) => (
                    <option key={s} value={s}>
                      {s === 'adaptive' ? t.adaptive : s}
                    </option>
                  ))}
                </select>
              </Field>
              <Field
                label={t.duration}
                name="duration"
                error={errors.duration}
                hint={fill(t.durationHint, { min: model.durations.min, max: model.durations.max })}
              >
                <input
                  type="number"
                  name="duration"
                  inputMode="numeric"
                  min={model.durations.min}
                  max={model.durations.max}
                  step={1}
                  value={form.duration}
                  onInput={(e) => edit({ duration: e.currentTarget.value }, 'duration')}
                />
              </Field>
              <Field label={t.seed} name="seed" error={errors.seed} hint={t.seedHint}>
                <input
                  type="number"
                  name="seed"
                  inputMode="numeric"
                  min={-1}
                  max={4294967295}
                  step={1}
                  placeholder={t.random}
                  value={form.seed}
                  onInput={(e) => edit({ seed: e.currentTarget.value }, 'seed')}
                />
              </Field>
            </div>
            <div class="switches">
              <Check
                name="generate_audio"
                label={t.generateAudio}
                checked={form.generateAudio}
                error={errors.generate_audio}
                onChange={(v) => edit({ generateAudio: v }, 'generate_audio')}
              />
              <Check
                name="return_last_frame"
                label={t.returnLastFrame}
                hint={t.returnLastFrameHint}
                checked={form.returnLastFrame}
                error={errors.return_last_frame}
                onChange={(v) => edit({ returnLastFrame: v }, 'return_last_frame')}
              />
              <Check
                name="web_search"
                label={t.webSearch}
                checked={form.webSearch}
                error={errors.web_search}
                onChange={(v) => edit({ webSearch: v }, 'web_search')}
              />
            </div>
          </Card>
          <Card class="submit-card">
            <div class="price" data-testid="price" data-usd={price && durationOk ? price.usd : undefined}>
              {price && durationOk ? (
                <>
                  <span class="label">{t.price}</span> <strong class="price-value">{usd(price.usd, language)}</strong>{' '}
                  <small class="muted">
                    {price.withReferenceVideo
                      ? fill(t.priceVideo, { rate: usd(price.rate, language), duration })
                      : fill(t.priceFormula, { rate: usd(price.rate, language), seconds: duration })}
                  </small>
                </>
              ) : (
                <small class="muted">{fill(t.priceUnknown, { min: model.durations.min, max: model.durations.max })}</small>
              )}
            </div>
            <Problem error={problem} />
            <Button kind="primary" type="submit" disabled={submitting} data-testid="generate">
              {submitting ? t.submitting : t.generate}
            </Button>
          </Card>
        </form>
        <div class="playground-result" ref={resultPanel}>
          <Card title={t.result}>
            {live.task ? (
              <>
                <TaskProgress task={live.task} via={live.via} onChanged={() => void live.refresh()} />
                <TaskResult task={live.task} showTaskLink />
              </>
            ) : taskId ? (
              <Problem error={live.error} />
            ) : (
              <Empty>{t.empty}</Empty>
            )}
            {live.task && live.error ? <Problem error={live.error} /> : null}
          </Card>
        </div>
      </div>
    </div>
  );
}

function Check(props: { name: string; label: string; hint?: string; checked: boolean; error?: string; onChange(value: boolean): void }) {
  return (
    <div class={`check-field${props.error ? ' has-error' : ''}`} data-field={props.name}>
      <label class="check">
        <input type="checkbox" name={props.name} checked={props.checked} onChange={(e) => props.onChange(e.currentTarget.checked)} />
        {props.label}
      </label>
      {props.hint && !props.error ? <small class="hint">{props.hint}</small> : null}
      {props.error ? (
        <small class="field-error" role="alert" data-error-for={props.name}>
          {props.error}
        </small>
      ) : null}
    </div>
  );
}

const uploadText = defineText({
  en: {
    upload: 'Upload…',
    uploading: 'Uploading…',
    placeholder: 'https://… or asset://…',
    useAsset: 'Approved asset…',
    remove: 'Remove',
    asset: 'asset',
    image: 'image',
    video: 'video',
    audio: 'audio',
  },
  zh: {
    upload: '上传…',
    uploading: '正在上传…',
    placeholder: 'https://… 或 asset://…',
    useAsset: '已审核素材…',
    remove: '移除',
    asset: '素材',
    image: '图片',
    video: '视频',
    audio: '音频',
  },
});

/**
 * One input file: a URL typed in (http(s) or asset://), an image uploaded from the disk
 * (POST /v1/uploads/images, field `file`), or an approved asset picked from the account's list.
 */
function MediaSlot(props: {
  kind: MediaKind;
  name: string;
  label: string;
  value: string;
  error?: string | null;
  assets: Asset[];
  onChange(url: string): void;
  onRemove?: () => void;
}) {
  const t = useText(uploadText);
  const fileInput = useRef<HTMLInputElement>(null);
  const [uploading, setUploading] = useState(false);
  const [uploadError, setUploadError] = useState<string | null>(null);
  // Previews follow committed values (change, upload, asset), not every keystroke.
  const [preview, setPreview] = useState(props.value);
  const [broken, setBroken] = useState(false);
  const typed = useRef(props.value);
  useEffect(() => {
    if (props.value === typed.current) return;
    typed.current = props.value;
    setPreview(props.value);
    setBroken(false);
  }, [props.value]);
  const commit = (url: string) => {
    setPreview(url);
    setBroken(false);
  };
  const upload = async (file: File | undefined) => {
    if (!file) return;
    setUploading(true);
    setUploadError(null);
    try {
      const form = new FormData();
      form.append('file', file, file.name);
      const answer = await call<{ url: string }>('/v1/uploads/images', { method: 'POST', body: form });
      props.onChange(answer.url);
      commit(answer.url);
    } catch (err) {
      setUploadError(err instanceof Error ? err.message : String(err));
    } finally {
      setUploading(false);
      if (fileInput.current) fileInput.current.value = '';
    }
  };
  const web = /^https?:\/\//i.test(preview);
  const asset = isAsset(preview) ? props.assets.find((a) => a.id === assetId(preview)) : undefined;
  return (
    <Field label={props.label} name={props.name} error={props.error ?? uploadError} wide>
      <div class="media-slot" data-kind={props.kind}>
        {/* A box of fixed size: a preview appearing on blur must not move the controls under the pointer. */}
        <span class="slot-preview" data-kind={props.kind}>
          {web && !broken && props.kind === 'image' ? (
            <img src={preview} alt="" onError={() => setBroken(true)} data-testid={`${props.name}-preview`} />
          ) : web && !broken && props.kind === 'video' ? (
            <video src={preview} preload="metadata" muted onError={() => setBroken(true)} />
          ) : isAsset(preview) ? (
            <>
              {/* The reviewed copy behind the name; audio has no picture to show. */}
              {asset?.preview_url && asset.type !== 'Audio' ? <AssetPreview asset={asset} class="slot-asset" /> : null}
              <span class="asset-chip" title={asset?.name}>
                {t.asset}: {asset?.name ?? assetId(preview)}
              </span>
            </>
          ) : (
            <span class="slot-kind">{t[props.kind]}</span>
          )}
        </span>
        <div class="media-slot-controls">
          <input
            type="text"
            inputMode="url"
            name={props.name}
            value={props.value}
            placeholder={t.placeholder}
            spellcheck={false}
            autoComplete="off"
            onInput={(e) => {
              typed.current = e.currentTarget.value.trim();
              props.onChange(typed.current);
            }}
            onChange={(e) => commit(e.currentTarget.value.trim())}
          />
          {props.kind === 'image' ? (
            <>
              <Button onClick={() => fileInput.current?.click()} disabled={uploading} data-testid={`${props.name}-upload`}>
                {uploading ? t.uploading : t.upload}
              </Button>
              <input
                ref={fileInput}
                type="file"
                accept="image/png,image/jpeg,image/webp,image/gif"
                hidden
                data-testid={`${props.name}-file`}
                onChange={(e) => void upload(e.currentTarget.files?.[0])}
              />
            </>
          ) : null}
          {props.assets.length > 0 ? (
            <select
              aria-label={t.useAsset}
              value=""
              data-testid={`${props.name}-asset`}
              onChange={(e) => {
                const id = e.currentTarget.value;
                if (!id) return;
                props.onChange(`asset://${id}`);
                commit(`asset://${id}`);
              }}
            >
              <option value="">{t.useAsset}</option>
              {props.assets.map((a) => (
                <option key={a.id} value={a.id}>
                  {a.name}
                </option>
              ))}
            </select>
          ) : null}
          {props.onRemove ? (
            <Button kind="ghost" onClick={props.onRemove}>
              {t.remove}
            </Button>
          ) : null}
        </div>
      </div>
    </Field>
  );
}
