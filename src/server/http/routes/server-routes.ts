import type { UserInfo } from '../../../protocol/frames.js';
import type { Accounts } from '../../auth/accounts.js';
import { type Actor, SYSTEM_USER } from '../../core/actor.js';
import type { ChatService } from '../../core/chat-service.js';
import type { RequestAuth } from '../request-auth.js';
import { type Handler, NO_CONTENT, ok, type RequestContext } from '../request-context.js';
import type { Router } from '../router.js';
import {
  Disconnect,
  idempotencyKey,
  PatchChannel,
  PutUser,
  parse,
  ServerCreateChannel,
  ServerPostMessage,
  SetMember,
  UserId,
} from '../schemas.js';
import { channelView, memberList, memberView, userView } from '../views.js';

/** What the server API's routes need. */
export interface ServerRoutesDeps {
  readonly chat: ChatService;
  readonly accounts: Accounts;
  readonly auth: RequestAuth;
}

const system: Actor = { user: SYSTEM_USER, system: true };

/**
 * Adds the server API (docs/api.md, "Server API"): the app's backend, with `PARLEY_API_KEY`,
 * posts as any user, manages users (create, rename, log out everywhere, ban, unban) and
 * channels, acting as the system actor that bypasses channel permissions and rate limits.
 */
export function serverRoutes(router: Router<Handler>, { chat, accounts, auth }: ServerRoutesDeps): void {
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
        { channel: body.channel, text: body.text, clientMsgId: key ?? null, replyTo: body.reply_to },
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
      const patch = parse(PatchChannel, await ctx.body());
      await chat.channels.update(system, ctx.param('id'), patch);
      return ok({ channel: channelView(await chat.directory.channel(system, ctx.param('id'))) });
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
}
