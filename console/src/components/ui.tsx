import type { ButtonHTMLAttributes, ComponentChildren } from 'preact';
import { ApiProblem } from '../api.js';
import type { PagedList } from '../hooks.js';

/** A labelled control with the error that names it shown right beside it. */
export function Field(props: { label: string; name: string; error?: string | null; hint?: string; children: ComponentChildren; wide?: boolean }) {
  const errorId = `${props.name}-error`;
  return (
    <div class={`field${props.wide ? ' wide' : ''}${props.error ? ' has-error' : ''}`} data-field={props.name}>
      {/* biome-ignore lint/a11y/noLabelWithoutControl: the control is the child the caller passes in. */}
      <label>
        <span class="label">{props.label}</span>
        {props.children}
      </label>
      {props.hint && !props.error ? <small class="hint">{props.hint}</small> : null}
      {props.error ? (
        <small class="field-error" id={errorId} role="alert" data-error-for={props.name}>
          {props.error}
        </small>
      ) : null}
    </div>
  );
}

/** An error that belongs to no field (network down, 401, 5xx). */
export function Problem(props: { error: unknown }) {
  if (!props.error) return null;
  const message = props.error instanceof Error ? props.error.message : String(props.error);
  const status = props.error instanceof ApiProblem ? props.error.status : null;
  return (
    <p class="problem" role="alert" data-status={status ?? undefined}>
      {message}
    </p>
  );
}

export function Card(props: { title?: ComponentChildren; actions?: ComponentChildren; children: ComponentChildren; class?: string; id?: string }) {
  return (
    <section class={`card ${props.class ?? ''}`} id={props.id}>
      {props.title || props.actions ? (
        <header class="card-head">
          {props.title ? <h2>{props.title}</h2> : <span />}
          {props.actions ? <div class="actions">{props.actions}</div> : null}
        </header>
      ) : null}
      {props.children}
    </section>
  );
}

export function StatusBadge(props: { status: string; label?: string }) {
  return (
    <span class={`badge status-${props.status}`} data-status={props.status}>
      {props.label ?? props.status}
    </span>
  );
}

export function ProgressBar(props: { value: number; label?: string }) {
  return (
    <div class="progress" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={props.value} aria-label={props.label}>
      <div class="progress-fill" style={{ width: `${Math.max(0, Math.min(100, props.value))}%` }} />
      <span class="progress-text">{props.value}%</span>
    </div>
  );
}

export function Empty(props: { children: ComponentChildren }) {
  return <p class="empty">{props.children}</p>;
}

export function Button(props: ButtonHTMLAttributes<HTMLButtonElement> & { kind?: 'primary' | 'secondary' | 'danger' | 'ghost' }) {
  const { kind = 'secondary', class: cls, ...rest } = props;
  return <button type="button" {...rest} class={`btn btn-${kind} ${cls ?? ''}`} />;
}

/** The foot of a paged list: a button for the next page while there is one. */
export function LoadMore(props: { list: Pick<PagedList<unknown>, 'hasMore' | 'loading' | 'loadMore'>; label: string; busyLabel?: string; class?: string }) {
  if (!props.list.hasMore) return null;
  return (
    <div class={`actions ${props.class ?? ''}`}>
      <Button onClick={props.list.loadMore} disabled={props.list.loading} data-testid="load-more">
        {props.list.loading && props.busyLabel ? props.busyLabel : props.label}
      </Button>
    </div>
  );
}
