// The rows of the webhook outbox: what a change writes in its own transaction, and the body a
// receiver gets. Pure: the SQLite append worker builds the rows of its batches with it too.
import { randomUUID } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import type { Message, Role } from '../../protocol/frames.js';

/** Where Parley-format webhook events go, and for how long a delivery is retried. */
export interface WebhookRouting {
  /** The receivers: one delivery per event and URL. */
  readonly urls: readonly string[];
  /** A delivery still failing this long after its event is dead (kept for replay). */
  readonly retryWindowMs: number;
}

/** One event for one URL, as a change writes it to the outbox. */
export interface NewWebhook {
  /** The event's id: `X-Parley-Delivery`, the same for every URL and every retry. */
  readonly eventId: string;
  readonly type: string;
  readonly url: string;
  /** The exact bytes to POST. */
  readonly body: string;
  /** Headers that sign the body already (Pusher's format); null = Parley's own, signed when sent. */
  readonly headers: Readonly<Record<string, string>> | null;
  readonly createdAt: number;
  /** Retried until then; dead after. */
  readonly expiresAt: number;
}

/** The `webhook_outbox` row of a new delivery. */
export interface NewWebhookRow {
  readonly id: string;
  readonly event_id: string;
  readonly type: string;
  readonly url: string;
  readonly body: string;
  readonly headers: string | null;
  readonly created_at: number;
  readonly expires_at: number;
  readonly attempts: number;
  readonly next_attempt_at: number;
  readonly state: 'pending';
  readonly claimed_by: null;
  readonly last_error: null;
}

/** The outbox's columns in insert order. */
export const WEBHOOK_COLUMNS = [
  'id',
  'event_id',
  'type',
  'url',
  'body',
  'headers',
  'created_at',
  'expires_at',
  'attempts',
  'next_attempt_at',
  'state',
  'claimed_by',
  'last_error',
] as const satisfies readonly (keyof NewWebhookRow)[];

/** The row that stores `webhook`, due at once. */
export function webhookRow(webhook: NewWebhook): NewWebhookRow {
  return {
    id: uuidv7(),
    event_id: webhook.eventId,
    type: webhook.type,
    url: webhook.url,
    body: webhook.body,
    headers: webhook.headers === null ? null : JSON.stringify(webhook.headers),
    created_at: webhook.createdAt,
    expires_at: webhook.expiresAt,
    attempts: 0,
    next_attempt_at: webhook.createdAt,
    state: 'pending',
    claimed_by: null,
    last_error: null,
  };
}

/**
 * A Parley-format event for every URL of `routing`: the body `{ id, type, created_at, data }`
 * (docs/api.md § Webhooks), one event id for all of them.
 */
export function parleyWebhooks(
  routing: WebhookRouting,
  type: string,
  data: Readonly<Record<string, unknown>>,
  now: number,
): NewWebhook[] {
  const eventId = randomUUID();
  const body = JSON.stringify({ id: eventId, type, created_at: now, data });
  return routing.urls.map((url) => ({
    eventId,
    type,
    url,
    body,
    headers: null,
    createdAt: now,
    expiresAt: now + routing.retryWindowMs,
  }));
}

/** The `message.created` events of a stored message. */
export function messageWebhooks(routing: WebhookRouting, message: Message, now: number): NewWebhook[] {
  return parleyWebhooks(routing, 'message.created', { message }, now);
}

/**
 * The `member.added` / `member.updated` / `member.removed` events of a membership change
 * (`role` null = removed; `previous` undefined = was not a member); none when nothing changed.
 */
export function memberWebhooks(
  routing: WebhookRouting,
  channel: string,
  userId: string,
  role: Role | null,
  previous: Role | undefined,
  now: number,
): NewWebhook[] {
  if (role === (previous ?? null)) return [];
  const type = role === null ? 'member.removed' : previous === undefined ? 'member.added' : 'member.updated';
  return parleyWebhooks(
    routing,
    type,
    { channel, user_id: userId, role, previous_role: previous ?? null },
    now,
  );
}
