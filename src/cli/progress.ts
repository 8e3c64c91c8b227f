import cliProgress from 'cli-progress';
import type { Task } from '../sdk/index.js';
import { formatBytes, formatDuration } from './output.js';

/**
 * Progress on stderr: a live bar when stderr is a terminal, nothing otherwise (so logs and pipes
 * stay clean; the result lines are printed by the caller either way).
 */
export interface ProgressView {
  update(task: Task): void;
  stop(): void;
}

const WIDTH = 30;
const bar = (fraction: number) => {
  const full = Math.round(Math.min(1, Math.max(0, fraction || 0)) * WIDTH);
  return '█'.repeat(full) + '░'.repeat(WIDTH - full);
};

export const progressEnabled = () => process.stderr.isTTY === true;

export function taskProgress(taskId: string, enabled = progressEnabled()): ProgressView {
  if (!enabled) return { update() {}, stop() {} };
  const startedMs = Date.now();
  let createdMs = 0;
  // Elapsed is computed at each redraw (4 per second), so it ticks between polls.
  const view = new cliProgress.SingleBar({
    stream: process.stderr,
    fps: 4,
    hideCursor: true,
    forceRedraw: true,
    format: (_options, params, payload: { status: string }) => {
      const since = createdMs && createdMs <= Date.now() ? createdMs : startedMs;
      const elapsed = formatDuration((Date.now() - since) / 1000);
      return `${payload.status.padEnd(10)} ${bar(params.progress)} ${String(Math.round(params.progress * 100)).padStart(3)}% | elapsed ${elapsed} | ${taskId}`;
    },
  });
  view.start(100, 0, { status: 'submitted' });
  return {
    update(task) {
      if (task.created) createdMs = task.created * 1000;
      view.update(task.progress, { status: task.status });
    },
    stop: () => view.stop(),
  };
}

export function downloadProgress(enabled = progressEnabled()): { update(received: number, total: number | null): void; stop(): void } {
  if (!enabled) return { update() {}, stop() {} };
  const view = new cliProgress.SingleBar({
    stream: process.stderr,
    fps: 8,
    hideCursor: true,
    format: (_options, params, payload: { received: number; total: number | null }) =>
      `download   ${bar(params.progress)} ${String(Math.round(params.progress * 100)).padStart(3)}% | ${formatBytes(payload.received)}${payload.total ? ` of ${formatBytes(payload.total)}` : ''}`,
  });
  let started = false;
  return {
    update(received, total) {
      if (!started) {
        view.start(total || 1, 0, { received, total });
        started = true;
      }
      view.update(total ? received : 0, { received, total });
    },
    stop: () => started && view.stop(),
  };
}
