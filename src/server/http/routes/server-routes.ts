import { z } from 'zod';
import { ParleyError } from '../../../protocol/error-catalogue.js';
import type { UserInfo } from '../../../protocol/frames.js';
import type { Accounts } from '../../auth/accounts.js';
import { type Actor, SYSTEM_USER } from '../../core/actor.js';
import type { ChatService } from '../../core/chat-service.js';
import type { WebhookDelivery, WebhookState } from '../../store/store.js';
import type { RequestAuth } from '../request-auth.js';
import { type Handler, NO_CONTENT, ok, type RequestContext } from '../request-context.js';
import type { Router } from '../router.js';
import {
  Disconnect,
  idempotencyKey,
  PutUser,
  parse,
  ServerCreateChannel,
  ServerPostMessage,
  SetMember,
  UserId,
} from '../schemas.js';
import { channelView, memberList, memberView, userView } from '../views.js';
import { slowModeField } from './moderation-routes.js';
import { ServerPatchChannel, serverChannelPatch } from './retention-routes.js';

/** The webhook outbox as the server API sees it: its deliveries, and replaying dead ones. */
export interface WebhookAdmin {
  list(state: WebhookState, limit: number, after?: string): Promise<readonly WebhookDelivery[]>;
  replay(ids: readonly string[] | undefined): Promise<number>;
}

/** What the server API's routes need. */
export interface ServerRoutesDeps {
  readonly chat: ChatService;
  readonly accounts: Accounts;
  readonly auth: RequestAuth;
  /** Undefined when no webhooks are configured: the webhook routes answer 404. */
  readonly webhooks?: WebhookAdmin | undefined;
}

const WEBHOOK_PAGE_MAX = 100;

const system: Actor = { user: SYSTEM_USER, system: true };

/**
 * Adds the server API (docs/api.md, "Server API"): the app's backend, with `PARLEY_API_KEY`,
 * posts as any user, manages users (create, rename, log out everywhere, ban, unban) and
 * channels, acting as the system actor that bypasses channel permissions and rate limits.
 */
export function serverRoutes(
  router: Router<Handler>,
  { chat, accounts, auth, webhooks }: ServerRoutesDeps,
): void {
  const server = auth.asServer.bind(auth);
  const userReply = async (ctx: RequestContext) =>
    ok({ user: userView(await chat.directory.user(system, ctx.param('userId'))) });

  router.add(
    'POST',
    '/api/server/messages',
    server(async (ctx) => {
      const body = parse(ServerPostMessage, await ctx.body());
      const key = body.idempotency_key ?? idempotencyKey(ctx.req);
      const as: UserInfo =
        body.user_id === undefined
          ? SYSTEM_USER
          : {
              id: body.user_id,
              username: body.username ?? (await chat.directory.username(system, body.user_id)),
            };
      const result = await chat.messages.post(
        { user: as, system: true },
        {
          channel: body.channel,
          text: body.text,
          clientMsgId: key ?? null,
          replyTo: body.reply_to,
          attachments: body.attachments,
        },
      );
      return ok({ message: result.message, duplicate: result.duplicate }, result.duplicate ? 200 : 201);
    }),
  );

  // Users.
  router.add(
    'PUT',
    '/api/server/users/:userId',
    server(async (ctx) => {
      const id = parse(UserId, ctx.param('userId'));
      const body = parse(PutUser, await ctx.body());
      return ok({ user: userView(await chat.directory.putUser(system, id, body.username)) });
    }),
  );
  router.add('GET', '/api/server/users/:userId', server(userReply));
  router.add(
    'POST',
    '/api/server/users/:userId/logout',
    server(async (ctx) => {
      const body = parse(Disconnect, await ctx.body(true));
      await accounts.revoke(ctx.param('userId'), { reason: body.reason ?? 'logged out' });
      return userReply(ctx);
    }),
  );
  router.add(
    'POST',
    '/api/server/users/:userId/ban',
    server(async (ctx) => {
      const body = parse(Disconnect, await ctx.body(true));
      await accounts.revoke(ctx.param('userId'), { reason: body.reason ?? 'banned', banned: true });
      return userReply(ctx);
    }),
  );
  router.add(
    'POST',
    '/api/server/users/:userId/unban',
    server(async (ctx) => {
      await accounts.unban(ctx.param('userId'));
      return userReply(ctx);
    }),
  );

  // Channels and members.
  router.add(
    'POST',
    '/api/server/channels',
    server(async (ctx) => {
      const body = parse(ServerCreateChannel, await ctx.body());
      await chat.channels.create(system, {
        channel: body.id,
        private: body.private,
        title: body.title,
        topic: body.topic,
        owner: body.owner,
      });
      return ok({ channel: channelView(await chat.directory.channel(system, body.id)) }, 201);
    }),
  );
  router.add(
    'PATCH',
    '/api/server/channels/:id',
    server(async (ctx) => {
      const body = parse(ServerPatchChannel, await ctx.body());
      if (body.slow_mode_seconds !== undefined) {
        await chat.moderation.setSlowMode(
          system,
          ctx.param('id'),
          slowModeField(body.slow_mode_seconds, chat.moderation.slowModeMax),
        );
      }
      const patch = serverChannelPatch(body);
      if (Object.keys(patch).length > 0) await chat.channels.update(system, ctx.param('id'), patch);
      const channel = channelView(await chat.directory.channel(system, ctx.param('id')));
      return ok({
        channel: { ...channel, slow_mode_seconds: await chat.moderation.slowMode(ctx.param('id')) },
      });
    }),
  );
  router.add(
    'GET',
    '/api/server/channels/:id/members',
    server(async (ctx) => ok({ members: memberList(await chat.channels.members(system, ctx.param('id'))) })),
  );
  router.add(
    'PUT',
    '/api/server/channels/:id/members/:userId',
    server(async (ctx) => {
      const body = parse(SetMember, await ctx.body());
      const change = await chat.channels.setMember(
        system,
        ctx.param('id'),
        ctx.param('userId'),
        body.role ?? 'member',
      );
      return ok({ member: memberView(change) });
    }),
  );
  router.add(
    'DELETE',
    '/api/server/channels/:id/members/:userId',
    server(async (ctx) => {
      await chat.channels.removeMember(system, ctx.param('id'), ctx.param('userId'));
      return NO_CONTENT;
    }),
  );

  // The webhook outbox: what waits, what died; dead deliveries sent again.
  const outbox = (): WebhookAdmin => {
    if (webhooks === undefined) throw new ParleyError('not_found', 'no webhooks are configured');
    return webhooks;
  };
  router.add(
    'GET',
    '/api/server/webhooks',
    server(async (ctx) => {
      const query = parse(WebhookQuery, Object.fromEntries(ctx.url.searchParams));
      const limit = query.limit ?? 50;
      const page = await outbox().list(query.state ?? 'dead', limit + 1, query.after);
      return ok({
        deliveries: page.slice(0, limit).map(webhookView),
        has_more: page.length > limit,
      });
    }),
  );
  router.add(
    'POST',
    '/api/server/webhooks/replay',
    server(async (ctx) => {
      const body = parse(ReplayWebhooks, await ctx.body(true));
      return ok({ replayed: await outbox().replay(body.ids) });
    }),
  );
}

const WebhookQuery = z.strictObject({
  state: z.enum(['pending', 'dead']).optional(),
  limit: z.coerce.number().int().min(1).max(WEBHOOK_PAGE_MAX).optional(),
  after: z.string().min(1).max(36).optional(),
});

const ReplayWebhooks = z.strictObject({
  ids: z.array(z.string().min(1).max(36)).min(1).max(1000).optional(),
});

function webhookView(d: WebhookDelivery) {
  return {
    id: d.id,
    event_id: d.eventId,
    type: d.type,
    url: d.url,
    state: d.state,
    attempts: d.attempts,
    created_at: d.createdAt,
    next_attempt_at: d.nextAttemptAt,
    expires_at: d.expiresAt,
    last_error: d.lastError,
    body: d.body,
  };
}
