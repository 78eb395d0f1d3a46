import type { ChatService } from '../../core/chat-service.js';
import type { RequestAuth } from '../request-auth.js';
import { type Handler, ok } from '../request-context.js';
import type { Router } from '../router.js';

/** What the user search route needs. */
export interface UserSearchRoutesDeps {
  readonly chat: ChatService;
  readonly auth: RequestAuth;
}

/** Adds `GET /api/users?q=` (docs/api.md, "Users"): signed-in users find others by the start of their name. */
export function userSearchRoutes(router: Router<Handler>, { chat, auth }: UserSearchRoutesDeps): void {
  router.add(
    'GET',
    '/api/users',
    auth.asUser(async (actor, ctx) =>
      ok({ users: await chat.users.find(actor, ctx.url.searchParams.get('q') ?? '') }),
    ),
  );
}
