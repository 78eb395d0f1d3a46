import type { ChannelKind, Role } from '../../protocol/frames.js';

/**
 * Parley's permission rules, as pure functions of a channel's kind and the caller's role
 * (undefined = not a member). Checked on every action by ChatService.
 */

/** May the user read (subscribe, history, presence) the channel? Public channels: anyone. */
export function canRead(kind: ChannelKind, role: Role | undefined): boolean {
  return kind === 'public' || role !== undefined;
}

/** May the user post (and show typing) in the channel? Read-only members may not. */
export function canPost(_kind: ChannelKind, role: Role | undefined): boolean {
  return role === 'owner' || role === 'admin' || role === 'moderator' || role === 'member';
}

/** Does subscribing or posting make a non-member a member? Only in public channels. */
export function joinsOnUse(kind: ChannelKind, role: Role | undefined): boolean {
  return kind === 'public' && role === undefined;
}

const RANK: Readonly<Record<Role, number>> = { owner: 4, admin: 3, moderator: 2, member: 1, readonly: 0 };

/**
 * May `actor` give `target` the role `next` (undefined = remove them)? Owners manage everyone;
 * admins manage members and read-only members, and may not grant admin or owner; anyone may
 * remove themselves; nobody removes a read-only member of a public channel (anyone may rejoin
 * a public channel, so removal would unmute them: change the role instead); direct-message channels have fixed members. (Keeping one owner is
 * the caller's check: it needs the member list.)
 */
export function canManageMember(
  kind: ChannelKind,
  actor: { readonly id: string; readonly role: Role | undefined },
  target: { readonly id: string; readonly role: Role | undefined },
  next: Role | undefined,
): boolean {
  if (kind === 'dm') return false;
  // In a public channel anyone may rejoin, so removing a read-only member would unmute them.
  if (kind === 'public' && next === undefined && target.role === 'readonly') return false;
  if (next === undefined && actor.id === target.id && actor.role !== undefined) return true;
  if (actor.role === 'owner') return true;
  if (actor.role !== 'admin') return false;
  const targetRank = target.role === undefined ? -1 : RANK[target.role];
  const nextRank = next === undefined ? -1 : RANK[next];
  return targetRank < RANK.admin && nextRank < RANK.admin;
}

/** May the user moderate the channel (edit its title and topic, delete others' messages)? */
export function canModerate(kind: ChannelKind, role: Role | undefined): boolean {
  return kind !== 'dm' && (role === 'owner' || role === 'admin');
}

/** May the user edit a message? Only its author, while they may post in the channel. */
export function canEditMessage(kind: ChannelKind, role: Role | undefined, isAuthor: boolean): boolean {
  return isAuthor && canPost(kind, role);
}

/** May the user delete a message? Its author (while they may read the channel), or a moderator. */
export function canDeleteMessage(kind: ChannelKind, role: Role | undefined, isAuthor: boolean): boolean {
  return (
    (isAuthor && canRead(kind, role)) || canModerate(kind, role) || (kind !== 'dm' && role === 'moderator')
  );
}

/** Is the role one of the channel's moderators (owner, admin or moderator)? They skip slow mode. */
export function isModerator(role: Role | undefined): boolean {
  return role === 'owner' || role === 'admin' || role === 'moderator';
}

/**
 * May `actor` ban or mute `target` (`hasTarget` false: list bans and mutes, set slow mode)?
 * Owners, admins and moderators may, of users ranked below them (a non-member ranks lowest);
 * never in a direct-message channel. (Not oneself: the caller's check.)
 */
export function canModerateMembers(
  kind: ChannelKind,
  actor: Role | undefined,
  target: Role | undefined,
  hasTarget: boolean,
): boolean {
  if (kind === 'dm' || !isModerator(actor) || actor === undefined) return false;
  if (!hasTarget) return true;
  return (target === undefined ? -1 : RANK[target]) < RANK[actor];
}

/**
 * May the user change the channel? Title and topic: owners and admins; archiving (or
 * unarchiving): owners only. Direct-message channels cannot be changed.
 */
export function canUpdateChannel(kind: ChannelKind, role: Role | undefined, archiving: boolean): boolean {
  if (archiving) return kind !== 'dm' && role === 'owner';
  return canModerate(kind, role);
}
