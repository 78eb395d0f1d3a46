import { z } from 'zod';
import { ParleyError } from '../../../protocol/error-catalogue.js';
import type { Limits } from '../../config.js';
import { type Actor, SYSTEM_USER } from '../../core/actor.js';
import { ADMIN_SEARCH_MAX } from '../../core/admin-directory.js';
import type { ChatService } from '../../core/chat-service.js';
import { keyMetrics } from '../../metrics/key-metrics.js';
import type { ParleyMetrics } from '../../metrics/parley-metrics.js';
import { streamAdminFeed } from '../admin-stream.js';
import type { RequestAuth } from '../request-auth.js';
import { type Handler, ok } from '../request-context.js';
import type { Router } from '../router.js';
import { parse, UserId } from '../schemas.js';

/** What the admin console's routes need. */
export interface AdminRoutesDeps {
  readonly chat: ChatService;
  readonly auth: RequestAuth;
  readonly metrics: ParleyMetrics;
  readonly limits: Pick<Limits, 'adminConsoleBufferBytes'>;
}

const system: Actor = { user: SYSTEM_USER, system: true };

const Search = z.strictObject({
  q: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(ADMIN_SEARCH_MAX).optional(),
});

const StreamFilter = z.strictObject({
  channel: z.string().min(1).max(100).optional(),
  user: z.string().min(1).max(128).optional(),
});

const SetAdmin = z.strictObject({ admin: z.boolean() });

/**
 * Adds the admin console's routes (#17; docs/api.md, "Admin console"): who is signed in, the
 * user and channel searches, every node's figures, this node's key metrics, the live event
 * stream, and `PUT /api/server/users/:userId/admin`. All of them for the server API key or a
 * server admin's bearer token, like the server API.
 */
export function adminRoutes(router: Router<Handler>, { chat, auth, metrics, limits }: AdminRoutesDeps): void {
  const admin = auth.asServer.bind(auth);
  // What this build's server API offers beyond the core (the console hides what is missing).
  const has = (method: string, path: string) => router.find(method, path).kind === 'found';
  router.add('GET', '/api/admin/me', async (ctx) => {
    const who = await auth.requireServer(ctx);
    const features = {
      channel_bans: has('POST', '/api/server/channels/x/bans/x'),
      reports: has('GET', '/api/server/reports'),
      exports: has('GET', '/api/server/users/x/export'),
      erasure: has('DELETE', '/api/server/users/x'),
      // Retention came with the exports (PATCH /api/server/channels/:id { retention_days }).
      retention: has('GET', '/api/server/channels/x/export'),
    };
    return ok(
      who === 'api_key'
        ? { via: 'api_key', user: null, features }
        : { via: 'token', user: who.user, features },
    );
  });
  router.add(
    'GET',
    '/api/admin/users',
    admin(async (ctx) => {
      const query = parse(Search, Object.fromEntries(ctx.url.searchParams));
      const users = await chat.adminDirectory.searchUsers(system, query.q ?? '', query.limit ?? 50);
      return ok({
        users: users.map((u) => ({
          id: u.id,
          username: u.username,
          created_at: u.createdAt,
          banned: u.banned,
          admin: u.admin,
        })),
      });
    }),
  );
  router.add(
    'GET',
    '/api/admin/channels',
    admin(async (ctx) => {
      const query = parse(Search, Object.fromEntries(ctx.url.searchParams));
      const channels = await chat.adminDirectory.searchChannels(system, query.q ?? '', query.limit ?? 50);
      return ok({
        channels: channels.map((c) => ({
          id: c.id,
          kind: c.kind,
          title: c.title,
          last_seq: c.lastSeq,
          archived: c.archived,
        })),
      });
    }),
  );
  router.add(
    'GET',
    '/api/admin/nodes',
    admin(async () => ok({ node: chat.admin.node, nodes: chat.admin.nodes() })),
  );
  router.add(
    'GET',
    '/api/admin/metrics',
    admin(async () =>
      ok({ node: chat.admin.node, at: Date.now(), metrics: await keyMetrics(metrics.registry) }),
    ),
  );
  router.add(
    'GET',
    '/api/admin/events',
    admin(async (ctx) => {
      const filter = parse(StreamFilter, Object.fromEntries(ctx.url.searchParams));
      if (chat.admin.full)
        throw new ParleyError('rate_limited', 'too many admin consoles are open on this node');
      return {
        status: 200,
        stream: (res) => {
          void streamAdminFeed(ctx.req, res, {
            feed: chat.admin,
            channel: filter.channel,
            user: filter.user,
            bufferBytes: limits.adminConsoleBufferBytes,
          });
        },
      };
    }),
  );
  router.add(
    'PUT',
    '/api/server/users/:userId/admin',
    admin(async (ctx) => {
      const id = parse(UserId, ctx.param('userId'));
      const body = parse(SetAdmin, await ctx.body());
      await chat.adminDirectory.setAdmin(system, id, body.admin);
      return ok({ user: { id, admin: body.admin } });
    }),
  );
}
