import { z } from 'zod';
import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { sendSignedFile } from './signed-file.js';
import { ErrorResponse } from '../contract/task-view.js';
import type { ApiContext } from './context.js';

/** Result files behind signed, expiring URLs: the signature is the credential, no API key needed. */
export const fileRoutes =
  (ctx: Pick<ApiContext, 'assets' | 'clock' | 'signer' | 'storage'>): FastifyPluginAsyncZod =>
  async (app) => {
    const send = (reply: FastifyReply, key: string, expires: string | undefined, signature: string | undefined) =>
      sendSignedFile(reply, {
        verdict: ctx.signer.verify(key, expires, signature, ctx.clock()),
        files: ctx.storage.files,
        key: ctx.storage.fileKey(key),
        what: 'result',
      });
    const KeyParams = { task: z.string().max(64), token: z.string().max(64), name: z.string().max(96) };

    app.get(
      '/files/:expires/:signature/:task/:token/:name',
      {
        schema: {
          summary: 'Download a result file by its signed URL (ends in the file name, e.g. task_….mp4)',
          tags: ['files'],
          params: z.object({ expires: z.string().max(16), signature: z.string().max(128), ...KeyParams }),
          response: { 403: ErrorResponse, 404: ErrorResponse },
        },
      },
      async (request, reply) => {
        const { expires, signature, task, token, name } = request.params;
        return send(reply, `${task}/${token}/${name}`, expires, signature);
      },
    );

    // The earlier form of the same links, still valid until they expire.
    app.get(
      '/files/:task/:token/:name',
      {
        schema: {
          summary: 'Download a result file by a signed URL of the earlier form (?expires=&signature=)',
          tags: ['files'],
          params: z.object(KeyParams),
          querystring: z.object({ expires: z.string().max(16).optional(), signature: z.string().max(128).optional() }),
          response: { 403: ErrorResponse, 404: ErrorResponse },
        },
      },
      async (request, reply) => {
        const { task, token, name } = request.params;
        return send(reply, `${task}/${token}/${name}`, request.query.expires, request.query.signature);
      },
    );

    app.get(
      '/files/assets/:name',
      {
        schema: {
          summary: "Download an asset's reviewed copy by its signed URL (given to upstream providers)",
          tags: ['files'],
          params: z.object({ name: z.string().max(128) }),
          querystring: z.object({ expires: z.string().max(16).optional(), signature: z.string().max(128).optional() }),
          response: { 403: ErrorResponse, 404: ErrorResponse },
        },
      },
      async (request, reply) => {
        const { name } = request.params;
        const verdict = ctx.signer.verify(`assets/${name}`, request.query.expires, request.query.signature, ctx.clock());
        return sendSignedFile(reply, { verdict, files: ctx.storage.files, key: ctx.assets.fileKey(name), what: 'asset' });
      },
    );
  };
