import { z } from 'zod';
import { InvalidRequest } from './invalid-request.js';

/**
 * APIMart's answer shapes (README: Answer versions). Clients of the seed's era send no version and read the
 * first shape; current clients ask for a dated one with `X-APIMart-Response-Version`. Only the
 * submit answer differs between them; every other answer (task, list, cancel, errors) is the same
 * in both, and a versioned request gets its version echoed on whatever it is answered.
 */
export const RESPONSE_VERSION_HEADER = 'x-apimart-response-version';
export const RESPONSE_VERSIONS = ['2026-07-27'] as const;
export type ResponseVersion = (typeof RESPONSE_VERSIONS)[number];

/** The version a request asks for; null for the seed's shape; a 400 for one we do not speak. */
export function responseVersionOf(header: string | string[] | undefined): ResponseVersion | null {
  if (header === undefined) return null;
  const value = (Array.isArray(header) ? header[0] : header)?.trim() ?? '';
  if ((RESPONSE_VERSIONS as readonly string[]).includes(value)) return value as ResponseVersion;
  throw new InvalidRequest(
    `unsupported ${RESPONSE_VERSION_HEADER} ${JSON.stringify(value.slice(0, 40))}: supported versions are ${RESPONSE_VERSIONS.join(', ')} (or send none for the original shape)`,
    'X-APIMart-Response-Version',
  );
}

export const SubmitResponse = z
  .object({
    code: z.literal(200),
    data: z.array(z.object({ status: z.literal('submitted'), task_id: z.string() })),
  })
  .meta({ id: 'SubmitResponse', description: 'Without X-APIMart-Response-Version (the seed)' });

export const SubmitResponseV20260727 = z
  .object({
    code: z.literal(200),
    data: z.object({ id: z.string(), object: z.literal('generation.task'), status: z.literal('pending') }),
    request_id: z.string(),
  })
  .meta({ id: 'SubmitResponse_2026_07_27', description: 'With X-APIMart-Response-Version: 2026-07-27' });

export type SubmitAnswer = z.infer<typeof SubmitResponse> | z.infer<typeof SubmitResponseV20260727>;

/** The submit answer in the shape the request asked for. */
export function submitAnswer(version: ResponseVersion | null, taskId: string, requestId: string): SubmitAnswer {
  if (version === null) return { code: 200, data: [{ status: 'submitted', task_id: taskId }] };
  return { code: 200, data: { id: taskId, object: 'generation.task', status: 'pending' }, request_id: requestId };
}
