import type { AccountSession } from '../auth/accounts.js';
import type { UserRecord } from '../core/directory.js';
import type { MemberChanged, ReactionToggled, ReadPositionMoved } from '../core/events.js';
import type { StoredChannel, StoredMember } from '../store/store.js';

// The JSON shapes of docs/api.md that are not the core's own objects (channels as a user sees
// them, messages, pages and search results go out as the core returns them).

/** A signed-in session as `POST /api/auth/register|login|refresh` answer it. */
export function sessionView(session: AccountSession): Record<string, unknown> {
  return {
    user: session.user,
    token: session.token,
    expires_at: session.expiresAt,
    refresh_token: session.refreshToken,
    refresh_expires_at: session.refreshExpiresAt,
  };
}

/** A user as the server API shows them. */
export function userView(user: UserRecord): Record<string, unknown> {
  return {
    id: user.id,
    username: user.username,
    created_at: user.createdAt,
    banned: user.banned,
    tokens_valid_after: user.tokensValidAfter,
  };
}

/** A stored channel as the server API shows it (undefined stays undefined: no `channel` key). */
export function channelView(channel: StoredChannel | undefined): Record<string, unknown> | undefined {
  if (channel === undefined) return undefined;
  return {
    id: channel.id,
    kind: channel.kind,
    title: channel.title,
    topic: channel.topic,
    archived: channel.archived,
    last_seq: channel.lastSeq,
    created_by: channel.createdBy,
    created_at: channel.createdAt,
    retention_days: channel.retentionDays,
    pruned_seq: channel.prunedSeq,
  };
}

/** A channel's members. */
export function memberList(members: readonly StoredMember[]): unknown[] {
  return members.map((m) => ({
    user_id: m.userId,
    username: m.username,
    role: m.role,
    joined_at: m.joinedAt,
  }));
}

/** A membership just set. */
export function memberView(change: MemberChanged): Record<string, unknown> {
  return { channel: change.channel, user_id: change.user_id, role: change.role };
}

/** A reaction just toggled. */
export function reactionView(toggled: ReactionToggled): Record<string, unknown> {
  return { emoji: toggled.emoji, added: toggled.added, count: toggled.count };
}

/** A read position just moved. */
export function readPositionView(moved: ReadPositionMoved): Record<string, unknown> {
  return { channel: moved.channel, last_read_seq: moved.seq };
}
