import { InvalidArgumentError } from 'commander';
import { createClient, VidgateError, VidgateValidationError, type Balance, type Model, type Task, type VidgateClient } from '../sdk/index.js';

/** Exit codes of the client commands; scripts may rely on them (listed in `vidgate --help`). */
export const EXIT = { ok: 0, taskFailed: 1, usage: 2, api: 3, server: 4, interrupted: 130 } as const;

export const EXIT_CODES_HELP = `
Client commands (generate, tasks, balance, models) talk to vidgate or any APIMart-compatible API:
  VIDGATE_BASE_URL  server address (default http://localhost:3000); --base-url overrides it
  VIDGATE_API_KEY   API key (APIMART_API_KEY works too); --api-key overrides it

Exit codes:
  0    success
  1    the task failed or was cancelled
  2    usage or configuration error: bad flag or value, a parameter that breaks the submit
       rules (checked before sending), no API key, unreadable local file
  3    the API refused the request (4xx: bad key, unknown task, balance too low, …)
  4    server or network error (5xx, unreachable, timed out, --timeout reached)
  130  interrupted (Ctrl-C); a submitted task keeps running — resume with vidgate tasks wait <id>
`;

/** A mistake in how the command was called: exit 2, one line, no stack. */
export class CliUsageError extends Error {
  override name = 'CliUsageError';
}

export interface ConnectionOptions {
  baseUrl?: string;
  apiKey?: string;
  json?: boolean;
}

export function clientFrom(opts: ConnectionOptions): VidgateClient {
  const apiKey = opts.apiKey ?? process.env.VIDGATE_API_KEY ?? process.env.APIMART_API_KEY;
  if (!apiKey) throw new CliUsageError('no API key: set VIDGATE_API_KEY (or APIMART_API_KEY), or pass --api-key');
  return createClient({ baseURL: opts.baseUrl ?? process.env.VIDGATE_BASE_URL, apiKey });
}

export const out = (text: string) => void process.stdout.write(`${text}\n`);
/** Human-readable notes go to stderr, so stdout holds only the result. */
export const info = (text: string) => void process.stderr.write(`${text}\n`);
export const printJson = (value: unknown) => out(JSON.stringify(value, null, 2));

export function exitCodeFor(err: unknown): number {
  if (err instanceof CliUsageError || err instanceof InvalidArgumentError || err instanceof VidgateValidationError) return EXIT.usage;
  if (err instanceof VidgateError) {
    if (err.type === 'configuration_error') return EXIT.usage;
    return err.status >= 400 && err.status < 500 ? EXIT.api : EXIT.server;
  }
  if (isLocalFileError(err)) return EXIT.usage;
  return EXIT.server;
}

const isLocalFileError = (err: unknown): err is NodeJS.ErrnoException =>
  err instanceof Error && typeof (err as NodeJS.ErrnoException).syscall === 'string' && typeof (err as NodeJS.ErrnoException).path === 'string';

export function errorLine(err: unknown): string {
  if (err instanceof VidgateError && !(err instanceof VidgateValidationError) && err.status > 0) {
    const details = [`HTTP ${err.status}`, err.type, err.param ? `param ${err.param}` : '', err.requestId ? `request ${err.requestId}` : ''].filter(Boolean);
    return `${err.message} (${details.join(', ')})`;
  }
  if (err instanceof Error) return err.message;
  return String(err);
}

export interface ActionContext {
  /** Aborted on Ctrl-C. */
  signal: AbortSignal;
  /** What to print if interrupted now, e.g. how to resume; set as the command goes. */
  onInterrupt: string;
  /** Called before anything is printed about an error or an interruption (stops progress bars). */
  cleanup: Array<() => void>;
}

async function exit(code: number): Promise<never> {
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  await new Promise<void>((resolve) => process.stderr.write('', () => resolve()));
  process.exit(code);
}

/**
 * Runs a client command: Ctrl-C aborts its requests and waits (the second one exits at once), errors
 * become one line on stderr and an exit code. Never returns.
 */
export async function runAction(action: (ctx: ActionContext) => Promise<number>): Promise<never> {
  const controller = new AbortController();
  const ctx: ActionContext = { signal: controller.signal, onInterrupt: 'interrupted', cleanup: [] };
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(EXIT.interrupted);
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  let code: number;
  try {
    code = await action(ctx);
  } catch (err) {
    for (const f of ctx.cleanup) f();
    if (controller.signal.aborted) {
      info(`\n${ctx.onInterrupt}`);
      code = EXIT.interrupted;
    } else {
      code = exitCodeFor(err);
      info(`vidgate: ${errorLine(err)}`);
      if (process.env.VIDGATE_DEBUG && err instanceof Error && err.stack) info(err.stack);
    }
  }
  process.off('SIGINT', onSigint);
  return exit(code);
}

// ---------------------------------------------------------------- human-readable views

const usd = (n: number | undefined) => (n === undefined ? '–' : `$${Number(n.toFixed(6))}`);
const when = (unix: number) =>
  unix
    ? new Date(unix * 1000)
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z')
    : '–';

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}

export function formatTask(task: Task): string {
  const lines = [`${task.id}  ${task.status}  ${task.progress}%`, `  created     ${when(task.created)}`];
  if (task.estimated_time !== undefined && task.status !== 'completed') lines.push(`  estimated   ${formatDuration(task.estimated_time)}`);
  if (task.actual_time !== undefined) lines.push(`  took        ${formatDuration(task.actual_time)}`);
  for (const video of task.result?.videos ?? []) for (const url of video.url) lines.push(`  video       ${url}`);
  if (task.result?.last_frame_url) lines.push(`  last frame  ${task.result.last_frame_url}`);
  if (task.result?.videos[0]?.expires_at) lines.push(`  expires     ${when(task.result.videos[0].expires_at)}`);
  if (task.error) lines.push(`  error       ${task.error.code}: ${task.error.message}`);
  if (task.cost !== undefined) lines.push(`  cost        ${usd(task.cost)}`);
  return lines.join('\n');
}

export function formatTaskRow(task: Task): string {
  return [task.id, task.status.padEnd(10), `${String(task.progress).padStart(3)}%`, when(task.created), usd(task.cost)].join('  ');
}

export function formatBalance(b: Balance): string {
  const remain = b.unlimited_quota || b.remain_balance === -1 ? 'unlimited' : usd(b.remain_balance);
  return `remaining  ${remain}\nused       ${usd(b.used_balance)}`;
}

export function formatModel(m: Model): string {
  const prices = Object.values(m.pricing?.per_second ?? {});
  const price = prices.length ? `${usd(Math.min(...prices))}–${usd(Math.max(...prices))} per second` : '';
  return [m.id.padEnd(30), (m.resolutions ?? []).join(' ').padEnd(22), price].join('  ').trimEnd();
}
