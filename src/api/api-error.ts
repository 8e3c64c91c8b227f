/** The error envelope every API answer that is not a success uses: HTTP status = error.code. */

export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'payment_required'
  | 'not_found_error'
  | 'conflict_error'
  | 'rate_limit_error'
  | 'server_error';

const TYPE_BY_STATUS: Readonly<Record<number, ErrorType>> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'payment_required',
  403: 'authentication_error',
  404: 'not_found_error',
  405: 'invalid_request_error',
  408: 'invalid_request_error',
  409: 'conflict_error',
  413: 'invalid_request_error',
  414: 'invalid_request_error',
  415: 'invalid_request_error',
  429: 'rate_limit_error',
  431: 'invalid_request_error',
  503: 'server_error',
};

export const errorTypeFor = (status: number): ErrorType => TYPE_BY_STATUS[status] ?? (status >= 500 ? 'server_error' : 'invalid_request_error');

export interface ErrorEnvelope {
  error: { code: number; message: string; type: ErrorType; param?: string };
}

export class ApiError extends Error {
  readonly status: number;
  readonly type: ErrorType;
  readonly param: string | undefined;
  readonly headers: Record<string, string>;

  constructor(status: number, message: string, opts: { param?: string; type?: ErrorType; headers?: Record<string, string> } = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.type = opts.type ?? errorTypeFor(status);
    this.param = opts.param;
    this.headers = opts.headers ?? {};
  }

  toEnvelope(): ErrorEnvelope {
    return {
      error: { code: this.status, message: this.message, type: this.type, ...(this.param !== undefined ? { param: this.param } : {}) },
    };
  }
}

export const badRequest = (message: string, param?: string) => new ApiError(400, message, { param });
export const unauthorized = (message = 'Authentication failed, please check your API key') => new ApiError(401, message);
export const notFound = (message: string) => new ApiError(404, message);
