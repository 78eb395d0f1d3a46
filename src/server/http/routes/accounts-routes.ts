import type { Accounts } from '../../auth/accounts.js';
import type { RequestAuth } from '../request-auth.js';
import { type Handler, NO_CONTENT, ok } from '../request-context.js';
import type { Router } from '../router.js';
import { Credentials, parse, RefreshBody } from '../schemas.js';
import { sessionView } from '../views.js';

/** What the account routes need. */
export interface AccountsRoutesDeps {
  readonly accounts: Accounts;
  readonly auth: RequestAuth;
}

/**
 * Adds the account routes (docs/api.md, "Accounts"): register, login, refresh, logout under
 * `/api/auth/`, and `GET /api/me`. Each attempt is admitted by the login throttle before its
 * body is checked, as `Accounts` requires.
 */
export function accountsRoutes(router: Router<Handler>, { accounts, auth }: AccountsRoutesDeps): void {
  router.add('POST', '/api/auth/register', async (ctx) => {
    const admission = accounts.admitRegistration(ctx.ip);
    const body = parse(Credentials, await ctx.body());
    return ok(sessionView(await accounts.register(admission, body)), 201);
  });
  router.add('POST', '/api/auth/login', async (ctx) => {
    const raw = await ctx.body();
    const claimed =
      typeof raw === 'object' && raw !== null ? (raw as { username?: unknown }).username : undefined;
    const admission = accounts.admitLogin(ctx.ip, claimed);
    const body = parse(Credentials, raw);
    return ok(sessionView(await accounts.login(admission, body)));
  });
  router.add('POST', '/api/auth/refresh', async (ctx) => {
    const admission = accounts.admitRefresh(ctx.ip);
    const body = parse(RefreshBody, await ctx.body());
    return ok(sessionView(await accounts.refresh(admission, body.refresh_token)));
  });
  router.add('POST', '/api/auth/logout', async (ctx) => {
    const body = parse(RefreshBody, await ctx.body());
    await accounts.logout(body.refresh_token);
    return NO_CONTENT;
  });
  router.add(
    'GET',
    '/api/me',
    auth.asUser(async (actor) => ok({ user: actor.user })),
  );
}
