import { ParleyError } from '../../protocol/error-catalogue.js';
import type { Role } from '../../protocol/frames.js';
import { type Bus, CONTROL_TOPIC, channelTopic } from '../bus/bus.js';
import type { Limits } from '../config.js';
import type {
  ChannelModeration,
  FilterAction,
  MessageReport,
  ReportState,
  Sanction,
  SanctionKind,
  WordFilterList,
} from '../store/moderation-store.js';
import type { Store } from '../store/store.js';
import type { Access, ChannelMeta } from './access.js';
import type { Actor } from './actor.js';
import type { BeforePublish } from './before-publish.js';
import type { ChatObserver } from './chat-observer.js';
import { deliverTo } from './delivery.js';
import type { ChannelModerated } from './events.js';
import { canModerateMembers, isModerator } from './permissions.js';
import type { Sessions } from './sessions.js';
import type { Subscriptions } from './subscriptions.js';
import { filterWordProblem, WordFilter } from './word-filter.js';

/** What Moderation runs on. */
export interface ModerationDeps {
  readonly store: Store;
  readonly bus: Bus;
  readonly limits: Limits;
  readonly observer: ChatObserver;
  readonly access: Access;
  readonly sessions: Sessions;
  readonly subscriptions: Subscriptions;
  /** The app's before-publish hook, when one is configured. */
  readonly beforePublish?: BeforePublish | undefined;
  /** The clock, in ms (tests). */
  readonly now?: () => number;
}

/** A ban or mute as the API shows it. */
export interface SanctionView {
  readonly channel: string;
  readonly user_id: string;
  readonly kind: SanctionKind;
  readonly until: number | null;
  readonly reason: string | null;
  readonly by: string;
  readonly created_at: number;
}

/** A ban or mute's settings. */
export interface SanctionInput {
  readonly until?: number | undefined;
  readonly reason?: string | undefined;
}

/** What a publish carries into the moderation checks. */
export interface PostCheck {
  readonly channel: ChannelMeta;
  readonly role: Role | undefined;
  readonly text: string;
  readonly clientMsgId: string | null;
}

interface ChannelState {
  readonly bans: ReadonlyMap<string, Sanction>;
  readonly mutes: ReadonlyMap<string, Sanction>;
  readonly slowModeSeconds: number;
  readonly at: number;
}

const CACHE_MAX = 10_000;

/**
 * Channel moderation (issue 17): bans, timed mutes, slow mode, word filters, the app's
 * before-publish hook and reports. The checks of a publish read a per-channel cache (who is
 * banned or muted, slow mode) and a compiled word filter, so a message costs no SQL round trip
 * but in a slow-mode channel (where the post slot is taken in the Store, which is what holds
 * the window across nodes). Every change announces itself on the bus's control topic: every
 * node forgets what it cached of the channel and ends a banned user's subscriptions there at
 * once. A lost announcement is bounded like the role cache: entries are trusted for
 * `accessCacheTtlMs` at most, not at all while the bus is down, and all are forgotten on a
 * resync (when the re-check also ends banned users' subscriptions).
 */
export class Moderation {
  readonly #d: ModerationDeps;
  readonly #now: () => number;
  readonly #channels = new Map<string, ChannelState>();
  #filters: { readonly lists: readonly WordFilterList[]; readonly at: number } | undefined;
  readonly #compiled = new Map<string, WordFilter>();
  #generation = 0;

  constructor(deps: ModerationDeps) {
    this.#d = deps;
    this.#now = deps.now ?? Date.now;
    deps.access.banned = (channelId, userId) => this.banned(channelId, userId);
  }

  // ─── the checks ─────────────────────────────────────────────────────────────────────────

  /** True when the user is banned from the channel now. */
  async banned(channelId: string, userId: string): Promise<boolean> {
    const state = await this.#state(channelId);
    return this.#active(state.bans.get(userId)) !== undefined;
  }

  /**
   * The checks of a user's post, in order: ban (`banned`), mute (`muted`, with `until`), word
   * filters (`content_rejected`, or the text masked), the before-publish hook (`content_rejected`,
   * or the text it gives), then slow mode (`slow_mode`, with `retry_after_ms`; owners, admins
   * and moderators are exempt). Returns the text to store.
   */
  async checkPost(actor: Actor, post: PostCheck): Promise<string> {
    const channelId = post.channel.id;
    const state = await this.#state(channelId);
    const userId = actor.user.id;
    const ban = this.#active(state.bans.get(userId));
    if (ban !== undefined) throw bannedFor(channelId, ban.until);
    const mute = this.#active(state.mutes.get(userId));
    if (mute !== undefined) {
      const when = mute.until === null ? 'until unmuted' : `until ${new Date(mute.until).toISOString()}`;
      throw new ParleyError('muted', `you are muted in "${channelId}" ${when}`, {
        details: { until: mute.until },
      });
    }
    let text = post.text;
    const filter = await this.#filterFor(channelId);
    if (filter !== undefined) {
      const verdict = filter.apply(text);
      if (verdict.action === 'reject') {
        throw new ParleyError('content_rejected', 'the message contains a word this channel does not allow');
      }
      text = verdict.text;
    }
    const hook = this.#d.beforePublish;
    if (hook !== undefined) {
      const answer = await hook.check({ channel: channelId, user: actor.user, text });
      if (answer.action === 'reject') {
        throw new ParleyError('content_rejected', answer.reason ?? 'the app refused the message');
      }
      if (answer.action === 'replace') text = answer.text;
    }
    if (state.slowModeSeconds > 0 && !isModerator(post.role)) {
      const wait = await this.#d.store.moderation.takePostSlot({
        channelId,
        userId,
        clientMsgId: post.clientMsgId,
        now: this.#now(),
        windowMs: state.slowModeSeconds * 1000,
      });
      if (wait > 0) {
        throw new ParleyError(
          'slow_mode',
          `slow mode: one message every ${state.slowModeSeconds} s in "${channelId}"; wait ${Math.ceil(wait / 1000)} s`,
          { details: { retry_after_ms: wait } },
        );
      }
    }
    return text;
  }

  /**
   * The checks of an edit of one's own message: a muted user may not edit (`muted`), and the new
   * text goes through the word filters (`content_rejected`, or masked). Returns the text to store.
   */
  async checkEdit(actor: Actor, channelId: string, text: string): Promise<string> {
    const state = await this.#state(channelId);
    const mute = this.#active(state.mutes.get(actor.user.id));
    if (mute !== undefined) {
      throw new ParleyError('muted', `you are muted in "${channelId}"`, { details: { until: mute.until } });
    }
    const verdict = (await this.#filterFor(channelId))?.apply(text);
    if (verdict?.action === 'reject') {
      throw new ParleyError('content_rejected', 'the message contains a word this channel does not allow');
    }
    return verdict?.text ?? text;
  }

  // ─── bans and mutes ─────────────────────────────────────────────────────────────────────

  /** Bans (or mutes) the user in the channel; every node ends a banned user's subscriptions. */
  async sanction(
    actor: Actor,
    channelId: string,
    userId: string,
    kind: SanctionKind,
    input: SanctionInput,
  ): Promise<SanctionView> {
    await this.#authorize(actor, channelId, userId);
    const now = this.#now();
    if (input.until !== undefined && input.until <= now) {
      throw new ParleyError('bad_request', '"until" must be in the future');
    }
    if (kind === 'mute' && input.until === undefined)
      throw new ParleyError('bad_request', 'a mute needs "until"');
    const sanction: Sanction = {
      channelId,
      userId,
      kind,
      until: input.until ?? null,
      reason: input.reason ?? null,
      by: actor.user.id,
      createdAt: now,
    };
    await this.#d.store.moderation.sanction(sanction);
    await this.#announce(channelId, kind === 'ban' ? userId : undefined, {
      kind: 'moderated',
      channel: channelId,
      action: kind === 'ban' ? 'banned' : 'muted',
      user_id: userId,
      until: sanction.until,
      by: actor.user.id,
    });
    return sanctionView(sanction);
  }

  /** Lifts the user's ban (or mute). Throws `not_found` when there is none. */
  async lift(actor: Actor, channelId: string, userId: string, kind: SanctionKind): Promise<void> {
    await this.#authorize(actor, channelId, userId);
    const lifted = await this.#d.store.moderation.lift(channelId, userId, kind, actor.user.id, this.#now());
    await this.#announce(channelId, undefined, {
      kind: 'moderated',
      channel: channelId,
      action: kind === 'ban' ? 'unbanned' : 'unmuted',
      user_id: userId,
      until: null,
      by: actor.user.id,
    });
    if (!lifted)
      throw new ParleyError('not_found', `${userId} is not ${kind === 'ban' ? 'banned' : 'muted'} here`);
  }

  /** The bans (or mutes) in force in the channel, for its moderators. */
  async list(actor: Actor, channelId: string, kind: SanctionKind): Promise<readonly SanctionView[]> {
    await this.#authorize(actor, channelId, undefined);
    const now = this.#now();
    const { sanctions } = await this.#d.store.moderation.channelModeration(channelId, now);
    return sanctions.filter((s) => s.kind === kind).map(sanctionView);
  }

  /** Sets the channel's slow mode, 0–`slowModeMaxSeconds` (owners, admins, moderators). */
  async setSlowMode(actor: Actor, channelId: string, seconds: number): Promise<void> {
    await this.#authorize(actor, channelId, undefined);
    await this.#d.store.moderation.setSlowMode(channelId, seconds);
    await this.#announce(channelId, undefined, {
      kind: 'moderated',
      channel: channelId,
      action: 'slow_mode',
      user_id: null,
      until: null,
      by: actor.user.id,
      slow_mode_seconds: seconds,
    });
  }

  /** The longest slow mode allowed, in seconds. */
  get slowModeMax(): number {
    return this.#d.limits.slowModeMaxSeconds;
  }

  /** The channel's slow mode, in seconds (0 = off), as this node knows it. */
  async slowMode(channelId: string): Promise<number> {
    return (await this.#state(channelId)).slowModeSeconds;
  }

  // ─── word filters (the server API) ──────────────────────────────────────────────────────

  /** Replaces the server-wide (`channelId` undefined) or a channel's word list. */
  async putFilter(
    channelId: string | undefined,
    words: readonly string[],
    action: FilterAction,
  ): Promise<void> {
    const max = this.#d.limits.filterWordsMax;
    if (words.length > max) throw new ParleyError('bad_request', `at most ${max} words per list`);
    for (const word of words) {
      const problem = filterWordProblem(word);
      if (problem !== undefined) throw new ParleyError('bad_request', problem);
    }
    if (channelId !== undefined && (await this.#d.access.channel(channelId)) === undefined) {
      throw new ParleyError('not_found', `no channel "${channelId}"`);
    }
    const unique = [...new Set(words)];
    await this.#d.store.moderation.putWordFilter({
      channelId: channelId ?? null,
      words: unique,
      action,
      updatedAt: this.#now(),
    });
    await this.#d.bus.publish(CONTROL_TOPIC, { kind: 'moderation', channel: null });
  }

  /** Every word list, the server-wide one first. */
  filters(): Promise<readonly WordFilterList[]> {
    return this.#d.store.moderation.wordFilters();
  }

  // ─── reports ────────────────────────────────────────────────────────────────────────────

  /** A reader reports a message (`message.reported` goes to the webhooks). */
  async report(actor: Actor, channelId: string, messageId: string, reason: string): Promise<MessageReport> {
    await this.#d.access.check(actor, channelId);
    if (actor.system !== true) this.#d.sessions.takePublishToken(actor.user.id);
    const message = await this.#d.store.getMessage(channelId, messageId);
    if (message === undefined) throw new ParleyError('not_found', 'no such message');
    return this.#d.store.moderation.report({
      channelId,
      messageId,
      reporterId: actor.user.id,
      reason,
      now: this.#now(),
      message,
    });
  }

  /** Reports in `state`, oldest first, after `after`. */
  reports(state: ReportState, limit: number, after?: string): Promise<readonly MessageReport[]> {
    return this.#d.store.moderation.listReports({ state, limit, after });
  }

  /** Resolves or dismisses an open report. */
  async settle(actor: Actor, id: string, state: 'resolved' | 'dismissed'): Promise<MessageReport> {
    const report = await this.#d.store.moderation.settleReport(id, state, actor.user.id, this.#now());
    if (report === undefined) throw new ParleyError('not_found', `no report "${id}"`);
    return report;
  }

  // ─── what the bus tells ─────────────────────────────────────────────────────────────────

  /**
   * A moderation change on some node: forget the channel's cached state (or every word filter,
   * for `channel` null), and end the banned user's subscriptions to the channel on this node.
   */
  changed(channel: string | null, bannedUser: string | undefined): void {
    this.#generation++;
    if (channel === null) {
      this.#filters = undefined;
      this.#compiled.clear();
      return;
    }
    this.#channels.delete(channel);
    this.#compiled.delete(channel);
    if (bannedUser === undefined) return;
    for (const session of this.#d.sessions.of(bannedUser)) {
      const sub = session.subscriptions.get(channel);
      if (sub === undefined || sub.closed) continue;
      deliverTo(session, { kind: 'unsubscribed', channel, reason: 'banned' });
      this.#d.subscriptions.end(session, sub).catch((err) => this.#d.observer.error(err, 'ban'));
    }
  }

  /** Forgets everything cached: announcements may have been lost (a bus resync). */
  clear(): void {
    this.#generation++;
    this.#channels.clear();
    this.#filters = undefined;
    this.#compiled.clear();
  }

  // ─── inside ─────────────────────────────────────────────────────────────────────────────

  async #authorize(actor: Actor, channelId: string, target: string | undefined): Promise<void> {
    const { access } = this.#d;
    const channel = await access.channel(channelId);
    if (actor.system === true) {
      if (channel === undefined) throw new ParleyError('not_found', `no channel "${channelId}"`);
      return;
    }
    const { role } = await access.check(actor, channelId);
    const targetRole = target === undefined ? undefined : await access.role(channelId, target, true);
    if (
      target === actor.user.id ||
      !canModerateMembers(channel?.kind ?? 'dm', role, targetRole, target !== undefined)
    ) {
      throw new ParleyError(
        'forbidden',
        `you may not moderate ${target === undefined ? 'this channel' : target} here`,
      );
    }
  }

  async #announce(channelId: string, bannedUser: string | undefined, event: ChannelModerated): Promise<void> {
    const { bus } = this.#d;
    await bus.publish(CONTROL_TOPIC, {
      kind: 'moderation',
      channel: channelId,
      ...(bannedUser === undefined ? {} : { banned: bannedUser }),
    });
    await bus.publish(channelTopic(channelId), event);
  }

  #active(sanction: Sanction | undefined): Sanction | undefined {
    if (sanction === undefined) return undefined;
    return sanction.until === null || sanction.until > this.#now() ? sanction : undefined;
  }

  #fresh(at: number): boolean {
    return this.#now() - at < this.#d.limits.accessCacheTtlMs && this.#d.bus.connected;
  }

  async #state(channelId: string): Promise<ChannelState> {
    const cached = this.#channels.get(channelId);
    if (cached !== undefined && this.#fresh(cached.at)) return cached;
    const generation = this.#generation;
    const read: ChannelModeration = await this.#d.store.moderation.channelModeration(channelId, this.#now());
    const bans = new Map<string, Sanction>();
    const mutes = new Map<string, Sanction>();
    for (const s of read.sanctions) (s.kind === 'ban' ? bans : mutes).set(s.userId, s);
    const state: ChannelState = { bans, mutes, slowModeSeconds: read.slowModeSeconds, at: this.#now() };
    if (generation === this.#generation) {
      if (this.#channels.size >= CACHE_MAX) this.#channels.clear();
      this.#channels.set(channelId, state);
    }
    return state;
  }

  // The compiled filter of the server-wide list and the channel's, or undefined when both are empty.
  async #filterFor(channelId: string): Promise<WordFilter | undefined> {
    let lists = this.#filters;
    if (lists === undefined || !this.#fresh(lists.at)) {
      const generation = this.#generation;
      lists = { lists: await this.#d.store.moderation.wordFilters(), at: this.#now() };
      this.#compiled.clear();
      if (generation === this.#generation) this.#filters = lists;
    }
    let filter = this.#compiled.get(channelId);
    if (filter === undefined) {
      filter = new WordFilter(lists.lists.filter((l) => l.channelId === null || l.channelId === channelId));
      if (this.#compiled.size >= CACHE_MAX) this.#compiled.clear();
      // Compiled from lists an announcement overtook: used once, not kept.
      if (this.#filters === lists) this.#compiled.set(channelId, filter);
    }
    return filter.empty ? undefined : filter;
  }
}

/** The refusal of a banned user, saying until when. */
export function bannedFor(channelId: string, until: number | null): ParleyError {
  const when = until === null ? '' : ` until ${new Date(until).toISOString()}`;
  return new ParleyError('banned', `you are banned from "${channelId}"${when}`, { details: { until } });
}

function sanctionView(s: Sanction): SanctionView {
  return {
    channel: s.channelId,
    user_id: s.userId,
    kind: s.kind,
    until: s.until,
    reason: s.reason,
    by: s.by,
    created_at: s.createdAt,
  };
}
