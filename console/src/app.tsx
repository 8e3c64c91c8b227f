import type { ComponentChildren } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { call, setCredentials } from './api.js';
import { defineText, initialLanguage, LanguageContext, type UiLanguage, useText } from './i18n.js';
import { type Route, useRoute } from './router.js';
import { loadStored, type Session, SessionContext, store, type Theme, useSession } from './session.js';
import { usd } from './format.js';
import type { Balance } from './types.js';
import { SignIn } from './pages/sign-in.js';
import { Playground } from './pages/playground.js';
import { History } from './pages/history.js';
import { TaskPage } from './pages/task.js';
import { Assets } from './pages/assets.js';
import { Usage } from './pages/usage.js';
import { AdminAccounts } from './pages/admin/accounts.js';
import { AdminAccount } from './pages/admin/account.js';
import { AdminChannels } from './pages/admin/channels.js';
import { AdminQueue } from './pages/admin/queue.js';
import { AdminWebhooks } from './pages/admin/webhooks.js';
import { AdminUsage } from './pages/admin/usage.js';

const text = defineText({
  en: {
    tagline: 'Seedance 2.0, self-hosted',
    developer: 'Developer',
    playground: 'Playground',
    history: 'History',
    assets: 'Assets',
    usage: 'Usage',
    settings: 'Keys & settings',
    operator: 'Operator',
    accounts: 'Accounts',
    channels: 'Channels',
    queue: 'Queue',
    webhooks: 'Webhooks',
    serviceUsage: 'Service usage',
    docs: 'API docs',
    menu: 'Menu',
    theme: 'Theme',
    light: 'Light',
    dark: 'Dark',
    system: 'Auto',
    language: 'Language',
    balance: 'Balance',
    unlimited: 'unlimited',
    notFound: 'There is no such page.',
    needKey: 'Paste an API key first.',
    needAdmin: 'This area needs the admin token (VIDGATE_ADMIN_TOKEN).',
  },
  zh: {
    tagline: '自托管的 Seedance 2.0',
    developer: '开发',
    playground: '试用',
    history: '历史任务',
    assets: '素材',
    usage: '用量',
    settings: '密钥与设置',
    operator: '运维',
    accounts: '账户',
    channels: '渠道',
    queue: '队列',
    webhooks: 'Webhook',
    serviceUsage: '全站用量',
    docs: 'API 文档',
    menu: '菜单',
    theme: '主题',
    light: '浅色',
    dark: '深色',
    system: '自动',
    language: '语言',
    balance: '余额',
    unlimited: '不限额',
    notFound: '没有这个页面。',
    needKey: '请先粘贴 API 密钥。',
    needAdmin: '此区域需要管理员令牌（VIDGATE_ADMIN_TOKEN）。',
  },
});

function initialSession(): Session {
  const theme = loadStored('theme');
  return {
    key: loadStored('key') ?? '',
    admin: loadStored('admin') ?? '',
    language: initialLanguage(loadStored('language'), navigator.languages ?? [navigator.language]),
    theme: theme === 'light' || theme === 'dark' ? theme : 'system',
  };
}

export function App() {
  const [session, setSession] = useState(initialSession);
  setCredentials({ key: session.key, admin: session.admin });
  const controls = useMemo(
    () => ({
      session,
      update(change: Partial<Session>) {
        for (const [name, value] of Object.entries(change)) store(name as keyof Session, String(value));
        setSession((s) => ({ ...s, ...change }));
      },
    }),
    [session],
  );
  useEffect(() => {
    const root = document.documentElement;
    if (session.theme === 'system') delete root.dataset.theme;
    else root.dataset.theme = session.theme;
    root.lang = session.language === 'zh' ? 'zh-CN' : 'en';
  }, [session.theme, session.language]);
  return (
    <SessionContext.Provider value={controls}>
      <LanguageContext.Provider value={session.language}>
        <Shell />
      </LanguageContext.Provider>
    </SessionContext.Provider>
  );
}

const DEVELOPER_PAGES = [
  ['/playground', 'playground'],
  ['/history', 'history'],
  ['/assets', 'assets'],
  ['/usage', 'usage'],
  ['/settings', 'settings'],
] as const;
const OPERATOR_PAGES = [
  ['/admin/accounts', 'accounts'],
  ['/admin/channels', 'channels'],
  ['/admin/queue', 'queue'],
  ['/admin/webhooks', 'webhooks'],
  ['/admin/usage', 'serviceUsage'],
] as const;

function Shell() {
  const t = useText(text);
  const route = useRoute();
  const { session } = useSession();
  const [menuOpen, setMenuOpen] = useState(false);
  useEffect(() => setMenuOpen(false), [route.path]);
  const current = (path: string) => route.path === path || route.path.startsWith(`${path}/`) || (path === '/playground' && route.path === '/');
  return (
    <div class={`shell${menuOpen ? ' menu-open' : ''}`}>
      <aside class="sidebar">
        <a class="brand" href="#/playground">
          vidgate <small>{t.tagline}</small>
        </a>
        <div class="nav-group">{t.developer}</div>
        <nav class="nav" aria-label={t.developer}>
          {DEVELOPER_PAGES.map(([path, name]) => (
            <a key={path} href={`#${path}`} aria-current={current(path) ? 'page' : undefined}>
              {t[name]}
            </a>
          ))}
        </nav>
        <div class="nav-group">{t.operator}</div>
        <nav class="nav" aria-label={t.operator}>
          {OPERATOR_PAGES.map(([path, name]) => (
            <a key={path} href={`#${path}`} aria-current={current(path) ? 'page' : undefined}>
              {t[name]}
            </a>
          ))}
        </nav>
        <div class="sidebar-foot">
          <Preferences />
          <a href="/docs" target="_blank" rel="noreferrer">
            {t.docs}
          </a>
        </div>
      </aside>
      <main class="main">
        <div class="topbar">
          <button type="button" class="btn menu-toggle" onClick={() => setMenuOpen(!menuOpen)} aria-expanded={menuOpen}>
            {t.menu}
          </button>
          <span />
          {session.key ? <BalanceChip path={route.path} /> : null}
        </div>
        <Page route={route} />
      </main>
    </div>
  );
}

function Preferences() {
  const t = useText(text);
  const { session, update } = useSession();
  const themes: Array<[Theme, string]> = [
    ['light', t.light],
    ['dark', t.dark],
    ['system', t.system],
  ];
  const languages: Array<[UiLanguage, string]> = [
    ['en', 'English'],
    ['zh', '中文'],
  ];
  return (
    <>
      <fieldset class="segmented">
        <legend class="visually-hidden">{t.theme}</legend>
        {themes.map(([value, label]) => (
          <button key={value} type="button" aria-pressed={session.theme === value} onClick={() => update({ theme: value })} data-theme-choice={value}>
            {label}
          </button>
        ))}
      </fieldset>
      <fieldset class="segmented">
        <legend class="visually-hidden">{t.language}</legend>
        {languages.map(([value, label]) => (
          <button key={value} type="button" aria-pressed={session.language === value} onClick={() => update({ language: value })} data-language-choice={value}>
            {label}
          </button>
        ))}
      </fieldset>
    </>
  );
}

/** The account's balance, read again on every page change and whenever a page says money moved. */
function BalanceChip(props: { path: string }) {
  const t = useText(text);
  const { session } = useSession();
  const language = session.language;
  const [balance, setBalance] = useState<Balance | null>(null);
  const [round, setRound] = useState(0);
  useEffect(() => {
    const onMoved = () => setRound((r) => r + 1);
    window.addEventListener('vidgate:balance', onMoved);
    return () => window.removeEventListener('vidgate:balance', onMoved);
  }, []);
  // Read again on navigation and whenever a page announces that money moved.
  useEffect(() => {
    const controller = new AbortController();
    call<Balance>('/v1/user/balance', { signal: controller.signal })
      .then(setBalance)
      .catch(() => setBalance(null));
    return () => controller.abort();
  }, [props.path, round, session.key]);
  if (!balance) return null;
  return (
    <span class="balance-chip" data-testid="balance">
      {t.balance}: {balance.unlimited_quota ? t.unlimited : usd(balance.remain_balance, language)}
    </span>
  );
}

function Gate(props: { need: 'key' | 'admin'; children: ComponentChildren }) {
  const t = useText(text);
  const { session } = useSession();
  if (props.need === 'key' && !session.key) return <SignIn reason={t.needKey} />;
  if (props.need === 'admin' && !session.admin) return <SignIn reason={t.needAdmin} admin />;
  return <>{props.children}</>;
}

function Page(props: { route: Route }) {
  const t = useText(text);
  const { segments, query } = props.route;
  const [first = 'playground', second, third] = segments;
  if (first === 'settings') return <SignIn />;
  if (first === 'admin') {
    const page = second ?? 'accounts';
    const admin = (child: ComponentChildren) => <Gate need="admin">{child}</Gate>;
    if (page === 'accounts' && third) return admin(<AdminAccount id={third} />);
    if (page === 'accounts') return admin(<AdminAccounts />);
    if (page === 'channels') return admin(<AdminChannels />);
    if (page === 'queue') return admin(<AdminQueue />);
    if (page === 'webhooks') return admin(<AdminWebhooks query={query} />);
    if (page === 'usage') return admin(<AdminUsage query={query} />);
    return <p class="empty">{t.notFound}</p>;
  }
  const user = (child: ComponentChildren) => <Gate need="key">{child}</Gate>;
  if (first === 'playground') return user(<Playground query={query} />);
  if (first === 'history') return user(<History query={query} />);
  if (first === 'tasks' && second) return user(<TaskPage id={second} />);
  if (first === 'assets') return user(<Assets query={query} />);
  if (first === 'usage') return user(<Usage query={query} />);
  return <p class="empty">{t.notFound}</p>;
}
