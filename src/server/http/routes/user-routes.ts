import { ParleyError } from '../../../protocol/error-catalogue.js';
import type { Actor } from '../../core/actor.js';
import type { ChatService } from '../../core/chat-service.js';
import type { RequestAuth } from '../request-auth.js';
import { type Handler, NO_CONTENT, ok } from '../request-context.js';
import type { Router } from '../router.js';
import {
  CreateChannel,
  EditMessage,
  MarkRead,
  OpenDm,
  PatchChannel,
  PostMessage,
  parse,
  React,
  SetMember,
  seqParam,
} from '../schemas.js';
import { memberList, memberView, reactionView, readPositionView } from '../views.js';
import { slowModeField } from './moderation-routes.js';

// A channel as the API shows it, with its slow mode (issue 17).
async function channelWithSlowMode(chat: ChatService, actor: Actor, id: string): Promise<object> {
  const channel = await chat.channels.get(actor, id);
  return { ...channel, slow_mode_seconds: await chat.moderation.slowMode(id) };
}

/** What the user API's routes need. */
export interface UserRoutesDeps {
  readonly chat: ChatService;
  readonly auth: RequestAuth;
}

// The longest search query accepted.
const MAX_QUERY = 200;

/**
 * Adds the user API (docs/api.md, "Channels, members, direct messages" and "Messages"): every
 * route runs as the bearer token's user and calls the same core as the WebSocket.
 */
export function userRoutes(router: Router<Handler>, { chat, auth }: UserRoutesDeps): void {
  const user = auth.asUser.bind(auth);

  // Channels and members.
  router.add(
    'GET',
    '/api/channels',
    user(async (actor) => ok({ channels: await chat.channels.list(actor) })),
  );
  router.add(
    'POST',
    '/api/channels',
    user(async (actor, ctx) => {
      const body = parse(CreateChannel, await ctx.body());
      await chat.channels.create(actor, {
        channel: body.id,
        private: body.private,
        title: body.title,
        topic: body.topic,
      });
      return ok({ channel: await chat.channels.get(actor, body.id) }, 201);
    }),
  );
  router.add(
    'GET',
    '/api/channels/:id',
    user(async (actor, ctx) => ok({ channel: await channelWithSlowMode(chat, actor, ctx.param('id')) })),
  );
  router.add(
    'PATCH',
    '/api/channels/:id',
    user(async (actor, ctx) => {
      const { slow_mode_seconds: slow, ...patch } = parse(PatchChannel, await ctx.body());
      if (slow !== undefined) {
        const seconds = slowModeField(slow, chat.moderation.slowModeMax);
        await chat.moderation.setSlowMode(actor, ctx.param('id'), seconds);
      }
      if (Object.keys(patch).length > 0) await chat.channels.update(actor, ctx.param('id'), patch);
      return ok({ channel: await channelWithSlowMode(chat, actor, ctx.param('id')) });
    }),
  );
  router.add(
    'GET',
    '/api/channels/:id/members',
    user(async (actor, ctx) =>
      ok({ members: memberList(await chat.channels.members(actor, ctx.param('id'))) }),
    ),
  );
  router.add(
    'PUT',
    '/api/channels/:id/members/:userId',
    user(async (actor, ctx) => {
      const body = parse(SetMember, await ctx.body());
      const change = await chat.channels.setMember(
        actor,
        ctx.param('id'),
        ctx.param('userId'),
        body.role ?? 'member',
      );
      return ok({ member: memberView(change) });
    }),
  );
  router.add(
    'DELETE',
    '/api/channels/:id/members/:userId',
    user(async (actor, ctx) => {
      await chat.channels.removeMember(actor, ctx.param('id'), ctx.param('userId'));
      return NO_CONTENT;
    }),
  );
  router.add(
    'POST',
    '/api/dms',
    user(async (actor, ctx) => {
      const body = parse(OpenDm, await ctx.body());
      const dm = await chat.channels.openDm(actor, body.user_id);
      return ok({ channel: await chat.channels.get(actor, dm.id) });
    }),
  );

  // Messages.
  router.add(
    'GET',
    '/api/channels/:id/messages',
    user(async (actor, ctx) => {
      const before = seqParam(ctx.url, 'before');
      const after = seqParam(ctx.url, 'after');
      const limit = seqParam(ctx.url, 'limit');
      if (before !== undefined && after !== undefined) {
        throw new ParleyError('bad_request', 'give "before" or "after", not both');
      }
      if (limit === 0) throw new ParleyError('bad_request', '"limit" must be at least 1');
      const page = await chat.messages.history(actor, {
        channel: ctx.param('id'),
        ...(before === undefined ? {} : { before }),
        ...(after === undefined ? {} : { after }),
        ...(limit === undefined ? {} : { limit }),
      });
      return ok({ messages: page.messages, has_more: page.has_more });
    }),
  );
  router.add(
    'POST',
    '/api/channels/:id/messages',
    user(async (actor, ctx) => {
      const body = parse(PostMessage, await ctx.body());
      const result = await chat.messages.post(actor, {
        channel: ctx.param('id'),
        text: body.text,
        clientMsgId: body.client_msg_id ?? null,
        replyTo: body.reply_to,
        attachments: body.attachments,
      });
      return ok({ message: result.message, duplicate: result.duplicate }, result.duplicate ? 200 : 201);
    }),
  );
  router.add(
    'GET',
    '/api/channels/:id/messages/:msgId',
    user(async (actor, ctx) =>
      ok({ message: await chat.messages.get(actor, ctx.param('id'), ctx.param('msgId')) }),
    ),
  );
  router.add(
    'PATCH',
    '/api/channels/:id/messages/:msgId',
    user(async (actor, ctx) => {
      const body = parse(EditMessage, await ctx.body());
      await chat.messages.edit(actor, ctx.param('id'), ctx.param('msgId'), body.text);
      return ok({ message: await chat.messages.get(actor, ctx.param('id'), ctx.param('msgId')) });
    }),
  );
  router.add(
    'DELETE',
    '/api/channels/:id/messages/:msgId',
    user(async (actor, ctx) => {
      await chat.messages.delete(actor, ctx.param('id'), ctx.param('msgId'));
      return NO_CONTENT;
    }),
  );
  router.add(
    'GET',
    '/api/channels/:id/messages/:msgId/versions',
    user(async (actor, ctx) =>
      ok({ versions: await chat.messages.versions(actor, ctx.param('id'), ctx.param('msgId')) }),
    ),
  );
  router.add(
    'POST',
    '/api/channels/:id/messages/:msgId/reactions',
    user(async (actor, ctx) => {
      const body = parse(React, await ctx.body());
      const toggled = await chat.messages.react(actor, ctx.param('id'), ctx.param('msgId'), body.emoji);
      return ok(reactionView(toggled));
    }),
  );
  router.add(
    'GET',
    '/api/channels/:id/messages/:msgId/thread',
    user(async (actor, ctx) =>
      ok(
        await chat.messages.thread(actor, ctx.param('id'), ctx.param('msgId'), {
          after: seqParam(ctx.url, 'after'),
          limit: seqParam(ctx.url, 'limit'),
        }),
      ),
    ),
  );
  router.add(
    'PUT',
    '/api/channels/:id/read',
    user(async (actor, ctx) => {
      const body = parse(MarkRead, await ctx.body());
      return ok(readPositionView(await chat.messages.markRead(actor, ctx.param('id'), body.seq)));
    }),
  );
  router.add(
    'GET',
    '/api/search',
    user(async (actor, ctx) => {
      const q = ctx.url.searchParams.get('q') ?? '';
      if (q.length > MAX_QUERY) {
        throw new ParleyError('bad_request', `"q" is longer than ${MAX_QUERY} characters`);
      }
      const channel = ctx.url.searchParams.get('channel') ?? undefined;
      return ok(
        await chat.messages.search(actor, {
          text: q,
          channel,
          limit: seqParam(ctx.url, 'limit'),
          offset: seqParam(ctx.url, 'offset'),
        }),
      );
    }),
  );
}
