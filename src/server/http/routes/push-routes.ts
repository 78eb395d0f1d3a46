import { z } from 'zod';
import type { PushService } from '../../push/push-service.js';
import type { RequestAuth } from '../request-auth.js';
import { type Handler, NO_CONTENT, ok } from '../request-context.js';
import type { Router } from '../router.js';
import { parse } from '../schemas.js';

/** What the push routes need. */
export interface PushRoutesDeps {
  /** Undefined when push is off: the key route says so, the others answer not_found. */
  readonly push: PushService | undefined;
  readonly auth: RequestAuth;
}

// Sizes are checked again by the service (`PARLEY_PUSH_ENDPOINT_MAX_CHARS`); these bound parsing.
const Subscription = z.object({
  endpoint: z.string().min(1).max(4096),
  keys: z.object({ p256dh: z.string().min(1).max(200), auth: z.string().min(1).max(100) }),
  expirationTime: z.number().nullable().optional(),
});
const Unsubscribe = z.object({ endpoint: z.string().min(1).max(4096) });
const Level = z.object({ level: z.enum(['all', 'mentions', 'none']).nullable() });

/**
 * The Web Push routes of the user API (docs/api.md § Web Push): the VAPID public key, the
 * signed-in user's browser subscriptions, and their notification level per channel.
 */
export function pushRoutes(router: Router<Handler>, { push, auth }: PushRoutesDeps): void {
  const user = auth.asUser.bind(auth);
  // Answered either way, so that a page learns whether push is on without an error.
  router.add(
    'GET',
    '/api/push/vapid-public-key',
    user(async () =>
      ok(push === undefined ? { enabled: false } : { enabled: true, public_key: push.vapidPublicKey }),
    ),
  );
  if (push === undefined) return;
  router.add(
    'POST',
    '/api/push/subscriptions',
    user(async (actor, ctx) => {
      const body = parse(Subscription, await ctx.body());
      await push.subscribe(actor, { endpoint: body.endpoint, keys: body.keys });
      return ok({ subscribed: true }, 201);
    }),
  );
  router.add(
    'DELETE',
    '/api/push/subscriptions',
    user(async (actor, ctx) => {
      const body = parse(Unsubscribe, await ctx.body());
      await push.unsubscribe(actor, body.endpoint);
      return NO_CONTENT;
    }),
  );
  router.add(
    'GET',
    '/api/channels/:id/notifications',
    user(async (actor, ctx) =>
      ok({ channel: ctx.param('id'), ...(await push.level(actor, ctx.param('id'))) }),
    ),
  );
  router.add(
    'PUT',
    '/api/channels/:id/notifications',
    user(async (actor, ctx) => {
      const body = parse(Level, await ctx.body());
      return ok({ channel: ctx.param('id'), ...(await push.setLevel(actor, ctx.param('id'), body.level)) });
    }),
  );
}
