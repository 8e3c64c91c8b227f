import { useState } from 'preact/hooks';
import { ApiProblem, call, setCredentials } from '../api.js';
import { defineText, useText } from '../i18n.js';
import { navigate } from '../router.js';
import { useSession } from '../session.js';
import { Button, Card, Field } from '../components/ui.js';

const text = defineText({
  en: {
    title: 'Keys & settings',
    welcome: 'Welcome to vidgate',
    intro: 'Paste the API key vidgate printed when it first started (or one an operator gave you). It stays in this browser only.',
    key: 'API key',
    use: 'Use this key',
    forget: 'Forget',
    checking: 'Checking…',
    keyOk: 'Key accepted.',
    admin: 'Admin token',
    adminIntro: 'Operators: the VIDGATE_ADMIN_TOKEN of this server opens the operator area.',
    useAdmin: 'Use this token',
    adminOk: 'Admin token accepted.',
    badKey: 'This server does not accept that key.',
    badAdmin: 'This server does not accept that admin token.',
    noAdmin: 'This server has no admin token configured (set VIDGATE_ADMIN_TOKEN).',
  },
  zh: {
    title: '密钥与设置',
    welcome: '欢迎使用 vidgate',
    intro: '粘贴 vidgate 首次启动时打印的 API 密钥（或运维人员给你的密钥）。密钥只保存在本浏览器中。',
    key: 'API 密钥',
    use: '使用此密钥',
    forget: '清除',
    checking: '正在验证…',
    keyOk: '密钥有效。',
    admin: '管理员令牌',
    adminIntro: '运维人员：填入本服务的 VIDGATE_ADMIN_TOKEN 即可进入运维区。',
    useAdmin: '使用此令牌',
    adminOk: '管理员令牌有效。',
    badKey: '服务器不接受这个密钥。',
    badAdmin: '服务器不接受这个管理员令牌。',
    noAdmin: '服务器未配置管理员令牌（请设置 VIDGATE_ADMIN_TOKEN）。',
  },
});

/** Where a visitor gives the console its credentials; `reason` says which page sent them here. */
export function SignIn(props: { reason?: string; admin?: boolean }) {
  const t = useText(text);
  const { session, update } = useSession();
  const [key, setKey] = useState(session.key);
  const [admin, setAdmin] = useState(session.admin);
  const [keyState, setKeyState] = useState<{ ok?: string; error?: string }>({});
  const [adminState, setAdminState] = useState<{ ok?: string; error?: string }>({});

  const checkKey = async (event: Event) => {
    event.preventDefault();
    const candidate = key.trim();
    setKeyState({ ok: t.checking });
    setCredentials({ key: candidate, admin: session.admin });
    try {
      await call('/v1/user/balance');
      update({ key: candidate });
      setKeyState({ ok: t.keyOk });
      if (props.reason) navigate('/playground');
    } catch (err) {
      setCredentials({ key: session.key, admin: session.admin });
      setKeyState({ error: err instanceof ApiProblem && err.status === 401 ? t.badKey : (err as Error).message });
    }
  };
  const checkAdmin = async (event: Event) => {
    event.preventDefault();
    const candidate = admin.trim();
    setAdminState({ ok: t.checking });
    setCredentials({ key: session.key, admin: candidate });
    try {
      await call('/admin/v1/accounts', { as: 'admin', query: { limit: 1 } });
      update({ admin: candidate });
      setAdminState({ ok: t.adminOk });
    } catch (err) {
      setCredentials({ key: session.key, admin: session.admin });
      const status = err instanceof ApiProblem ? err.status : 0;
      setAdminState({ error: status === 401 && /disabled/.test((err as Error).message) ? t.noAdmin : status === 401 ? t.badAdmin : (err as Error).message });
    }
  };

  return (
    <div class="sign-in">
      <h1>{session.key ? t.title : t.welcome}</h1>
      {props.reason ? <p class="muted">{props.reason}</p> : null}
      <Card title={t.key}>
        <p class="muted">{t.intro}</p>
        <form onSubmit={checkKey} class="fields">
          <Field label={t.key} name="api_key" error={keyState.error} wide>
            <input
              type="password"
              name="api_key"
              value={key}
              onInput={(e) => setKey(e.currentTarget.value)}
              placeholder="sk-…"
              autoComplete="off"
              spellcheck={false}
            />
          </Field>
          <div class="actions">
            <Button kind="primary" type="submit" disabled={!key.trim()}>
              {t.use}
            </Button>
            {session.key ? (
              <Button
                onClick={() => {
                  update({ key: '' });
                  setKey('');
                  setKeyState({});
                }}
                kind="ghost"
              >
                {t.forget}
              </Button>
            ) : null}
            {keyState.ok ? (
              <span class="muted" role="status">
                {keyState.ok}
              </span>
            ) : null}
          </div>
        </form>
      </Card>
      <Card title={t.admin}>
        <p class="muted">{t.adminIntro}</p>
        <form onSubmit={checkAdmin} class="fields">
          <Field label={t.admin} name="admin_token" error={adminState.error} wide>
            <input type="password" name="admin_token" value={admin} onInput={(e) => setAdmin(e.currentTarget.value)} autoComplete="off" spellcheck={false} />
          </Field>
          <div class="actions">
            <Button kind="primary" type="submit" disabled={!admin.trim()}>
              {t.useAdmin}
            </Button>
            {session.admin ? (
              <Button
                onClick={() => {
                  update({ admin: '' });
                  setAdmin('');
                  setAdminState({});
                }}
                kind="ghost"
              >
                {t.forget}
              </Button>
            ) : null}
            {adminState.ok ? (
              <span class="muted" role="status">
                {adminState.ok}
              </span>
            ) : null}
          </div>
        </form>
      </Card>
    </div>
  );
}
