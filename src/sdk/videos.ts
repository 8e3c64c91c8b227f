import { randomUUID } from 'node:crypto';
import { invalidResponse, unwrapData, type Http } from './http.js';
import type { GenerateParams, Submission } from './types.js';
import { validateGenerateParams } from './validation.js';

export interface GenerateOptions {
  /** Sent as `Idempotency-Key`; default: a new UUID for this call, reused by its retries. */
  idempotencyKey?: string;
  signal?: AbortSignal;
  /** Run the client-side checks of SPEC §3 first (default: the client's `validate`). */
  validate?: boolean;
}

export class Videos {
  constructor(
    private readonly http: Http,
    private readonly validateByDefault: boolean,
  ) {}

  /**
   * Submits a generation task. The same Idempotency-Key goes with every retry, so a submit that is
   * retried after a lost answer still creates one task.
   */
  async generate(params: GenerateParams, options: GenerateOptions = {}): Promise<Submission> {
    if (options.validate ?? this.validateByDefault) validateGenerateParams(params);
    const body = await this.http.json({
      method: 'POST',
      path: '/v1/videos/generations',
      json: params,
      headers: { 'idempotency-key': options.idempotencyKey ?? randomUUID() },
      retry: 'idempotent',
      signal: options.signal,
    });
    // `data` is an array of one on APIMart and vidgate, a bare object on some hosts.
    const data = unwrapData(body);
    const first = (Array.isArray(data) ? data[0] : data) as { task_id?: unknown; id?: unknown } | undefined;
    const taskId = first?.task_id ?? first?.id;
    if (typeof taskId !== 'string' || !taskId) throw invalidResponse('POST /v1/videos/generations', body);
    return { task_id: taskId, status: 'submitted' };
  }
}
