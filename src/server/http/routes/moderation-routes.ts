import { z } from 'zod';
import { ParleyError } from '../../../protocol/error-catalogue.js';
import { type Actor, SYSTEM_USER } from '../../core/actor.js';
import type { ChatService } from '../../core/chat-service.js';
import { reportView } from '../../store/kysely-moderation.js';
import type { SanctionKind } from '../../store/moderation-store.js';
import { MAX_MODERATION_REASON } from '../../store/moderation-store.js';
import type { RequestAuth } from '../request-auth.js';
import { type Handler, NO_CONTENT, ok, type RequestContext } from '../request-context.js';
import type { Router } from '../router.js';
import { parse, seqParam } from '../schemas.js';

/** What the moderation routes need. */
export interface ModerationRoutesDeps {
  readonly chat: ChatService;
  readonly auth: RequestAuth;
}

const until = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const reason = z.string().min(1).max(MAX_MODERATION_REASON);

/** `POST …/bans/:userId`: optional end (ms since the epoch) and reason. */
const BanBody = z.strictObject({ until: until.optional(), reason: reason.optional() });
/** `POST …/mutes/:userId`: its end (ms since the epoch) and an optional reason. */
const MuteBody = z.strictObject({ until, reason: reason.optional() });
/** `POST …/messages/:msgId/reports`. */
const ReportBody = z.strictObject({ reason });
/** `PUT /api/server/moderation/filters`. */
const FilterBody = z.strictObject({
  channel: z.string().min(1).max(100).optional(),
  words: z.array(z.string()).max(100_000),
  action: z.enum(['reject', 'mask']),
});
const ReportState = z.enum(['open', 'resolved', 'dismissed']);

const REPORT_PAGE_MAX = 100;
const system: Actor = { user: SYSTEM_USER, system: true };

/**
 * Adds moderation (docs/api.md, "Moderation"): bans and mutes under `/api/channels/:id` for the
 * channel's owners, admins and moderators, the same under `/api/server/channels/:id` with the
 * server API key; reports by any reader, and the server API's word filters and report queue.
 */
export function moderationRoutes(router: Router<Handler>, { chat, auth }: ModerationRoutesDeps): void {
  const user = auth.asUser.bind(auth);
  const server = auth.asServer.bind(auth);
  const both = (
    path: string,
    method: string,
    fn: (actor: Actor, ctx: RequestContext) => Promise<ReturnType<typeof ok>>,
  ) => {
    router.add(method, `/api/channels/:id${path}`, user(fn));
    router.add(
      method,
      `/api/server/channels/:id${path}`,
      server((ctx) => fn(system, ctx)),
    );
  };
  const kinds: readonly [string, SanctionKind, typeof BanBody | typeof MuteBody][] = [
    ['bans', 'ban', BanBody],
    ['mutes', 'mute', MuteBody],
  ];
  for (const [path, kind, body] of kinds) {
    both(`/${path}/:userId`, 'POST', async (actor, ctx) => {
      const input = parse(body, await ctx.body(kind === 'ban'));
      const sanction = await chat.moderation.sanction(
        actor,
        ctx.param('id'),
        ctx.param('userId'),
        kind,
        input,
      );
      return ok({ [kind]: sanction }, 201);
    });
    both(`/${path}/:userId`, 'DELETE', async (actor, ctx) => {
      await chat.moderation.lift(actor, ctx.param('id'), ctx.param('userId'), kind);
      return NO_CONTENT;
    });
    both(`/${path}`, 'GET', async (actor, ctx) =>
      ok({ [path]: await chat.moderation.list(actor, ctx.param('id'), kind) }),
    );
  }

  router.add(
    'POST',
    '/api/channels/:id/messages/:msgId/reports',
    user(async (actor, ctx) => {
      const body = parse(ReportBody, await ctx.body());
      const report = await chat.moderation.report(actor, ctx.param('id'), ctx.param('msgId'), body.reason);
      return ok({ report: reportView(report) }, 201);
    }),
  );

  router.add(
    'PUT',
    '/api/server/moderation/filters',
    server(async (ctx) => {
      const body = parse(FilterBody, await ctx.body());
      await chat.moderation.putFilter(body.channel, body.words, body.action);
      return ok({ filters: filterViews(await chat.moderation.filters()) });
    }),
  );
  router.add(
    'GET',
    '/api/server/moderation/filters',
    server(async () => ok({ filters: filterViews(await chat.moderation.filters()) })),
  );

  router.add(
    'GET',
    '/api/server/reports',
    server(async (ctx) => {
      const state = parse(ReportState, ctx.url.searchParams.get('state') ?? 'open');
      const limit = Math.min(Math.max(seqParam(ctx.url, 'limit') ?? 50, 1), REPORT_PAGE_MAX);
      const after = ctx.url.searchParams.get('after') ?? undefined;
      const reports = await chat.moderation.reports(state, limit + 1, after);
      const page = reports.slice(0, limit);
      return ok({
        reports: page.map(reportView),
        next_after: reports.length > limit ? (page.at(-1)?.id ?? null) : null,
      });
    }),
  );
  for (const [path, state] of [
    ['resolve', 'resolved'],
    ['dismiss', 'dismissed'],
  ] as const) {
    router.add(
      'POST',
      `/api/server/reports/:reportId/${path}`,
      server(async (ctx) =>
        ok({ report: reportView(await chat.moderation.settle(system, ctx.param('reportId'), state)) }),
      ),
    );
  }
}

function filterViews(lists: Awaited<ReturnType<ChatService['moderation']['filters']>>): unknown[] {
  return lists.map((l) => ({
    channel: l.channelId,
    words: l.words,
    action: l.action,
    updated_at: l.updatedAt,
  }));
}

/** The `slow_mode_seconds` field of `PATCH /api/channels/:id`: 0 (off) to `max`. */
export function slowModeField(value: unknown, max: number): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0 || (value as number) > max) {
    throw new ParleyError('bad_request', `"slow_mode_seconds" must be an integer from 0 to ${max}`);
  }
  return value as number;
}
