import { type Command, InvalidArgumentError, Option, type CommanderError } from 'commander';
import { MODEL_IDS, RESOLUTIONS, SIZES, type TaskStatus } from '../sdk/index.js';
import { generateCommand, downloadWithProgress, waitAndFinish, type GenerateCliOptions } from './generate.js';
import {
  EXIT,
  EXIT_CODES_HELP,
  clientFrom,
  formatBalance,
  formatModel,
  formatTask,
  formatTaskRow,
  info,
  out,
  printJson,
  runAction,
  type ConnectionOptions,
} from './output.js';

/**
 * The client side of the `vidgate` binary: commands that call a vidgate (or APIMart-compatible)
 * server over HTTP through the SDK, next to the server commands in main.ts.
 */

const integer =
  (what: string, min: number, max: number) =>
  (value: string): number => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || n < min || n > max) throw new InvalidArgumentError(`expected ${what}`);
    return n;
  };
const seconds = (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a number of seconds above 0');
  return n;
};
const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

function withConnection(cmd: Command): Command {
  return cmd
    .showHelpAfterError(`(see: vidgate ${cmd.parent?.parent ? `${cmd.parent.name()} ` : ''}${cmd.name()} --help)`)
    .option('--base-url <url>', 'server address (default: $VIDGATE_BASE_URL or http://localhost:3000)')
    .option('--api-key <key>', 'API key (default: $VIDGATE_API_KEY or $APIMART_API_KEY)')
    .option('--json', 'print machine-readable JSON on stdout');
}

const opts = <T>(cmd: Command) => cmd.opts() as T;

export function registerClientCommands(program: Command): void {
  program.addHelpText('after', EXIT_CODES_HELP);

  withConnection(
    program
      .command('generate')
      .description('submit a video generation task; with --wait, follow it and download the result')
      .argument('[prompt]', 'what the video shows (optional when an image or video is given)')
      .option('--model <name>', `model: ${MODEL_IDS.join(', ')}`, 'doubao-seedance-2.0')
      .addOption(new Option('--resolution <r>', 'resolution (default 720p)').choices(RESOLUTIONS))
      .addOption(new Option('--size <ratio>', 'aspect ratio (default 16:9)').choices(SIZES))
      .option('--duration <seconds>', 'length, 4 to 15 (default 5)', integer('a whole number of seconds from 4 to 15', 4, 15))
      .option('--seed <n>', 'seed, -1 (random) to 4294967295', integer('an integer from -1 to 4294967295', -1, 4_294_967_295))
      .option('--audio', 'generate an audio track (generate_audio)')
      .option('--last-frame', "also return the video's last frame as a PNG (return_last_frame)")
      .option('--web-search', 'let the model search the web (tools: web_search)')
      .option('--image <file|url>', 'image: one alone is the first frame, more are references; repeatable', collect)
      .option('--first-frame <file|url>', 'first frame image')
      .option('--last-frame-image <file|url>', 'last frame image (needs --first-frame)')
      .option('--reference-image <file|url>', 'reference image with role reference_image; repeatable', collect)
      .option('--video <url>', 'reference video URL; repeatable', collect)
      .option('--audio-ref <url>', 'reference audio URL; repeatable', collect)
      .option('--wait', 'wait for the task, showing progress')
      .option('--out <file>', 'download the video here when done (implies --wait)')
      .option('--timeout <seconds>', 'stop waiting after this long (the task keeps running)', seconds)
      .option('--idempotency-key <key>', 'repeat a submit safely: the same key and body give the same task')
      .addHelpText('after', '\nLocal image files are uploaded first (POST /v1/uploads/images). Put the prompt before repeatable flags or quote it.'),
  ).action(async (prompt: string | undefined, _o, cmd: Command) => runAction((ctx) => generateCommand(prompt, opts<GenerateCliOptions>(cmd), ctx)));

  const tasks = program.command('tasks').description('get, list, cancel, wait for and download tasks');
  withConnection(
    tasks
      .command('get <task_id>')
      .description('show a task')
      .addOption(new Option('--language <lang>', 'language of a failure message').choices(['en', 'zh', 'ko', 'ja'])),
  ).action(async (id: string, _o, cmd: Command) =>
    runAction(async () => {
      const o = opts<ConnectionOptions & { language?: 'en' | 'zh' | 'ko' | 'ja' }>(cmd);
      const task = await clientFrom(o).tasks.get(id, { language: o.language });
      if (o.json) printJson(task);
      else out(formatTask(task));
      return EXIT.ok;
    }),
  );
  withConnection(
    tasks
      .command('list')
      .description('list your tasks, newest first')
      .addOption(new Option('--status <status>', 'only tasks in this status').choices(['pending', 'processing', 'completed', 'failed', 'cancelled']))
      .option('--model <name>', 'only tasks of this model')
      .option('--limit <n>', 'tasks per page, 1 to 100 (default 20)', integer('an integer from 1 to 100', 1, 100))
      .option('--after <task_id>', 'the page after this task (see next_after)'),
  ).action(async (_o, cmd: Command) =>
    runAction(async () => {
      const o = opts<ConnectionOptions & { status?: TaskStatus; model?: string; limit?: number; after?: string }>(cmd);
      const page = await clientFrom(o).tasks.list({ status: o.status, model: o.model, limit: o.limit, after: o.after });
      if (o.json) printJson(page);
      else {
        for (const task of page.data) out(formatTaskRow(task));
        if (page.data.length === 0) info('no tasks');
        if (page.has_more && page.next_after) info(`more: vidgate tasks list --after ${page.next_after}`);
      }
      return EXIT.ok;
    }),
  );
  withConnection(tasks.command('cancel <task_id>').description('cancel a pending or processing task (refunded in full)')).action(
    async (id: string, _o, cmd: Command) =>
      runAction(async () => {
        const o = opts<ConnectionOptions>(cmd);
        const task = await clientFrom(o).tasks.cancel(id);
        if (o.json) printJson(task);
        else out(`${task.id} ${task.status}`);
        return EXIT.ok;
      }),
  );
  withConnection(
    tasks
      .command('wait <task_id>')
      .description('wait for a task with a progress bar; exit 0 when completed, 1 when failed or cancelled')
      .option('--out <file>', 'download the video here when done')
      .option('--timeout <seconds>', 'stop waiting after this long (the task keeps running)', seconds),
  ).action(async (id: string, _o, cmd: Command) =>
    runAction(async (ctx) => {
      const o = opts<ConnectionOptions & { out?: string; timeout?: number }>(cmd);
      return waitAndFinish(clientFrom(o), id, o, ctx);
    }),
  );
  withConnection(
    tasks
      .command('download <task_id> [file]')
      .description("save a completed task's result (default file: <task_id>.mp4, or .png for the last frame)")
      .addOption(new Option('--variant <variant>', 'what to download').choices(['video', 'last_frame']).default('video')),
  ).action(async (id: string, file: string | undefined, _o, cmd: Command) =>
    runAction(async (ctx) => {
      const o = opts<ConnectionOptions & { variant: 'video' | 'last_frame' }>(cmd);
      const path = file ?? `${id}.${o.variant === 'video' ? 'mp4' : 'png'}`;
      ctx.onInterrupt = 'interrupted: nothing was saved';
      const saved = await downloadWithProgress(clientFrom(o), id, path, o.variant, ctx);
      if (o.json) printJson(saved);
      else out(saved.path);
      return EXIT.ok;
    }),
  );

  withConnection(program.command('balance').description("this API key's balance")).action(async (_o, cmd: Command) =>
    runAction(async () => {
      const o = opts<ConnectionOptions>(cmd);
      const balance = await clientFrom(o).balance();
      if (o.json) printJson(balance);
      else out(formatBalance(balance));
      return EXIT.ok;
    }),
  );
  withConnection(program.command('models').description('models with their resolutions and prices')).action(async (_o, cmd: Command) =>
    runAction(async () => {
      const o = opts<ConnectionOptions>(cmd);
      const models = await clientFrom(o).models();
      if (o.json) printJson(models);
      else for (const m of models) out(formatModel(m));
      return EXIT.ok;
    }),
  );

  useExitCodes(program);
}

/** Usage errors (unknown flag, bad value, missing argument) exit 2 in every command, as documented. */
function useExitCodes(cmd: Command): void {
  cmd.exitOverride((err: CommanderError) => process.exit(err.exitCode === 0 ? 0 : EXIT.usage));
  for (const sub of cmd.commands) useExitCodes(sub);
}
