/**
 * Why a run's signal was aborted. The run ends differently for each (see task-run.ts): handed back
 * to the queue, dropped because the store already says cancelled, or dropped because another
 * process holds the task now.
 */
export class ShuttingDown extends Error {
  override name = 'ShuttingDown';
}
export class Cancelled extends Error {
  override name = 'Cancelled';
}
export class LeaseLost extends Error {
  override name = 'LeaseLost';
}
