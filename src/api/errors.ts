import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { ApiError } from './api-error.js';
import { TaskRefused, type TaskRefusalReason } from '../tasks/errors.js';
import { InvalidRequest } from '../contract/invalid-request.js';
import { TopUpRefused } from '../billing/accounts.js';
import { StoreUnavailable } from '../store/errors.js';

/** `/image_with_roles/1/role` → `image_with_roles[1].role` */
function paramFromPath(instancePath: string): string | undefined {
  const parts = instancePath.split('/').filter(Boolean);
  if (parts.length === 0) return undefined;
  return parts.reduce((acc, part) => (/^\d+$/.test(part) ? `${acc}[${part}]` : acc ? `${acc}.${part}` : part), '');
}

/** What each refusal of the task service is in HTTP. */
const REFUSALS: Record<TaskRefusalReason, { status: number; headers?: Record<string, string> }> = {
  invalid_input: { status: 400 },
  task_not_found: { status: 404 },
  already_finished: { status: 409 },
  idempotency_conflict: { status: 409 },
  insufficient_balance: { status: 402 },
  key_cap_reached: { status: 402 },
  // Tasks finish within seconds to minutes: a short wait is the useful hint.
  too_many_in_flight: { status: 429, headers: { 'retry-after': '5' } },
  // The operator's spending limit, not the client's doing: the service cannot take the task today.
  channels_over_budget: { status: 503 },
};

/** Any error a route, hook or parser raised, as the ApiError it is answered with (also by the OpenAI door, in its own shape). */
export function toApiError(error: FastifyError, bodyLimit: number): ApiError {
  if (error instanceof ApiError) return error;
  const domain: unknown = error;
  if (domain instanceof InvalidRequest) return new ApiError(400, domain.message, { param: domain.param });
  if (domain instanceof TopUpRefused)
    return new ApiError(domain.reason === 'no_account' ? 404 : 400, domain.message, { param: domain.reason === 'no_account' ? undefined : 'amount' });
  if (domain instanceof StoreUnavailable) {
    return new ApiError(503, 'The service cannot reach its database right now; retry in a few seconds', { headers: { 'retry-after': '2' } });
  }
  if (domain instanceof TaskRefused) {
    const { status, headers } = REFUSALS[domain.reason];
    const retry: Record<string, string> = domain.retryAfterSeconds === undefined ? {} : { 'retry-after': String(domain.retryAfterSeconds) };
    return new ApiError(status, domain.message, { param: domain.param, headers: { ...headers, ...retry } });
  }
  if (hasZodFastifySchemaValidationErrors(error)) {
    const issue = error.validation[0]!;
    const param = paramFromPath(issue.instancePath);
    const where = error.validationContext === 'body' ? '' : `${error.validationContext} `;
    const text = issue.message ?? 'invalid value';
    const message = param && !text.includes(param.replace(/\[\d+\]/g, '')) ? `${param}: ${text}` : text;
    return new ApiError(400, `${where}${message}`.trim(), { param });
  }
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError(413, `request body is larger than the ${bodyLimit} bytes allowed`);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ApiError(400, 'request body is empty: send a JSON object');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new ApiError(400, `request body is not valid JSON: ${error.message}`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError(400, 'unsupported Content-Type: send application/json');
  }
  if (error instanceof SyntaxError) return new ApiError(400, `request body is not valid JSON: ${error.message}`);
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) return new ApiError(status, error.message);
  return new ApiError(500, 'Internal server error, please try again later');
}

/** Every answer that is not a success uses the envelope of README: API. */
export function installErrorHandling(app: FastifyInstance, bodyLimit: number): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const apiError = toApiError(error, bodyLimit);
    if (apiError.status >= 500) request.log.error({ err: error }, 'request failed');
    reply.code(apiError.status).headers(apiError.headers).send(apiError.toEnvelope());
  });
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): void {
  const path = request.url.split('?')[0];
  reply.code(404).send(new ApiError(404, `no route ${request.method} ${path}`).toEnvelope());
}
