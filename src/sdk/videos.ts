import { randomUUID } from 'node:crypto';
import { invalidResponse, unwrapData, type Http } from './http.js';
import type { GenerateParams, Submission } from './types.js';
import { validateGenerateParams } from './validation.js';

/** The APIMart answer version this SDK asks for (README: Answer versions); it reads the seed's shape as well. */
export const RESPONSE_VERSION = '2026-07-27';

export interface GenerateOptions {
  /** Sent as `Idempotency-Key`; default: a new UUID for this call, reused by its retries. */
  idempotencyKey?: string;
  signal?: AbortSignal;
  /** Run the client-side checks of README: Submit rules first (default: the client's `validate`). */
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
    const { body, headers } = await this.http.jsonWithHeaders({
      method: 'POST',
      path: '/v1/videos/generations',
      json: params,
      // The current APIMart shape; hosts of the seed's era ignore the header and answer the first one.
      headers: { 'idempotency-key': options.idempotencyKey ?? randomUUID(), 'x-apimart-response-version': RESPONSE_VERSION },
      retry: 'idempotent',
      signal: options.signal,
    });
    // `data` is an array of one `{task_id}` in the seed's shape, an object `{id, object, status}` in 2026-07-27's.
    const data = unwrapData(body);
    const first = (Array.isArray(data) ? data[0] : data) as { task_id?: unknown; id?: unknown } | undefined;
    const taskId = first?.task_id ?? first?.id;
    if (typeof taskId !== 'string' || !taskId) throw invalidResponse('POST /v1/videos/generations', body);
    return { task_id: taskId, status: 'submitted', replayed: headers.get('idempotency-replayed') === 'true' };
  }
}
