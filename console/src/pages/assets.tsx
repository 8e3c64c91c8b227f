import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiProblem, call } from '../api.js';
import type { Asset, AssetGroup, AssetList, AssetReview, AssetType, ReviewedAsset, Upload } from '../admin-types.js';
import { AssetPreview } from '../components/asset-preview.js';
import { Button, Card, Empty, Field, LoadMore, Problem, ProgressBar, StatusBadge } from '../components/ui.js';
import { dateTime } from '../format.js';
import { type PagedList, useLoad, usePagedList, useRereadWhile } from '../hooks.js';
import type { ListPage } from '../types.js';
import { defineText, fill, useLanguage, useText } from '../i18n.js';
import { href, navigate } from '../router.js';
import './assets.css';

const text = defineText({
  en: {
    title: 'Assets',
    intro:
      'Submit images, videos or audio for review. Approved assets belong to this account and can be used as asset://<id> references on doubao-seedance-2.0 and -fast.',
    submit: 'Submit for review',
    type: 'Type',
    Image: 'Image',
    Video: 'Video',
    Audio: 'Audio',
    group: 'Group',
    newGroup: 'New group',
    groupName: 'Group name',
    groupDescription: 'Description',
    project: 'Project name',
    optional: 'optional',
    urls: 'URLs',
    urlsHint: 'One http(s) URL per line; an optional name after a space.',
    files: 'Images from this computer',
    filesHint: 'jpeg, png, webp or gif, at most 20 MB, each side 300–6000 px.',
    uploading: 'Uploading…',
    uploaded: 'Uploaded',
    remove: 'Remove',
    nothingToSend: 'Give at least one URL or upload an image.',
    tooMany: 'A review takes at most 20 assets; this one has {n}.',
    waitUploads: 'Wait for the uploads to finish.',
    send: 'Submit for review',
    sending: 'Submitting…',
    review: 'Review',
    reviewOf: 'Review {id}',
    close: 'Close',
    reviewing: 'Reviewing…',
    usable: 'Approved',
    rejected: 'Rejected',
    name: 'Name',
    status: 'Status',
    reason: 'Reason',
    id: 'ID',
    created: 'Created',
    actions: '',
    usePlayground: 'Use in playground',
    delete: 'Delete',
    confirmDelete: 'Delete for good?',
    cancel: 'Keep',
    library: 'Library',
    refresh: 'Refresh',
    empty: 'No assets yet: submit some above.',
    more: 'Load more',
    preview: 'Preview',
    reviews: 'Reviews',
    noReviews: 'No reviews yet.',
    details: 'Details',
    shown: 'Shown above',
    outcome: 'Outcome',
    approvedN: '{n} approved',
    rejectedN: '{n} rejected',
    pendingN: '{n} in review',
    groupHeading: 'Group {id}',
    active: 'approved',
    pending: 'in review',
    failed: 'rejected',
    processing: 'in review',
    completed: 'completed',
  },
  zh: {
    title: '素材',
    intro: '提交图片、视频或音频进行审核。通过审核的素材归本账户所有，可在 doubao-seedance-2.0 和 -fast 中以 asset://<id> 引用。',
    submit: '提交审核',
    type: '类型',
    Image: '图片',
    Video: '视频',
    Audio: '音频',
    group: '分组',
    newGroup: '新建分组',
    groupName: '分组名称',
    groupDescription: '描述',
    project: '项目名称',
    optional: '可选',
    urls: 'URL',
    urlsHint: '每行一个 http(s) URL；可在空格后写名称。',
    files: '本机图片',
    filesHint: 'jpeg、png、webp 或 gif，不超过 20 MB，边长 300–6000 像素。',
    uploading: '正在上传…',
    uploaded: '已上传',
    remove: '移除',
    nothingToSend: '请至少填写一个 URL 或上传一张图片。',
    tooMany: '一次审核最多 20 个素材，当前有 {n} 个。',
    waitUploads: '请等待上传完成。',
    send: '提交审核',
    sending: '正在提交…',
    review: '审核',
    reviewOf: '审核 {id}',
    close: '关闭',
    reviewing: '审核中…',
    usable: '已通过',
    rejected: '未通过',
    name: '名称',
    status: '状态',
    reason: '原因',
    id: 'ID',
    created: '创建时间',
    actions: '',
    usePlayground: '在试用中使用',
    delete: '删除',
    confirmDelete: '确定永久删除？',
    cancel: '保留',
    library: '素材库',
    refresh: '刷新',
    empty: '还没有素材：请在上方提交。',
    more: '加载更多',
    preview: '预览',
    reviews: '审核记录',
    noReviews: '还没有审核。',
    details: '详情',
    shown: '已在上方显示',
    outcome: '结果',
    approvedN: '{n} 个已通过',
    rejectedN: '{n} 个未通过',
    pendingN: '{n} 个审核中',
    groupHeading: '分组 {id}',
    active: '已通过',
    pending: '审核中',
    failed: '未通过',
    processing: '审核中',
    completed: '已完成',
  },
});

type Text = typeof text.en;
const TYPES: AssetType[] = ['Image', 'Video', 'Audio'];
const STATUS_CLASS: Record<string, string> = { active: 'completed', pending: 'pending', failed: 'failed', processing: 'processing', completed: 'completed' };

const statusLabel = (t: Text, status: string) => (status in t ? t[status as keyof Text] : status);

function AssetStatus(props: { status: string }) {
  const t = useText(text);
  return (
    <span data-asset-status={props.status}>
      <StatusBadge status={STATUS_CLASS[props.status] ?? props.status} label={statusLabel(t, props.status)} />
    </span>
  );
}

const playgroundLink = (assetId: string) => href('/playground', { asset: assetId });

const REVIEW_PAGE = 10;
const ASSET_PAGE = 50;
/** The newest groups, the ones the form offers and the library names (one page of /v1/asset-groups). */
const GROUP_PAGE = 100;
/** While rows shown are still in review, their list is read again this often. */
const LIST_POLL_MS = 3000;

/**
 * `#/assets`, and `?review=<task id>` while a review is followed: the form, that review, the
 * account's reviews newest first, and its assets by group. The review followed keeps its row in
 * the list up to date; once it ends, the library and the groups' counts are read again.
 */
export function Assets(props: { query: URLSearchParams }) {
  const t = useText(text);
  const reviewId = props.query.get('review');
  const [round, setRound] = useState(0);
  const groups = useLoad((signal) => call<ListPage<AssetGroup>>('/v1/asset-groups', { query: { limit: GROUP_PAGE }, signal }).then((r) => r.data), [round]);
  const reviews = usePagedList((after, signal) => call<ListPage<AssetReview>>('/v1/asset-reviews', { query: { limit: REVIEW_PAGE, after }, signal }), []);
  const library = usePagedList((after, signal) => call<AssetList>('/v1/assets', { query: { limit: ASSET_PAGE, after }, signal }), [], round);
  const refreshLibrary = () => setRound((r) => r + 1);
  const groupName = (id: string) => groups.data?.find((g) => g.id === id)?.name ?? id;
  return (
    <div class="assets-page">
      <h1>{t.title}</h1>
      <p class="muted">{t.intro}</p>
      <SubmitForm
        groups={groups.data ?? []}
        onSubmitted={(id) => {
          navigate('/assets', { review: id });
          reviews.reload();
          refreshLibrary();
        }}
      />
      {reviewId ? (
        <ReviewPanel
          key={reviewId}
          id={reviewId}
          onChange={(review) => reviews.update((list) => list.map((r) => (r.id === review.id ? review : r)))}
          onFinished={refreshLibrary}
          groupName={groupName}
        />
      ) : null}
      <ReviewList list={reviews} current={reviewId} groupName={groupName} />
      <Library list={library} groups={groups.data ?? []} groupsError={groups.error} onRefresh={refreshLibrary} />
    </div>
  );
}

interface UploadItem {
  local: string;
  filename: string;
  state: 'uploading' | 'done' | 'error';
  upload?: Upload;
  error?: string;
}

/** "url" or "url name" per line. */
function parseLines(value: string): Array<{ url: string; name?: string }> {
  return value
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const space = line.search(/\s/);
      if (space < 0) return { url: line };
      const name = line.slice(space).trim();
      return { url: line.slice(0, space), ...(name ? { name } : {}) };
    });
}

function SubmitForm(props: { onSubmitted: (reviewId: string) => void; groups: AssetGroup[] }) {
  const t = useText(text);
  const [type, setType] = useState<AssetType>('Image');
  const [groupId, setGroupId] = useState('');
  const [groupName, setGroupName] = useState('');
  const [groupDescription, setGroupDescription] = useState('');
  const [project, setProject] = useState('');
  const [urls, setUrls] = useState('');
  const [uploads, setUploads] = useState<UploadItem[]>([]);
  const [sending, setSending] = useState(false);
  const [problem, setProblem] = useState<unknown>(null);
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const fileInput = useRef<HTMLInputElement>(null);
  const counter = useRef(0);

  const upload = async (file: File) => {
    const local = `u${++counter.current}`;
    setUploads((list) => [...list, { local, filename: file.name, state: 'uploading' }]);
    const form = new FormData();
    form.append('file', file, file.name);
    try {
      const answer = await call<Upload>('/v1/uploads/images', { body: form });
      setUploads((list) => list.map((u) => (u.local === local ? { ...u, state: 'done', upload: answer } : u)));
    } catch (err) {
      setUploads((list) => list.map((u) => (u.local === local ? { ...u, state: 'error', error: (err as Error).message } : u)));
    }
  };

  const submit = async (event: Event) => {
    event.preventDefault();
    setProblem(null);
    const assets = [
      ...parseLines(urls),
      ...uploads.filter((u) => u.state === 'done' && type === 'Image').map((u) => ({ url: u.upload!.url, name: u.filename.slice(0, 200) })),
    ];
    const errors: Record<string, string> = {};
    if (uploads.some((u) => u.state === 'uploading')) errors.files = t.waitUploads;
    if (assets.length === 0) errors.urls = t.nothingToSend;
    if (assets.length > 20) errors.urls = fill(t.tooMany, { n: assets.length });
    setFieldErrors(errors);
    if (Object.keys(errors).length > 0) return;
    setSending(true);
    try {
      const body = {
        asset_type: type,
        ...(groupId ? { group_id: groupId } : { group: { name: groupName.trim(), description: groupDescription.trim() } }),
        ...(project.trim() ? { project_name: project.trim() } : {}),
        assets,
      };
      const answer = await call<{ data: { id: string } }>('/v1/seedance2/private-avatar', { body });
      setUrls('');
      setUploads([]);
      if (fileInput.current) fileInput.current.value = '';
      props.onSubmitted(answer.data.id);
    } catch (err) {
      const param = err instanceof ApiProblem ? err.param : undefined;
      const field = !param
        ? null
        : param.startsWith('assets') || param === 'url'
          ? 'urls'
          : param.startsWith('group_id')
            ? 'group_id'
            : param.startsWith('group')
              ? 'group_name'
              : param.startsWith('project')
                ? 'project'
                : null;
      if (field) setFieldErrors({ [field]: (err as Error).message });
      else setProblem(err);
    } finally {
      setSending(false);
    }
  };

  return (
    <Card title={t.submit} class="asset-submit">
      <form class="fields" onSubmit={submit}>
        <Field label={t.type} name="asset_type">
          <select name="asset_type" value={type} onChange={(e) => setType(e.currentTarget.value as AssetType)}>
            {TYPES.map((k) => (
              <option key={k} value={k}>
                {t[k]}
              </option>
            ))}
          </select>
        </Field>
        <Field label={t.group} name="group_id" error={fieldErrors.group_id}>
          <select name="group_id" value={groupId} onChange={(e) => setGroupId(e.currentTarget.value)}>
            <option value="">{t.newGroup}</option>
            {props.groups.map((g) => (
              <option key={g.id} value={g.id}>
                {g.project_name ? `${g.name} · ${g.project_name}` : g.name}
              </option>
            ))}
          </select>
        </Field>
        {groupId ? null : (
          <>
            <Field label={t.groupName} name="group_name" error={fieldErrors.group_name}>
              <input name="group_name" value={groupName} onInput={(e) => setGroupName(e.currentTarget.value)} required maxLength={200} />
            </Field>
            <Field label={`${t.groupDescription} (${t.optional})`} name="group_description">
              <input name="group_description" value={groupDescription} onInput={(e) => setGroupDescription(e.currentTarget.value)} maxLength={2000} />
            </Field>
          </>
        )}
        <Field label={`${t.project} (${t.optional})`} name="project" error={fieldErrors.project}>
          <input name="project" value={project} onInput={(e) => setProject(e.currentTarget.value)} maxLength={200} />
        </Field>
        <Field label={t.urls} name="urls" error={fieldErrors.urls} hint={t.urlsHint} wide>
          <textarea
            name="urls"
            value={urls}
            onInput={(e) => setUrls(e.currentTarget.value)}
            placeholder="https://example.com/face.jpg Alice"
            spellcheck={false}
            rows={3}
          />
        </Field>
        {type === 'Image' ? (
          <Field label={t.files} name="files" error={fieldErrors.files} hint={t.filesHint} wide>
            <input
              ref={fileInput}
              type="file"
              name="files"
              accept="image/jpeg,image/png,image/webp,image/gif"
              multiple
              onChange={(e) => {
                const files = [...(e.currentTarget.files ?? [])];
                e.currentTarget.value = '';
                for (const file of files) void upload(file);
              }}
            />
          </Field>
        ) : null}
        {type === 'Image' && uploads.length > 0 ? (
          <ul class="upload-list wide" data-testid="uploads">
            {uploads.map((u) => (
              <li key={u.local} data-upload-state={u.state}>
                {u.upload ? <img src={u.upload.url} alt="" class="upload-thumb" /> : <span class="upload-thumb" />}
                <span class="upload-name">{u.filename}</span>
                <span class={u.state === 'error' ? 'field-error' : 'muted'}>
                  {u.state === 'uploading' ? t.uploading : u.state === 'done' ? t.uploaded : u.error}
                </span>
                <Button kind="ghost" onClick={() => setUploads((list) => list.filter((x) => x.local !== u.local))}>
                  {t.remove}
                </Button>
              </li>
            ))}
          </ul>
        ) : null}
        <div class="actions wide">
          <Button kind="primary" type="submit" disabled={sending}>
            {sending ? t.sending : t.send}
          </Button>
        </div>
      </form>
      <Problem error={problem} />
    </Card>
  );
}

const POLL_MS = 1000;
const finished = (review: AssetReview) => review.status === 'completed' || review.status === 'failed';

/** Follows one review at GET /v1/tasks/{id} until it ends, handing each state read to `onChange`. */
function ReviewPanel(props: { id: string; onChange: (review: AssetReview) => void; onFinished: () => void; groupName: (id: string) => string }) {
  const t = useText(text);
  const language = useLanguage();
  const [review, setReview] = useState<AssetReview | null>(null);
  const [problem, setProblem] = useState<unknown>(null);
  const handlers = useRef(props);
  handlers.current = props;
  useEffect(() => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        const answer = await call<{ data: AssetReview }>(`/v1/tasks/${encodeURIComponent(props.id)}`, { signal: controller.signal });
        if (controller.signal.aborted) return;
        setReview(answer.data);
        setProblem(null);
        handlers.current.onChange(answer.data);
        if (finished(answer.data)) handlers.current.onFinished();
        else timer = setTimeout(poll, POLL_MS);
      } catch (err) {
        if (controller.signal.aborted) return;
        setProblem(err);
        // A 404 will not change; anything else (network, 5xx) is tried again.
        if (!(err instanceof ApiProblem && err.status < 500 && err.status !== 429)) timer = setTimeout(poll, POLL_MS * 3);
      }
    };
    void poll();
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [props.id]);

  const results: ReviewedAsset[] = review?.result ? [...review.result.usable_assets, ...review.result.failed_assets] : [];
  return (
    <Card
      title={fill(t.reviewOf, { id: props.id })}
      class="asset-review"
      id="review"
      actions={
        <>
          {review ? <AssetStatus status={review.status} /> : null}
          <Button kind="ghost" onClick={() => navigate('/assets')}>
            {t.close}
          </Button>
        </>
      }
    >
      <div data-testid="review" data-review-status={review?.status}>
        <Problem error={problem} />
        {review && !finished(review) ? <ProgressBar value={review.progress} label={t.reviewing} /> : null}
        {review ? (
          <p class="muted">
            {dateTime(review.created, language)} · <span title={review.group_id}>{props.groupName(review.group_id)}</span>
            {review.error ? ` · ${review.error.message}` : ''}
          </p>
        ) : null}
        {results.length > 0 ? (
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th>{t.name}</th>
                  <th>{t.status}</th>
                  <th>{t.reason}</th>
                  <th class="optional">{t.id}</th>
                  <th>{t.actions}</th>
                </tr>
              </thead>
              <tbody>
                {results.map((a) => (
                  <tr key={a.asset_id} data-asset-id={a.asset_id}>
                    <td>{a.name}</td>
                    <td>
                      <AssetStatus status={a.status} />
                    </td>
                    <td class="reason">{a.reason ?? ''}</td>
                    <td class="optional mono">{a.asset_id}</td>
                    <td>
                      {a.status === 'active' ? (
                        <a class="btn btn-secondary" href={playgroundLink(a.asset_id)} data-use-asset={a.asset_id}>
                          {t.usePlayground}
                        </a>
                      ) : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : null}
      </div>
    </Card>
  );
}

const reviewLink = (id: string) => href('/assets', { review: id });

/** The account's reviews, newest first, each opened above by its link. */
function ReviewList(props: { list: PagedList<AssetReview>; current: string | null; groupName: (id: string) => string }) {
  const t = useText(text);
  const language = useLanguage();
  const { list } = props;
  useRereadWhile(
    list.items.some((r) => !finished(r)),
    list,
    LIST_POLL_MS,
  );
  return (
    <Card title={t.reviews} class="asset-reviews">
      <Problem error={list.error} />
      {!list.loading && list.items.length === 0 && !list.error ? <Empty>{t.noReviews}</Empty> : null}
      {list.items.length > 0 ? (
        <div class="table-wrap">
          <table data-testid="reviews">
            <thead>
              <tr>
                <th>{t.created}</th>
                <th class="optional">{t.group}</th>
                <th>{t.status}</th>
                <th>{t.outcome}</th>
                <th class="optional">{t.id}</th>
                <th>{t.actions}</th>
              </tr>
            </thead>
            <tbody>
              {list.items.map((r) => (
                <tr key={r.id} data-review-id={r.id} data-review-status={r.status} aria-current={r.id === props.current ? 'true' : undefined}>
                  <td class="nowrap">{dateTime(r.created, language)}</td>
                  <td class="optional" data-cell="group" title={r.group_id}>
                    {props.groupName(r.group_id)}
                  </td>
                  <td>
                    <AssetStatus status={r.status} />
                  </td>
                  <td data-cell="outcome">
                    {r.result
                      ? [
                          fill(t.approvedN, { n: r.result.usable_assets.length }),
                          ...(r.result.failed_assets.length > 0 ? [fill(t.rejectedN, { n: r.result.failed_assets.length })] : []),
                        ].join(' · ')
                      : `${r.progress}%`}
                  </td>
                  <td class="optional mono">{r.id}</td>
                  <td>
                    {r.id === props.current ? (
                      <span class="muted">{t.shown}</span>
                    ) : (
                      <a class="btn btn-secondary" href={reviewLink(r.id)} data-open-review={r.id}>
                        {t.details}
                      </a>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <LoadMore list={list} label={t.more} />
    </Card>
  );
}

/** A group's heading: its name, description and project, and its assets counted by outcome. */
function GroupHead(props: { id: string; group: AssetGroup | undefined; project: string }) {
  const t = useText(text);
  const g = props.group;
  const project = g ? g.project_name : props.project;
  return (
    <header class="group-head">
      <h3>
        <span data-cell="group-name">{g ? g.name : fill(t.groupHeading, { id: props.id })}</span>
        {project ? <span class="muted"> · {project}</span> : null}
      </h3>
      {g?.description ? <p class="muted group-description">{g.description}</p> : null}
      {g ? (
        <div class="group-counts">
          <span data-count="approved" data-value={g.counts.approved}>
            {fill(t.approvedN, { n: g.counts.approved })}
          </span>
          {g.counts.failed > 0 ? (
            <span data-count="failed" data-value={g.counts.failed}>
              {fill(t.rejectedN, { n: g.counts.failed })}
            </span>
          ) : null}
          {g.counts.pending > 0 ? (
            <span data-count="pending" data-value={g.counts.pending}>
              {fill(t.pendingN, { n: g.counts.pending })}
            </span>
          ) : null}
        </div>
      ) : null}
    </header>
  );
}

/** The account's assets, by group (the groups newest first, as /v1/asset-groups lists them); pages of 50. */
function Library(props: { list: PagedList<Asset>; groups: AssetGroup[]; groupsError: unknown; onRefresh: () => void }) {
  const t = useText(text);
  const { list } = props;
  const assets = list.items;
  // Assets still in review: read again until they are settled.
  useRereadWhile(
    assets.some((a) => a.status === 'pending'),
    list,
    LIST_POLL_MS,
  );
  const sections = useMemo(() => {
    const byGroup = new Map<string, Asset[]>(props.groups.map((g) => [g.id, []]));
    for (const a of assets) byGroup.set(a.group_id, [...(byGroup.get(a.group_id) ?? []), a]);
    return [...byGroup].filter(([, rows]) => rows.length > 0);
  }, [assets, props.groups]);
  const groupOf = new Map(props.groups.map((g) => [g.id, g]));
  const removed = (id: string) => {
    list.update((old) => old.filter((a) => a.id !== id));
    props.onRefresh();
  };

  return (
    <Card
      title={t.library}
      class="asset-library"
      actions={
        <Button onClick={props.onRefresh} disabled={list.loading}>
          {t.refresh}
        </Button>
      }
    >
      <Problem error={list.error ?? props.groupsError} />
      {!list.loading && assets.length === 0 && !list.error ? <Empty>{t.empty}</Empty> : null}
      {sections.map(([groupId, rows]) => (
        <section key={groupId} class="asset-group" data-group-id={groupId}>
          <GroupHead id={groupId} group={groupOf.get(groupId)} project={rows[0]?.project_name ?? ''} />
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th>{t.preview}</th>
                  <th>{t.name}</th>
                  <th class="optional">{t.type}</th>
                  <th>{t.status}</th>
                  <th class="optional">{t.created}</th>
                  <th class="optional">{t.id}</th>
                  <th>{t.actions}</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((a) => (
                  <AssetRow key={a.id} asset={a} onRemoved={removed} />
                ))}
              </tbody>
            </table>
          </div>
        </section>
      ))}
      <LoadMore list={list} label={t.more} />
    </Card>
  );
}

function AssetRow(props: { asset: Asset; onRemoved: (id: string) => void }) {
  const t = useText(text);
  const language = useLanguage();
  const a = props.asset;
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<unknown>(null);
  const remove = async () => {
    setBusy(true);
    try {
      await call(`/v1/assets/${encodeURIComponent(a.id)}`, { method: 'DELETE' });
      props.onRemoved(a.id);
    } catch (err) {
      setProblem(err);
      setBusy(false);
    }
  };
  return (
    <tr data-asset-id={a.id}>
      <td class="thumb-cell">
        <AssetPreview asset={a} />
      </td>
      <td>
        {a.name}
        {a.reason ? <div class="reason field-error">{a.reason}</div> : null}
        <Problem error={problem} />
      </td>
      <td class="optional">{t[a.type]}</td>
      <td>
        <AssetStatus status={a.status} />
      </td>
      <td class="optional">{dateTime(a.created, language)}</td>
      <td class="optional mono">{a.id}</td>
      <td>
        <div class="actions row-actions">
          {a.status === 'active' ? (
            <a class="btn btn-secondary" href={playgroundLink(a.id)} data-use-asset={a.id}>
              {t.usePlayground}
            </a>
          ) : null}
          {confirming ? (
            <>
              <Button kind="danger" onClick={remove} disabled={busy} data-confirm-delete={a.id}>
                {t.confirmDelete}
              </Button>
              <Button kind="ghost" onClick={() => setConfirming(false)} disabled={busy}>
                {t.cancel}
              </Button>
            </>
          ) : (
            <Button kind="danger" onClick={() => setConfirming(true)} data-delete={a.id}>
              {t.delete}
            </Button>
          )}
        </div>
      </td>
    </tr>
  );
}
