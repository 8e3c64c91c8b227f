import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { ListPage } from './types.js';

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload(): void;
  /** Changes what was loaded without reading again (a row replaced by an answer, one added). */
  update(change: (data: T) => T): void;
}

/** Loads something on mount and whenever `deps` change; the last answer wins, earlier ones are aborted. */
export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({ data: undefined, error: null, loading: true });
  const [round, setRound] = useState(0);
  const latest = useRef(load);
  latest.current = load;
  // The caller names what the load depends on; `latest` always holds its newest closure.
  useEffect(() => {
    const controller = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    latest
      .current(controller.signal)
      .then((data) => {
        if (!controller.signal.aborted) setState({ data, error: null, loading: false });
      })
      .catch((error: unknown) => {
        if (!controller.signal.aborted) setState((s) => ({ data: s.data, error, loading: false }));
      });
    return () => controller.abort();
  }, [...deps, round]);
  const reload = useCallback(() => setRound((r) => r + 1), []);
  const update = useCallback((change: (data: T) => T) => setState((s) => (s.data === undefined ? s : { ...s, data: change(s.data) })), []);
  return { ...state, reload, update };
}

export interface PagedList<T> {
  /** Every row read so far, in the API's order, each once. */
  items: T[];
  hasMore: boolean;
  loading: boolean;
  error: unknown;
  /** Reads the page after the last one shown; nothing while a read is under way or at the end. */
  loadMore(): void;
  /** Reads the first page again; the rows shown stay until its answer replaces them. */
  reload(): void;
  /** Changes the rows shown without reading (a row replaced by an answer, one deleted, one added). */
  update(change: (items: T[]) => T[]): void;
}

/** What a list's `next_after` is: an id, or a number (the ledger's and the webhook log's). The hook only hands it back. */
type Cursor = string | number;

interface PagedState<T> {
  items: T[];
  next: Cursor | null;
  loading: boolean;
  error: unknown;
}

const sameDeps = (a: unknown[] | null, b: unknown[]) => a !== null && a.length === b.length && a.every((v, i) => Object.is(v, b[i]));

/**
 * A list the API pages with `has_more` / `next_after`: the first page on mount and whenever `deps`
 * change (they name the list: its old rows go at once), or `refresh` changes (as reload(): the rows
 * stay until the answer), and the next page on loadMore(). One read at a time: a new first page
 * aborts whatever was under way, an answer that arrives after the list moved on is dropped, and a
 * row that a later page repeats (one added by update() meanwhile) is shown once, by id.
 */
export function usePagedList<T extends { id: string | number }>(
  load: (after: Cursor | undefined, signal: AbortSignal) => Promise<ListPage<T, Cursor>>,
  deps: unknown[],
  refresh?: unknown,
): PagedList<T> {
  const [state, setState] = useState<PagedState<T>>({ items: [], next: null, loading: true, error: null });
  const [round, setRound] = useState(0);
  const latest = useRef(load);
  latest.current = load;
  const reading = useRef<AbortController | null>(null);
  const shownDeps = useRef<unknown[] | null>(null);
  const next = useRef<Cursor | null>(null);
  next.current = state.next;

  const read = useCallback((after: Cursor | undefined, apply: (old: PagedState<T>, page: ListPage<T, Cursor>) => T[]) => {
    reading.current?.abort();
    const controller = new AbortController();
    reading.current = controller;
    const settle = (change: (old: PagedState<T>) => PagedState<T>) => {
      if (controller.signal.aborted) return;
      reading.current = null;
      setState(change);
    };
    latest
      .current(after, controller.signal)
      .then((page) => settle((old) => ({ items: apply(old, page), next: page.has_more ? page.next_after : null, loading: false, error: null })))
      .catch((error: unknown) => settle((old) => ({ ...old, loading: false, error })));
    return controller;
  }, []);

  // The caller names what the list depends on; `latest` always holds its newest closure.
  useEffect(() => {
    const fresh = !sameDeps(shownDeps.current, deps);
    shownDeps.current = deps;
    setState((old) => ({ ...old, ...(fresh ? { items: [], next: null } : {}), loading: true, error: null }));
    const controller = read(undefined, (_old, page) => page.data);
    return () => controller.abort();
  }, [...deps, refresh, round]);
  useEffect(() => () => reading.current?.abort(), []);

  const loadMore = useCallback(() => {
    const after = next.current;
    if (after === null || reading.current) return;
    setState((old) => ({ ...old, loading: true, error: null }));
    read(after, (old, page) => {
      const seen = new Set(old.items.map((item) => item.id));
      return [...old.items, ...page.data.filter((item) => !seen.has(item.id))];
    });
  }, []);
  const reload = useCallback(() => setRound((r) => r + 1), []);
  const update = useCallback((change: (items: T[]) => T[]) => setState((old) => ({ ...old, items: change(old.items) })), []);
  return { items: state.items, hasMore: state.next !== null, loading: state.loading, error: state.error, loadMore, reload, update };
}

/** Reads a list's first page again `ms` after each answer while `active` (rows shown still in review, say). */
export function useRereadWhile(active: boolean, list: Pick<PagedList<unknown>, 'items' | 'reload'>, ms: number): void {
  const { items, reload } = list;
  useEffect(() => {
    if (!active) return;
    const timer = setTimeout(reload, ms);
    return () => clearTimeout(timer);
  }, [active, items, reload, ms]);
}
