import { readFile, writeFile } from 'node:fs/promises';
import { median } from './rounds.js';
import type { Machine } from './machine.js';
import { pairRatio, type BigRenderResult, type ModeResult } from './render-modes.js';
import { HTTP_READING, httpBlock, httpBullet, httpRows, previousHttpHistory, type HttpResults } from './http.js';

export interface RenderRun {
  /** Wall time from just before the POST to the dispatcher's settled event. */
  totalMs: number;
  /** POST round trip as the client saw it. */
  postMs: number;
  /** From the POST to the dispatcher's "task started" log line (queue + claim), when found. */
  queuedMs: number | null;
  /** The dispatcher's own "task completed" duration: provider run + result storage. */
  runMs: number | null;
  /** CPU seconds (user + system) of the task's ffmpeg, and of the floor run before it. */
  cpuS?: number;
  floorCpuS?: number;
}

export interface BenchResults {
  date: string;
  command: string;
  machine: Machine;
  settings: { connections: number; durationSeconds: number; warmupSeconds: number; rounds: number };
  /** The HTTP rows on SQLite: vidgate against its same-work floors and the bare ceiling (bench/http.ts). */
  http: HttpResults;
  renders: RenderRun[];
  ffmpegFloorMs: number[];
  ffmpegFloorCommand: string;
  /** The renderer's x264 preset (used by the floor too) and any extra x264 options it adds (not in the floor). */
  encoder: { preset: string; extra: string | null };
  /** Each render mode at 720p 5 s next to the bare ffmpeg floor with the renderer's encoder settings. */
  modes: ModeResult[];
  modeRepeats: number;
  modeFloorCommand: string;
  /** The 4k 15 s render through `vidgate serve`; null when skipped (BENCH_QUICK). */
  bigRender: BigRenderResult | null;
  totalSeconds: number;
}

/** What the render rows and details need: all of a full run's results, or those of `BENCH_ONLY=renders`. */
export type RenderResults = Pick<
  BenchResults,
  | 'date'
  | 'command'
  | 'machine'
  | 'renders'
  | 'ffmpegFloorMs'
  | 'ffmpegFloorCommand'
  | 'encoder'
  | 'modes'
  | 'modeRepeats'
  | 'modeFloorCommand'
  | 'bigRender'
  | 'totalSeconds'
>;

/** How the render rows of the results table begin, so a renders-only run finds and replaces them. */
const RENDER_ROW_PREFIX = 'Submit → completed';
const RENDER_ROW_PATTERNS = [/^\| Submit → completed/, /^\| Render mode: /, /^\| Peak RSS of the server process during that render/];

export const TARGETS = {
  /** Submit → completed of the 5 s 720p task over its bare ffmpeg floor (issue 17). */
  renderRatio: 2,
  /** Every render mode, render time over the ffmpeg floor (issue 17). */
  modeRatio: 1.3,
  bigRenderMs: 90_000,
  /** Server and its ffmpeg together during the 4k render, largest sum at one moment (issue 17). */
  combinedPeakMiB: 400,
} as const;

const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const ms = (n: number, digits = 1): string => (Number.isFinite(n) ? `${n.toFixed(digits)} ms` : 'n/a');
const sec = (n: number): string => `${(n / 1000).toFixed(2)} s`;
const pct = (n: number): string => `${Math.round(n * 100)} %`;
const verdict = (ok: boolean): string => (ok ? 'PASS' : 'FAIL');

export interface Row {
  measure: string;
  result: string;
  floor: string;
  vsFloor: string;
  target: string;
  pass: string;
}

export function summaryRows(b: BenchResults): Row[] {
  return [...httpRows(b.http), ...renderRows(b)];
}

/** The render rows of the results table: submit → completed, the modes, the 4k render. */
export function renderRows(b: RenderResults): Row[] {
  const renderMedian = median(b.renders.map((r) => r.totalMs));
  const ffmpegMedian = median(b.ffmpegFloorMs);
  const ratio = renderMedian / ffmpegMedian;
  const cpus = b.renders.map((r) => r.cpuS).filter((n): n is number => n !== undefined);
  const floorCpus = b.renders.map((r) => r.floorCpuS).filter((n): n is number => n !== undefined);
  const cpuRatio = cpus.length && floorCpus.length ? ` (CPU ${(median(cpus) / median(floorCpus)).toFixed(2)}×)` : '';
  return [
    {
      measure: `${RENDER_ROW_PREFIX}, 5 s 720p 16:9 with audio (median of ${b.renders.length})`,
      result: `${sec(renderMedian)} (runs: ${b.renders.map((r) => sec(r.totalMs)).join(', ')})`,
      floor: `${sec(ffmpegMedian)} (bare ffmpeg, median of ${b.ffmpegFloorMs.length})`,
      vsFloor: `${ratio.toFixed(2)}×${cpuRatio}`,
      target: `≤ ${TARGETS.renderRatio}× floor`,
      pass: verdict(ratio <= TARGETS.renderRatio),
    },
    ...modeRows(b),
    ...bigRenderRows(b),
  ];
}

/**
 * Wall-time ratio of a mode to its floor: each render ran back to back with a floor run, so the median
 * of those pairs' ratios is what a busy spell on the shared machine disturbs least.
 */
export function modeRatio(m: ModeResult): { pairs: number; median: number; cpu: number } {
  return {
    pairs: pairRatio(m),
    median: median(m.renderMs) / median(m.floorMs),
    cpu: median(m.renderCpuS) / median(m.floorCpuS),
  };
}

function modeRows(b: RenderResults): Row[] {
  return b.modes.map((m) => {
    const ratio = modeRatio(m);
    return {
      measure: `Render mode: ${m.name}, 720p 16:9 5 s (${m.renderMs.length} pairs)`,
      result: `${sec(median(m.renderMs))} median (CPU ${median(m.renderCpuS).toFixed(2)} s)`,
      floor: `${sec(median(m.floorMs))} median (CPU ${median(m.floorCpuS).toFixed(2)} s)`,
      vsFloor: `${ratio.pairs.toFixed(2)}× (CPU ${ratio.cpu.toFixed(2)}×)`,
      target: m.target ? `≤ ${TARGETS.modeRatio}× floor` : '—',
      pass: m.target ? verdict(ratio.pairs <= TARGETS.modeRatio) : '—',
    };
  });
}

function bigRenderRows(b: RenderResults): Row[] {
  const big = b.bigRender;
  if (!big) return [];
  const completed = big.status === 'completed';
  return [
    {
      measure: `Submit → completed, ${big.durationSeconds} s ${big.resolution} (${big.pixels}) text with audio, via \`vidgate serve\``,
      result: `${sec(big.totalMs)}${completed ? '' : ` — ${big.status}`}`,
      floor: '—',
      vsFloor: '—',
      target: `< ${sec(TARGETS.bigRenderMs)}`,
      pass: verdict(completed && big.totalMs < TARGETS.bigRenderMs),
    },
    {
      measure: 'Peak RSS of the server process during that render',
      result: `${big.serverPeakMiB} MiB (its ffmpeg: ${big.ffmpegPeakMiB} MiB; both at once: ${big.combinedPeakMiB} MiB)`,
      floor: `bare ffmpeg 4k encode: ${big.floorFfmpegPeakMiB} MiB`,
      vsFloor: `ffmpeg ${(big.ffmpegPeakMiB / big.floorFfmpegPeakMiB).toFixed(2)}×`,
      target: `both at once < ${TARGETS.combinedPeakMiB} MiB`,
      pass: verdict(completed && big.combinedPeakMiB < TARGETS.combinedPeakMiB),
    },
  ];
}

function markdownTable(headers: string[], rows: string[][]): string {
  const escapeCell = (cell: string) => cell.replace(/\|/g, '\\|');
  return [`| ${headers.join(' | ')} |`, `| ${headers.map(() => '---').join(' | ')} |`, ...rows.map((row) => `| ${row.map(escapeCell).join(' | ')} |`)].join(
    '\n',
  );
}

/** Plain fixed-width table for the terminal. */
export function textTable(rows: Row[]): string {
  const headers = ['Measure', 'Result', 'Floor', 'vs floor', 'Target', 'Pass'];
  const cells = [headers, ...rows.map((r) => [r.measure, r.result, r.floor, r.vsFloor, r.target, r.pass])];
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  const line = (row: string[]) => row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

function renderDetails(b: RenderResults): string {
  const opt = (n: number | null) => (n === null ? 'n/a' : ms(n, 0));
  return markdownTable(
    ['Run', 'Submit → completed', 'POST round trip', 'POST → task started', 'Task run (render + store)', 'Bare ffmpeg floor', 'ffmpeg CPU: task / floor'],
    b.renders.map((r, i) => [
      String(i + 1),
      ms(r.totalMs, 0),
      ms(r.postMs, 1),
      opt(r.queuedMs),
      opt(r.runMs),
      b.ffmpegFloorMs[i] === undefined ? 'n/a' : ms(b.ffmpegFloorMs[i]!, 0),
      r.cpuS === undefined || r.floorCpuS === undefined ? 'n/a' : `${r.cpuS.toFixed(2)} / ${r.floorCpuS.toFixed(2)} s`,
    ]),
  );
}

function modeDetails(b: RenderResults): string {
  if (b.modes.length === 0) return '';
  const list = (values: number[], format: (n: number) => string) => values.map(format).join(', ');
  const table = markdownTable(
    ['Mode', 'What is rendered', 'Render runs', 'Floor runs', 'Pair ratios', 'Render CPU (s)', 'Floor CPU (s)'],
    b.modes.map((m) => [
      m.name,
      m.what,
      list(m.renderMs, (n) => ms(n, 0)),
      list(m.floorMs, (n) => ms(n, 0)),
      list(
        m.renderMs.map((r, i) => r / m.floorMs[i]!),
        (n) => `${n.toFixed(2)}×`,
      ),
      list(m.renderCpuS, (n) => n.toFixed(2)),
      list(m.floorCpuS, (n) => n.toFixed(2)),
    ]),
  );
  return `Render modes: each run calls the local renderer in-process (\`renderVideo\`, the code the \`local\` provider runs, from text files to the finished MP4) for 1248×704, 24 fps, 120 frames, no audio unless said, back to back with a run of the floor below (floor first in odd runs, render first in even ones); wall times, and the CPU time of the ffmpeg children (user + system, from /proc). The ratio judged is the median over the pairs of render time ÷ floor time, since a busy spell of the shared machine tends to hit both runs of a pair alike; the CPU ratio, which other work hardly disturbs, is shown beside it. Every mode is held to ${TARGETS.modeRatio}× the floor (issue 17).

${table}

Floor for the modes (the renderer's own encoder settings, from \`src/render/encode.ts\`):

\`\`\`
${b.modeFloorCommand}
\`\`\`
`;
}

function bigRenderDetails(b: RenderResults): string {
  const big = b.bigRender;
  if (!big) return '';
  return `4k render: seed case 1's body at \`resolution: "4k"\`, \`duration: 15\` (3840×2160, 360 frames, with audio), submitted over HTTP to a separate \`vidgate serve\` process (\`${big.serverCommand}\`, as \`npm start\` runs it) and polled until ${big.status}. Memory is sampled every 100 ms from /proc: the server's own high-water mark (VmHWM), the ffmpeg child's, and the largest sum of both resident sizes at one moment, which is what the target judges. Most of ffmpeg's share is x264: at 4k the renderer gives x264 2 frame threads instead of 4 (\`src/render/encode.ts\`), and the bare encode below, of a synthetic 3 s source with the renderer's settings, peaks at ${big.floorFfmpegPeakMiB} MiB in ${sec(big.floorMs)}; the same with the 4 frame threads used up to 1080p peaks at ${big.frameThreadsFloorPeakMiB} MiB in ${sec(big.frameThreadsFloorMs)}.

\`\`\`
${big.floorCommand}
\`\`\`
`;
}

const RENDER_BLOCK_START = '<!-- renders: rewritten by BENCH_ONLY=renders -->';
const RENDER_BLOCK_END = '<!-- /renders -->';

/** The render details (submit → completed runs, floors, modes, 4k), between markers a renders-only run finds. */
function renderBlock(b: RenderResults): string {
  const m = b.machine;
  return `${RENDER_BLOCK_START}
Render rows and details: ${b.date}, \`${b.command}\`${b.command.includes('BENCH_ONLY') ? ` (${b.totalSeconds.toFixed(0)} s)` : ''}; ${m.cpu}, ${m.cores} cores, ${m.ffmpeg}, 1-min load average at start ${m.loadAtStart}.

Renders (run *i* of vidgate and of the ffmpeg floor were interleaved):

${renderDetails(b)}

ffmpeg floor command (preset read from \`src/render/encode.ts\`: \`${b.encoder.preset}\`${b.encoder.extra ? `; the renderer also passes \`${b.encoder.extra}\`, which this floor does not` : ''}):

\`\`\`
${b.ffmpegFloorCommand}
\`\`\`

${modeDetails(b)}
${bigRenderDetails(b)}${RENDER_BLOCK_END}
`;
}

/** A history line of a renders-only run: the HTTP cells stay empty. */
function renderHistoryRow(b: RenderResults): string {
  const cells = [
    b.date,
    '—',
    '—',
    '—',
    '—',
    '—',
    sec(median(b.renders.map((r) => r.totalMs))),
    sec(median(b.ffmpegFloorMs)),
    String(b.machine.loadAtStart),
    b.modes.map((m) => `${modeRatio(m).pairs.toFixed(2)}×`).join(' / ') || '—',
    b.bigRender ? `${sec(b.bigRender.totalMs)} (${b.bigRender.serverPeakMiB} / ${b.bigRender.ffmpegPeakMiB} MiB)` : '—',
  ];
  return `| ${cells.join(' | ')} |`;
}

/**
 * \`BENCH_ONLY=renders\`: rewrites only the render parts of BENCHMARKS.md: the render rows of the
 * results table (in place), the render details (between their markers, or from "Renders (run" to the
 * next heading in a file written before the markers), and one new history line.
 */
export async function writeRenderParts(file: string, b: RenderResults): Promise<void> {
  let lines = (await readFile(file, 'utf8')).split('\n');
  const results = lines.indexOf('## Results');
  if (results < 0) throw new Error(`${file} has no results table: run the whole benchmark once`);
  const isRenderRow = (line: string) => RENDER_ROW_PATTERNS.some((pattern) => pattern.test(line));
  let at = lines.findIndex((line, i) => i > results && isRenderRow(line));
  if (at < 0) {
    at = lines.findIndex((line, i) => i > results && line.startsWith('|'));
    while (at >= 0 && lines[at]?.startsWith('|')) at++;
  }
  const fresh = renderRows(b).map((r) => `| ${[r.measure, r.result, r.floor, r.vsFloor, r.target, r.pass].map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`);
  const kept = lines.filter((line, i) => !(i > results && isRenderRow(line)));
  const removedBefore = lines.slice(0, at).filter((line, i) => i > results && isRenderRow(line)).length;
  kept.splice(at - removedBefore, 0, ...fresh);
  lines = kept;

  let text = lines.join('\n');
  const block = renderBlock(b).trimEnd();
  const start = text.indexOf(RENDER_BLOCK_START);
  const end = text.indexOf(RENDER_BLOCK_END);
  if (start >= 0 && end > start) {
    text = `${text.slice(0, start)}${block}${text.slice(end + RENDER_BLOCK_END.length)}`;
  } else {
    const old = text.indexOf('\nRenders (run *i*');
    if (old < 0) throw new Error(`${file} has no render details to replace: run the whole benchmark once`);
    const next = text.slice(old + 1).search(/^## /m);
    const stop = next < 0 ? text.length : old + 1 + next;
    text = `${text.slice(0, old + 1)}${block}\n\n${text.slice(stop)}`;
  }

  const historyAt = text.indexOf(`\n${HISTORY_HEADING}\n`);
  if (historyAt >= 0) {
    const rows = text
      .slice(historyAt)
      .split('\n')
      .filter((line) => /^\| \d{4}-\d\d-\d\dT/.test(line));
    const keptRows = [...rows, renderHistoryRow(b)].slice(-HISTORY_KEEP);
    const body = text.slice(historyAt).split('\n');
    const first = body.findIndex((line) => /^\| \d{4}-\d\d-\d\dT/.test(line));
    const tail = body.slice(first >= 0 ? first : body.length).filter((line) => !/^\| \d{4}-\d\d-\d\dT/.test(line));
    const head = body.slice(0, first >= 0 ? first : body.length);
    text = `${text.slice(0, historyAt)}${[...head, ...keptRows, ...tail].join('\n')}`;
  }
  await writeFile(file, text);
}

const HISTORY_HEADING = '## History';
const HISTORY_KEEP = 20;
const HISTORY_HEADERS = [
  'Date',
  'Floor req/s',
  'Submit req/s (vs floor)',
  'Status req/s (vs floor)',
  'Submit p99 @50 %',
  'Status p99 @50 %',
  'Render median',
  'ffmpeg floor median',
  'Load at start',
  'Modes vs floor (text / image / first+last / images / video / anime / all)',
  '4k 15 s (server / ffmpeg peak)',
];

function historyRow(b: BenchResults): string {
  const cells = [
    b.date,
    int(b.http.bare.rps),
    `${int(b.http.submit.rps)} (${pct(b.http.submit.rps / b.http.bare.rps)})`,
    `${int(b.http.status.rps)} (${pct(b.http.status.rps / b.http.bare.rps)})`,
    `${b.http.submitHalf.p99} ms`,
    `${b.http.statusHalf.p99} ms`,
    sec(median(b.renders.map((r) => r.totalMs))),
    sec(median(b.ffmpegFloorMs)),
    String(b.machine.loadAtStart),
    b.modes.map((m) => `${modeRatio(m).pairs.toFixed(2)}×`).join(' / ') || '—',
    b.bigRender ? `${sec(b.bigRender.totalMs)} (${b.bigRender.serverPeakMiB} / ${b.bigRender.ffmpegPeakMiB} MiB)` : '—',
  ];
  return `| ${cells.join(' | ')} |`;
}

const NOTES_HEADING = '## Profile notes';

/** What carries over from the previous file: its history rows (newest last) and the hand-written profile notes. */
async function previousFile(file: string): Promise<{ history: string[]; notes: string | null }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return { history: [], notes: null };
  }
  const historyAt = text.indexOf(`\n${HISTORY_HEADING}\n`);
  const history =
    historyAt < 0
      ? []
      : text
          .slice(historyAt)
          .split('\n')
          .filter((line) => /^\| \d{4}-\d\d-\d\dT/.test(line));
  const notesAt = text.indexOf(`\n${NOTES_HEADING}\n`);
  let notes: string | null = null;
  if (notesAt >= 0) {
    const body = text.slice(notesAt + NOTES_HEADING.length + 2);
    const end = body.search(/^## /m);
    notes = (end < 0 ? body : body.slice(0, end)).trim() || null;
  }
  return { history, notes };
}

export async function writeMarkdown(file: string, b: BenchResults): Promise<void> {
  const previous = await previousFile(file);
  const httpHistory = await previousHttpHistory(file);
  const history = [...previous.history, historyRow(b)].slice(-HISTORY_KEEP);
  const m = b.machine;
  const rows = summaryRows(b);
  const text = `# Benchmarks

Latest run, overwritten by every \`${b.command}\`. Only the profile notes and the short history table at the end carry over between runs.

- **Date:** ${b.date} (whole run took ${b.totalSeconds.toFixed(0)} s)
- **Command:** \`${b.command}\`
- **Machine:** ${m.cpu}, ${m.cores} cores, ${m.ramGiB} GiB RAM, ${m.platform}, 1-min load average at start ${m.loadAtStart}
- **Node:** ${m.node}
- **ffmpeg:** ${m.ffmpeg}
${httpBullet(b.http)}

## Results

${markdownTable(
  ['Measure', 'Result', 'Floor', 'vs floor', 'Target', 'Pass'],
  rows.map((r) => [r.measure, r.result, r.floor, r.vsFloor, r.target, r.pass]),
)}

## How to read this

This runs on a shared, noisy machine (other work may be using the same cores), so absolute numbers move from run to run; that is why every floor is measured in the same run, and the max-rate rounds interleave the floor with vidgate so a busy spell hits both alike — compare the ratios, not the raw req/s, with other runs. ${HTTP_READING} the event-loop delay column shows how long the server's thread at worst could not run callbacks (synchronous SQLite, GC, or the process not being scheduled). "CPU/req" is the CPU time (user + system, all threads) of the benchmark process — where the server under test runs, while the load generator runs in another process — divided by the responses: it is much steadier than req/s when the machine is busy, and the best number to compare between runs. The render row is wall time from sending the POST to the dispatcher reporting the task settled (then checked \`completed\` with a GET), with the default concurrency; its floor is a bare ffmpeg x264 encode of a synthetic source at the same size, frame rate, duration and preset, so the ratio is what the plasma, text, audio, process start and storage add on top of the encode. A FAIL is a finding to look into, not a broken build: the command exits 0 unless the benchmark itself could not measure.

## Details

${httpBlock(b.http, httpHistory)}

${renderBlock(b)}
${NOTES_HEADING}

${previous.notes ?? '_Hand-written findings from profiling go here; the benchmark keeps this section as it is when it rewrites the file._'}

${HISTORY_HEADING}

One line per run, newest last, last ${HISTORY_KEEP} kept.

${markdownTable(HISTORY_HEADERS, []).split('\n').slice(0, 2).join('\n')}
${history.join('\n')}
`;
  await writeFile(file, text);
}

/**
 * Puts a section that starts with its own `## ` heading into BENCHMARKS.md: in place of the previous
 * section with that heading, else before the profile notes, else at the end. Sections run on their
 * own (`BENCH_ONLY=…`) rewrite only themselves this way.
 */
export async function writeSection(file: string, section: string): Promise<void> {
  const heading = section.slice(0, section.indexOf('\n'));
  let text = await readFile(file, 'utf8').catch(() => '# Benchmarks\n');
  const start = text.indexOf(`\n${heading}\n`);
  if (start >= 0) {
    const rest = text.slice(start + 1 + heading.length);
    const next = rest.search(/^## /m);
    const end = next < 0 ? text.length : start + 1 + heading.length + next;
    text = `${text.slice(0, start + 1)}${section}\n${text.slice(end)}`;
  } else {
    const notes = text.indexOf('\n## Profile notes\n');
    text = notes >= 0 ? `${text.slice(0, notes + 1)}${section}\n${text.slice(notes + 1)}` : `${text.trimEnd()}\n\n${section}`;
  }
  await writeFile(file, text);
}
