/** Errors the SDK throws. Every one is a `VidgateError`; the subclasses say where it came from. */

export type VidgateErrorType =
  // the API's own (README: API)
  | 'invalid_request_error'
  | 'authentication_error'
  | 'payment_required'
  | 'not_found_error'
  | 'conflict_error'
  | 'rate_limit_error'
  | 'server_error'
  // the SDK's
  | 'connection_error'
  | 'timeout_error'
  | 'invalid_response'
  | 'configuration_error'
  | (string & {});

export interface VidgateErrorInit {
  message: string;
  /** HTTP status; 0 when no HTTP answer was involved. */
  status: number;
  type: VidgateErrorType;
  param?: string;
  requestId?: string;
  /** Seconds, from `Retry-After`. */
  retryAfter?: number;
  cause?: unknown;
}

export class VidgateError extends Error {
  /** HTTP status (= `error.code` of the envelope); 0 when there was no HTTP answer. */
  readonly status: number;
  readonly type: VidgateErrorType;
  /** The request field at fault, e.g. `duration` or `image_urls[1]`. */
  readonly param: string | undefined;
  /** The server's `x-request-id`, for its logs. */
  readonly requestId: string | undefined;
  /** Seconds the server asked to wait (429). */
  readonly retryAfter: number | undefined;

  constructor(init: VidgateErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'VidgateError';
    this.status = init.status;
    this.type = init.type;
    this.param = init.param;
    this.requestId = init.requestId;
    this.retryAfter = init.retryAfter;
  }
}

/** A parameter broke a rule of README: Submit rules; found before anything was sent. Same status and type the server would answer. */
export class VidgateValidationError extends VidgateError {
  constructor(message: string, param?: string) {
    super({ message, status: 400, type: 'invalid_request_error', param });
    this.name = 'VidgateValidationError';
  }
}

/** No HTTP answer: refused connection, DNS failure, reset, or a request timeout. */
export class VidgateConnectionError extends VidgateError {
  constructor(message: string, cause?: unknown) {
    super({ message, status: 0, type: 'connection_error', cause });
    this.name = 'VidgateConnectionError';
  }
}

/** `tasks.wait` ran out of time; the task itself keeps running. */
export class VidgateTimeoutError extends VidgateError {
  readonly taskId: string;
  constructor(taskId: string, timeoutMs: number) {
    super({ message: `task ${taskId} did not finish within ${Math.round(timeoutMs / 1000)} s; it keeps running`, status: 0, type: 'timeout_error' });
    this.name = 'VidgateTimeoutError';
    this.taskId = taskId;
  }
}

const TYPE_BY_STATUS: Readonly<Record<number, VidgateErrorType>> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'payment_required',
  403: 'authentication_error',
  404: 'not_found_error',
  409: 'conflict_error',
  413: 'invalid_request_error',
  429: 'rate_limit_error',
};

export const typeForStatus = (status: number): VidgateErrorType => TYPE_BY_STATUS[status] ?? (status >= 500 ? 'server_error' : 'invalid_request_error');
