import { z } from 'zod';
import { ParleyError } from '../../../protocol/error-catalogue.js';
import { MAX_RETENTION_DAYS } from '../../config-retention.js';
import type { Erasure } from '../../core/erasure.js';
import type { Exports } from '../../core/exports.js';
import type { ChannelPatch } from '../../store/store.js';
import type { RequestAuth } from '../request-auth.js';
import { type Handler, ok } from '../request-context.js';
import type { Router } from '../router.js';
import { PatchChannel, parse, UserId } from '../schemas.js';

/** Exports and erasure, as the server API offers them (issue 17). */
export interface RetentionRoutesDeps {
  readonly auth: RequestAuth;
  readonly exports: Exports;
  readonly erasure: Erasure;
}

/**
 * `PATCH /api/server/channels/:id`'s body: the user API's fields and `retention_days` (an
 * integer of days, 0 = keep forever, null = the server's `PARLEY_RETENTION_DAYS`).
 */
export const ServerPatchChannel = z
  .strictObject({
    title: PatchChannel.shape.title,
    topic: PatchChannel.shape.topic,
    archived: PatchChannel.shape.archived,
    slow_mode_seconds: PatchChannel.shape.slow_mode_seconds,
    retention_days: z.number().int().min(0).max(MAX_RETENTION_DAYS).nullable().optional(),
  })
  .refine(
    (p) => Object.keys(p).length > 0,
    'give title, topic, archived, slow_mode_seconds or retention_days',
  );

/** The `ChannelPatch` of a `ServerPatchChannel` body. */
export function serverChannelPatch(body: z.infer<typeof ServerPatchChannel>): ChannelPatch {
  const { retention_days, ...rest } = body;
  return {
    ...(rest.title === undefined ? {} : { title: rest.title }),
    ...(rest.topic === undefined ? {} : { topic: rest.topic }),
    ...(rest.archived === undefined ? {} : { archived: rest.archived }),
    ...(retention_days === undefined ? {} : { retentionDays: retention_days }),
  };
}

const EraseQuery = z.strictObject({ messages: z.enum(['delete', 'anonymize']) });

/**
 * Adds `GET /api/server/users/:userId/export`, `GET /api/server/channels/:id/export` (NDJSON,
 * streamed) and `DELETE /api/server/users/:userId?messages=delete|anonymize` (docs/api.md).
 */
export function retentionRoutes(
  router: Router<Handler>,
  { auth, exports, erasure }: RetentionRoutesDeps,
): void {
  const server = auth.asServer.bind(auth);
  router.add(
    'GET',
    '/api/server/users/:userId/export',
    server(async (ctx) => ({ status: 200, lines: await exports.user(parse(UserId, ctx.param('userId'))) })),
  );
  router.add(
    'GET',
    '/api/server/channels/:id/export',
    server(async (ctx) => ({ status: 200, lines: await exports.channel(ctx.param('id')) })),
  );
  router.add(
    'DELETE',
    '/api/server/users/:userId',
    server(async (ctx) => {
      const id = parse(UserId, ctx.param('userId'));
      const query = Object.fromEntries(ctx.url.searchParams);
      if (query.messages === undefined) {
        throw new ParleyError(
          'bad_request',
          'say what happens to the messages: ?messages=delete or ?messages=anonymize',
        );
      }
      const { messages } = parse(EraseQuery, query);
      const done = await erasure.erase(id, messages);
      return ok({
        erased: {
          user_id: done.userId,
          messages: done.mode,
          changed: done.changed,
          erased_at: done.erasedAt,
        },
      });
    }),
  );
}
