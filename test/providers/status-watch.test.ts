import { afterEach, describe, expect, it } from 'vitest';
import type { UpstreamAdapter, UpstreamStatus } from '../../src/providers/upstream/adapter.js';
import { StatusWatch, type StatusWatchOptions, type WatchOutcome } from '../../src/providers/upstream/status-watch.js';

/** An upstream in memory: tasks by id with a state each; every list call is recorded. */
class ScriptedUpstream implements UpstreamAdapter {
  constructor(readonly batchSize = 500) {}
  readonly idempotentSubmit = false;
  readonly states = new Map<string, UpstreamStatus['state']>();
  readonly calls: Array<{ apiKey: string; ids: readonly string[]; single?: true; at: number }> = [];
  failNext = 0;

  async submit(): Promise<string> {
    throw new Error('not used');
  }

  async pollOne(id: string, apiKey: string): Promise<UpstreamStatus | undefined> {
    this.calls.push({ apiKey, ids: [id], single: true, at: Date.now() });
    return this.answer([id]).get(id);
  }

  async pollMany(ids: readonly string[], apiKey: string): Promise<Map<string, UpstreamStatus>> {
    this.calls.push({ apiKey, ids, at: Date.now() });
    return this.answer(ids);
  }

  private answer(ids: readonly string[]): Map<string, UpstreamStatus> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('connection reset');
    }
    const answer = new Map<string, UpstreamStatus>();
    for (const id of ids) {
      const state = this.states.get(id);
      if (state) answer.set(id, { state });
    }
    return answer;
  }

  async cancel(): Promise<void> {}
}

describe('StatusWatch', () => {
  const lifetime = new AbortController();
  afterEach(() => lifetime.abort());

  function setup(options: Partial<StatusWatchOptions> = {}, batchSize = 500) {
    const upstream = new ScriptedUpstream(batchSize);
    const watch = new StatusWatch(
      upstream,
      { firstPollMs: 20, maxPollMs: 60, maxPollErrors: 3, windowMs: 5, maxConcurrentCalls: 4, clock: Date.now, ...options },
      new AbortController().signal,
    );
    const follow = (id: string, apiKey = 'k1', extra: { deadline?: number } = {}) => {
      const seen: UpstreamStatus['state'][] = [];
      const outcome = watch.watch({
        id,
        apiKey,
        deadline: extra.deadline ?? Date.now() + 60_000,
        onStatus: (s) => seen.push(s.state),
      });
      return { outcome, seen };
    };
    return { upstream, watch, follow };
  }

  it('looks up thousands of tasks in list calls of at most a batch, one set per API key', async () => {
    // A first poll late enough that all 1 210 watches, started in one loop however slowly a busy
    // machine runs it, are due in the same round (a round takes what is due within half an interval).
    const { upstream, follow } = setup({ firstPollMs: 500, maxPollMs: 500 });
    const a = Array.from({ length: 1_200 }, (_, i) => `a${i}`);
    const b = Array.from({ length: 10 }, (_, i) => `b${i}`);
    for (const id of [...a, ...b]) upstream.states.set(id, 'completed');
    const outcomes = await Promise.all([...a.map((id) => follow(id, 'k1').outcome), ...b.map((id) => follow(id, 'k2').outcome)]);
    expect(outcomes.every((o) => o.kind === 'finished' && o.status.state === 'completed')).toBe(true);
    expect(upstream.calls.filter((c) => c.apiKey === 'k1')).toHaveLength(3);
    expect(upstream.calls.filter((c) => c.apiKey === 'k2')).toHaveLength(1);
    expect(Math.max(...upstream.calls.map((c) => c.ids.length))).toBe(500);
    // Each task was asked about exactly once, with its own key.
    const asked = upstream.calls.flatMap((c) => c.ids.map((id) => `${c.apiKey}:${id}`));
    expect(new Set(asked).size).toBe(asked.length);
    expect(asked.filter((x) => x.startsWith('k2:')).sort()).toEqual(b.map((id) => `k2:${id}`).sort());
  });

  it('reads a lone due task directly and several with one list call', async () => {
    const { upstream, follow } = setup();
    upstream.states.set('alone', 'completed');
    await follow('alone').outcome;
    expect(upstream.calls).toEqual([{ apiKey: 'k1', ids: ['alone'], single: true, at: expect.any(Number) }]);
    upstream.states.set('x', 'completed');
    upstream.states.set('y', 'completed');
    await Promise.all([follow('x').outcome, follow('y').outcome]);
    expect(upstream.calls.slice(1)).toEqual([{ apiKey: 'k1', ids: ['x', 'y'], at: expect.any(Number) }]);
  });

  it('reports every answer until the task ends, polling less often as it goes on', async () => {
    const { upstream, follow } = setup({ firstPollMs: 10, maxPollMs: 40 });
    upstream.states.set('t', 'pending');
    const { outcome, seen } = follow('t');
    await expect.poll(() => seen.length).toBeGreaterThanOrEqual(2);
    upstream.states.set('t', 'processing');
    await expect.poll(() => seen.at(-1)).toBe('processing');
    upstream.states.set('t', 'failed');
    expect(await outcome).toEqual({ kind: 'finished', status: { state: 'failed' } });
    expect(seen[0]).toBe('pending');
  });

  it('gives a task the upstream does not know up as lost', async () => {
    const { follow } = setup();
    expect(await follow('nobody').outcome).toEqual({ kind: 'lost' });
  });

  it('gives up after consecutive failed calls, and a good answer resets the count', async () => {
    const { upstream, follow } = setup({ firstPollMs: 5, maxPollMs: 10 });
    upstream.states.set('t', 'processing');
    upstream.failNext = 2;
    const { outcome, seen } = follow('t');
    await expect.poll(() => seen.length).toBeGreaterThanOrEqual(1);
    upstream.failNext = 3;
    const ended = (await outcome) as Extract<WatchOutcome, { kind: 'unreachable' }>;
    expect(ended).toMatchObject({ kind: 'unreachable', errors: 3, message: 'connection reset' });
    expect(upstream.calls.length).toBe(2 + seen.length + 3);
  });

  it('ends a task at its deadline', async () => {
    const { upstream, follow } = setup({ firstPollMs: 5, maxPollMs: 5 });
    upstream.states.set('t', 'processing');
    const started = Date.now();
    expect(await follow('t', 'k1', { deadline: started + 40 }).outcome).toEqual({ kind: 'timeout' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(40);
  });

  it('stops watching a task it is told to forget, and asks about it no more', async () => {
    const { upstream, watch, follow } = setup({ firstPollMs: 5, maxPollMs: 5 });
    upstream.states.set('gone', 'processing');
    upstream.states.set('kept', 'processing');
    follow('gone');
    const kept = follow('kept');
    await expect.poll(() => kept.seen.length).toBeGreaterThanOrEqual(1);
    expect(watch.unwatch('gone', 'k1')).toBe(true);
    expect(watch.unwatch('gone', 'k1')).toBe(false);
    const callsBefore = upstream.calls.length;
    await expect.poll(() => upstream.calls.length).toBeGreaterThan(callsBefore + 2);
    expect(upstream.calls.slice(callsBefore + 1).flatMap((c) => c.ids)).not.toContain('gone');
    expect(watch.size).toBe(1);
    upstream.states.set('kept', 'completed');
    await kept.outcome;
  });

  it('puts a task that is nearly due into a call that is made anyway', async () => {
    // The second task is watched 30 ms (of clock) after the first: due 30 ms later, within half its interval.
    let skew = 0;
    const { upstream, follow } = setup({ firstPollMs: 100, maxPollMs: 100, windowMs: 1, clock: () => Date.now() + skew });
    upstream.states.set('early', 'completed');
    upstream.states.set('late', 'completed');
    const first = follow('early');
    skew = 30;
    const second = follow('late');
    await Promise.all([first.outcome, second.outcome]);
    expect(upstream.calls).toHaveLength(1);
    expect([...upstream.calls[0]!.ids].sort()).toEqual(['early', 'late']);
  });

  /** The times (ms after the first) a task was asked about, until it has been asked `looks` times. */
  async function lookTimes(upstream: ScriptedUpstream, id: string, looks: number): Promise<number[]> {
    await expect.poll(() => upstream.calls.filter((c) => c.ids.includes(id)).length, { timeout: 5_000 }).toBeGreaterThanOrEqual(looks);
    return upstream.calls.filter((c) => c.ids.includes(id)).map((c) => c.at);
  }

  it('asks about a task of a listing upstream every first_poll_ms for as long as it runs', async () => {
    const { upstream, follow } = setup({ firstPollMs: 40, maxPollMs: 2_000 });
    upstream.states.set('t', 'processing');
    follow('t');
    const at = await lookTimes(upstream, 't', 6);
    const gaps = at.slice(1, 6).map((t, i) => t - at[i]!);
    // Backing off ×1.5 from 40 ms would make the fifth gap 300 ms.
    expect(gaps.at(-1)!).toBeLessThan(250);
    upstream.states.set('t', 'completed');
  });

  it('asks about a task of an upstream read one task per call less often as it goes on, up to max_poll_ms', async () => {
    const { upstream, follow } = setup({ firstPollMs: 20, maxPollMs: 60 }, 1);
    upstream.states.set('t', 'processing');
    follow('t');
    const at = await lookTimes(upstream, 't', 6);
    const gaps = at.slice(1, 6).map((t, i) => t - at[i]!);
    expect(gaps.at(-1)!).toBeGreaterThanOrEqual(55);
    upstream.states.set('t', 'completed');
  });
});
