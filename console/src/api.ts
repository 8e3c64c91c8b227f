/**
 * The console is a client like any other: every call goes through the public API (bearer key) or
 * the admin API (admin token), and errors arrive in the contract's envelope.
 */

export type Credential = 'key' | 'admin';

/** An answer in the error envelope: `param` names the request field at fault, when there is one. */
export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: string,
    readonly param?: string,
  ) {
    super(message);
  }
}

export interface Credentials {
  key: string;
  admin: string;
}

let credentials: Credentials = { key: '', admin: '' };
export const setCredentials = (next: Credentials): void => {
  credentials = next;
};

type Query = Record<string, string | number | boolean | undefined | null>;

export function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value !== undefined && value !== null && value !== '') params.set(name, String(value));
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

export interface CallOptions {
  method?: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  body?: unknown;
  query?: Query;
  as?: Credential;
  signal?: AbortSignal;
}

function headersFor(as: Credential, json: boolean): Record<string, string> {
  const token = as === 'admin' ? credentials.admin : credentials.key;
  return { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(json ? { 'content-type': 'application/json' } : {}) };
}

async function problemOf(res: Response): Promise<ApiProblem> {
  const body = (await res.json().catch(() => null)) as { error?: { message?: string; type?: string; param?: string } } | null;
  const error = body?.error;
  return new ApiProblem(res.status, error?.message ?? `${res.status} ${res.statusText}`, error?.type ?? 'api_error', error?.param);
}

export async function call<T>(path: string, opts: CallOptions = {}): Promise<T> {
  const as = opts.as ?? 'key';
  const form = opts.body instanceof FormData;
  const res = await fetch(withQuery(path, opts.query), {
    method: opts.method ?? (opts.body === undefined ? 'GET' : 'POST'),
    headers: headersFor(as, opts.body !== undefined && !form),
    body: opts.body === undefined ? undefined : form ? (opts.body as FormData) : JSON.stringify(opts.body),
    signal: opts.signal,
  });
  if (!res.ok) throw await problemOf(res);
  return (await res.json()) as T;
}

/**
 * Follows a task's Server-Sent Events with fetch (EventSource cannot send the key), handing each
 * state to `onState` until it returns true. Resolves true when the stream delivered a final state,
 * false when the server has no stream or it ended early, so the caller can fall back to polling.
 */
export async function followEvents<T>(path: string, onState: (state: T, id: number) => boolean, signal?: AbortSignal, lastEventId?: number): Promise<boolean> {
  const res = await fetch(path, {
    headers: { ...headersFor('key', false), accept: 'text/event-stream', ...(lastEventId !== undefined ? { 'last-event-id': String(lastEventId) } : {}) },
    signal,
  });
  if (res.status === 204) return true;
  if (!res.ok || !res.body || !(res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    await res.body?.cancel();
    return false;
  }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return false;
      buffer += value.replace(/\r\n?/g, '\n');
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const lines = buffer.slice(0, end).split('\n');
        buffer = buffer.slice(end + 2);
        const data = lines
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).trimStart())
          .join('\n');
        if (!data) continue;
        const id = Number(
          lines
            .find((l) => l.startsWith('id:'))
            ?.slice(3)
            .trim() ?? Number.NaN,
        );
        if (onState((JSON.parse(data) as { data: T }).data, id)) return true;
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}
