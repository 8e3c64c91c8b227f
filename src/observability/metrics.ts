import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { TaskQueueStore } from '../store/types.js';

export type TaskOutcome = 'completed' | 'failed' | 'cancelled' | 'requeued' | 'moved' | 'deferred';

/**
 * Prometheus metrics (`GET /metrics`). Labels are bounded sets (route patterns, providers,
 * statuses), never ids or URLs, so the series count stays small whatever clients send.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly requests = new Counter({
    name: 'vidgate_http_requests_total',
    help: 'HTTP requests answered',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  private readonly latency = new Histogram({
    name: 'vidgate_http_request_duration_seconds',
    help: 'Time to answer HTTP requests',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    registers: [this.registry],
  });
  private readonly outcomes = new Counter({
    name: 'vidgate_task_runs_total',
    help: 'Task runs by how they ended on this instance',
    labelNames: ['provider', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly runTime = new Histogram({
    name: 'vidgate_task_run_seconds',
    help: 'Time from a task being claimed (or, for upstream tasks, starting upstream) to its outcome',
    labelNames: ['provider'] as const,
    buckets: [1, 2, 5, 10, 30, 60, 120, 300, 900, 3600],
    registers: [this.registry],
  });

  constructor(store: TaskQueueStore) {
    collectDefaultMetrics({ register: this.registry, prefix: 'vidgate_' });
    new Gauge({
      name: 'vidgate_tasks_unfinished',
      help: 'Tasks pending or processing, by channel',
      labelNames: ['provider', 'status'] as const,
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const row of await store.countUnfinishedTasks()) this.set({ provider: row.provider, status: row.status }, row.count);
      },
    });
  }

  /** Tasks this instance holds right now, running or parked (waiting on an upstream), per channel. */
  watchHeldTasks(count: () => Array<{ provider: string; state: 'running' | 'parked'; count: number }>): void {
    new Gauge({
      name: 'vidgate_tasks_held',
      help: 'Tasks this instance holds: running, or parked while an upstream works on them',
      labelNames: ['provider', 'state'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const row of count()) this.set({ provider: row.provider, state: row.state }, row.count);
      },
    });
  }

  httpRequest(method: string, route: string, status: number, seconds: number): void {
    this.requests.inc({ method, route, status: String(status) });
    this.latency.observe({ method, route }, seconds);
  }

  taskRun(provider: string, outcome: TaskOutcome, seconds: number): void {
    this.outcomes.inc({ provider, outcome });
    this.runTime.observe({ provider }, seconds);
  }
}
