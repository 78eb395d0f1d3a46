import { ParleyError } from '../../protocol/error-catalogue.js';
import type { Message, SearchHit } from '../../protocol/frames.js';
import { type Bus, CONTROL_TOPIC, channelTopic } from '../bus/bus.js';
import type { HistoryCache } from '../cache/history-cache.js';
import type { Limits } from '../config.js';
import { highlightRanges, searchTerms } from '../store/search-terms.js';
import type { AppendResult, Store } from '../store/store.js';
import { type Access, noAccess } from './access.js';
import type { Actor } from './actor.js';
import type { AttachmentSweeper } from './attachment-sweeper.js';
import type { Attachments } from './attachments.js';
import type { ChatObserver } from './chat-observer.js';
import type { MessageDeleted, MessageEdited, ReactionToggled, ReadPositionMoved } from './events.js';
import type { Moderation } from './moderation.js';
import { canDeleteMessage, canEditMessage, canPost, canRead, joinsOnUse } from './permissions.js';
import { notify, type Sessions } from './sessions.js';

/** A message to post, over any wire or the HTTP API. */
export interface PostInput {
  readonly channel: string;
  readonly text: string;
  readonly clientMsgId: string | null;
  readonly replyTo?: string | undefined;
  /** The event name, for an event triggered through the Pusher-compatible API. */
  readonly event?: string | undefined;
  /** Ids of the sender's uploads to this channel that the message carries (issue 16). */
  readonly attachments?: readonly string[] | undefined;
  /** A connection (Recipient id) not to deliver it to: the sender's own. */
  readonly except?: string | undefined;
}

/** A history page request: before or after a seq, or the latest page when neither is given. */
export interface HistoryQuery {
  readonly channel: string;
  readonly before?: number | undefined;
  readonly after?: number | undefined;
  readonly limit?: number | undefined;
}

/** A page of messages, ascending by seq. */
export interface HistoryPage {
  readonly channel: string;
  readonly messages: readonly Message[];
  readonly has_more: boolean;
}

/** A text a message had before an edit replaced it, as the API shows it. */
export interface MessageVersionView {
  /** 1 for the text the message was sent with, then 2, 3, … in the order of the edits. */
  readonly version: number;
  readonly text: string;
  /** When this text was replaced (ms since the epoch). */
  readonly edited_at: number;
}

interface MessagesDeps {
  readonly store: Store;
  readonly bus: Bus;
  readonly limits: Limits;
  readonly observer: ChatObserver;
  readonly access: Access;
  readonly sessions: Sessions;
  readonly cache: HistoryCache | undefined;
  /** Uploads (issue 16); without it, a message with attachments is refused. */
  readonly attachments?: { readonly uploads: Attachments; readonly sweeper: AttachmentSweeper } | undefined;
  /** Bans, mutes, word filters, the before-publish hook and slow mode. */
  readonly moderation?: Moderation | undefined;
}

/**
 * Messages: posting (checked, rate-limited, group-committed, then fanned out), history pages,
 * edits, deletes, reactions, threads, search and read positions.
 */
export class Messages {
  readonly #d: MessagesDeps;

  constructor(deps: MessagesDeps) {
    this.#d = deps;
  }

  /**
   * Checks and queues a message for commit, and resolves once it is queued (so one connection's
   * publishes keep their order). Once durable, `onCommitted` is called (the sender's ack) and
   * then the message goes on the bus; `committed` resolves then, or rejects when the commit
   * failed.
   */
  async publish(
    actor: Actor,
    input: PostInput,
    onCommitted: (result: AppendResult) => void,
  ): Promise<{ readonly committed: Promise<void> }> {
    const { appended } = await this.#queue(actor, input);
    return {
      committed: appended.then((result) => {
        onCommitted(result);
        this.#published(result, input.except);
      }),
    };
  }

  /**
   * Posts a message and resolves once it is committed and on its way to subscribers. The same
   * checks as `publish`; a system actor skips permissions and rate limits.
   */
  async post(actor: Actor, input: PostInput): Promise<AppendResult> {
    const { appended } = await this.#queue(actor, input);
    const result = await appended;
    this.#published(result, input.except);
    return result;
  }

  async #queue(actor: Actor, input: PostInput): Promise<{ readonly appended: Promise<AppendResult> }> {
    const { access, store } = this.#d;
    // A triggered event's data is bounded by its wire's own limit (Pusher's 10 KB), not by the
    // length of a chat message.
    if (input.event === undefined) this.#checkLength(input.text);
    if (actor.system !== true) this.#d.sessions.takePublishToken(actor.user.id);
    const channel = await access.channel(input.channel);
    let text = input.text;
    if (actor.system !== true) {
      let role = await access.role(input.channel, actor.user.id);
      if (channel === undefined || !canRead(channel.kind, role)) throw noAccess(input.channel);
      if (!canPost(channel.kind, joinsOnUse(channel.kind, role) ? 'member' : role)) {
        throw new ParleyError('forbidden', `you may not post in "${input.channel}"`);
      }
      // Before joining: a banned user does not rejoin a public channel by posting.
      if (this.#d.moderation !== undefined && input.event === undefined) {
        text = await this.#d.moderation.checkPost(actor, {
          channel,
          role,
          text,
          clientMsgId: input.clientMsgId,
        });
        if (text !== input.text) this.#checkLength(text);
      }
      role = await access.joinIfPublic(channel, actor.user.id, role);
    } else if (channel === undefined) {
      throw new ParleyError('not_found', `no channel "${input.channel}"`);
    }
    if (channel.archived) throw new ParleyError('forbidden', `"${input.channel}" is archived`);
    if (input.replyTo !== undefined && (await store.getMessage(channel.id, input.replyTo)) === undefined) {
      throw new ParleyError('not_found', 'the message replied to is not in this channel');
    }
    const files = input.attachments ?? [];
    if (files.length > 0 && this.#d.attachments === undefined)
      throw new ParleyError('bad_attachment', 'this server takes no attachments');
    const attachments =
      files.length === 0
        ? undefined
        : await this.#d.attachments?.uploads.forPost(actor, channel.id, files, input.clientMsgId);
    const appended = store.append({
      ...(attachments === undefined ? {} : { attachments }),
      channelId: channel.id,
      userId: actor.user.id,
      username: actor.user.username,
      text,
      clientMsgId: input.clientMsgId,
      replyTo: input.replyTo ?? null,
      event: input.event ?? null,
    });
    return { appended };
  }

  #checkLength(text: string): void {
    const max = this.#d.limits.maxMessageChars;
    if (text.length > max) {
      throw new ParleyError('message_too_long', `message is ${text.length} characters; the limit is ${max}`);
    }
  }

  #published({ message, duplicate }: AppendResult, except: string | undefined): void {
    const { cache, bus, observer } = this.#d;
    cache?.add(message).catch((err) => observer.error(err, 'history cache add'));
    // Published again for a duplicate too: if the first attempt's fan-out was lost (a crash
    // between commit and publish), this delivers it; hubs drop the repeat otherwise.
    bus
      .publish(channelTopic(message.channel), { kind: 'message', message, except })
      .catch((err) => observer.error(err, 'bus publish'));
    if (!duplicate) notify(observer, () => observer.messageCreated?.(message));
  }

  /** A page of history, before or after a seq (the latest page when neither is given). */
  async history(actor: Actor, query: HistoryQuery): Promise<HistoryPage> {
    const { store } = this.#d;
    await this.#d.access.check(actor, query.channel);
    const limit = this.#pageSize(query.limit);
    let messages: readonly Message[];
    let hasMore: boolean;
    if (query.after !== undefined) {
      const page = await store.after(query.channel, query.after, limit + 1);
      messages = page.slice(0, limit);
      hasMore = page.length > limit;
    } else {
      const page =
        query.before !== undefined
          ? await store.before(query.channel, query.before, limit + 1)
          : await store.latest(query.channel, limit + 1);
      messages = page.length > limit ? page.slice(page.length - limit) : page;
      hasMore = page.length > limit;
    }
    return { channel: query.channel, messages, has_more: hasMore };
  }

  /** One message, as history shows it. */
  async get(actor: Actor, channelId: string, id: string): Promise<Message> {
    await this.#d.access.check(actor, channelId);
    const message = await this.#d.store.getMessage(channelId, id);
    if (message === undefined) throw new ParleyError('not_found', 'no such message');
    return message;
  }

  /**
   * Edits a message (its author, while they may post; a system actor: any) and pushes
   * the edit to the channel's subscribers.
   */
  async edit(actor: Actor, channelId: string, id: string, newText: string): Promise<MessageEdited> {
    this.#checkLength(newText);
    let text = newText;
    const { store, cache } = this.#d;
    const { channel, role } = await this.#d.access.check(actor, channelId);
    const message = await store.getMessage(channelId, id);
    if (message === undefined) throw new ParleyError('not_found', 'no such message');
    if (actor.system !== true) {
      if (!canEditMessage(channel.kind, role, message.user_id === actor.user.id)) {
        throw new ParleyError('forbidden', 'you may not edit that message');
      }
      if (channel.archived) throw new ParleyError('forbidden', `"${channelId}" is archived`);
      if (this.#d.moderation !== undefined) text = await this.#d.moderation.checkEdit(actor, channelId, text);
    }
    const edited = await store.editMessage(channelId, id, text);
    // A cached copy would show the old text: drop the channel's cache; reads go to the Store until
    // new commits fill it again.
    await cache?.invalidate(channelId);
    const event: MessageEdited = {
      kind: 'edited',
      channel: channelId,
      id,
      seq: edited.seq,
      text: edited.text,
      edited_at: edited.edited_at ?? Date.now(),
      by: actor.user.id,
    };
    await this.#d.bus.publish(channelTopic(channelId), event);
    return event;
  }

  /**
   * Deletes a message (its author, or a channel admin/owner; a system actor: any): its text is
   * gone from storage and search. Pushes the deletion to the channel's subscribers.
   */
  async delete(actor: Actor, channelId: string, id: string): Promise<MessageDeleted> {
    const { store, cache } = this.#d;
    const { channel, role } = await this.#d.access.check(actor, channelId);
    const message = await store.getMessage(channelId, id);
    if (message === undefined) throw new ParleyError('not_found', 'no such message');
    if (actor.system !== true && !canDeleteMessage(channel.kind, role, message.user_id === actor.user.id)) {
      throw new ParleyError('forbidden', 'you may not delete that message');
    }
    const deleted = await store.deleteMessage(channelId, id);
    await cache?.invalidate(channelId);
    // Its files go now rather than at the next interval.
    if (message.attachments !== undefined) this.#d.attachments?.sweeper.kick();
    const event: MessageDeleted = {
      kind: 'deleted',
      channel: channelId,
      id,
      seq: deleted.seq,
      by: actor.user.id,
    };
    await this.#d.bus.publish(channelTopic(channelId), event);
    return event;
  }

  /**
   * The texts edits replaced in a message, oldest first; [] when it was never edited or is
   * deleted. Whoever may read the channel may read them, as they may read `edited_at`: every
   * reader was sent the old text and then its edit.
   */
  async versions(actor: Actor, channelId: string, id: string): Promise<readonly MessageVersionView[]> {
    await this.#d.access.check(actor, channelId);
    const versions = await this.#d.store.messageVersions(channelId, id);
    return versions.map((v) => ({ version: v.version, text: v.text, edited_at: v.editedAt }));
  }

  /** Toggles the actor's reaction (who may post may react) and pushes it to subscribers. */
  async react(actor: Actor, channelId: string, id: string, emoji: string): Promise<ReactionToggled> {
    const access = await this.#d.access.check(actor, channelId);
    const { channel } = access;
    if (actor.system !== true) {
      const role = await this.#d.access.joinIfPublic(channel, actor.user.id, access.role);
      if (!canPost(channel.kind, role))
        throw new ParleyError('forbidden', `you may not react in "${channelId}"`);
      if (channel.archived) throw new ParleyError('forbidden', `"${channelId}" is archived`);
    }
    const { added, message } = await this.#d.store.toggleReaction(channelId, id, actor.user.id, emoji);
    await this.#d.cache?.invalidate(channelId);
    const event: ReactionToggled = {
      kind: 'reaction',
      channel: channelId,
      id,
      seq: message.seq,
      emoji,
      user_id: actor.user.id,
      added,
      count: message.reactions?.find((r) => r.emoji === emoji)?.count ?? 0,
    };
    await this.#d.bus.publish(channelTopic(channelId), event);
    return event;
  }

  /** A thread: the root message and a page of its replies after `after`, ascending. */
  async thread(
    actor: Actor,
    channelId: string,
    rootId: string,
    options: { readonly after?: number | undefined; readonly limit?: number | undefined },
  ): Promise<{ readonly root: Message; readonly replies: readonly Message[]; readonly has_more: boolean }> {
    await this.#d.access.check(actor, channelId);
    const root = await this.#d.store.getMessage(channelId, rootId);
    if (root === undefined) throw new ParleyError('not_found', 'no such message');
    const limit = this.#pageSize(options.limit);
    const page = await this.#d.store.thread(channelId, rootId, options.after ?? 0, limit + 1);
    return { root, replies: page.slice(0, limit), has_more: page.length > limit };
  }

  /**
   * Full-text search over the channels the actor may read (or one of them), newest first, with
   * highlight ranges. `next_offset` is null on the last page.
   */
  async search(
    actor: Actor,
    query: {
      readonly text: string;
      readonly channel?: string | undefined;
      readonly limit?: number | undefined;
      readonly offset?: number | undefined;
    },
  ): Promise<{ readonly results: readonly SearchHit[]; readonly next_offset: number | null }> {
    const { limits, store } = this.#d;
    const terms = searchTerms(query.text);
    if (terms.length === 0) throw new ParleyError('bad_request', 'search for at least one word');
    const limit = Math.min(Math.max(query.limit ?? 20, 1), limits.searchPageMax);
    const offset = query.offset ?? 0;
    if (offset > limits.searchOffsetMax) {
      throw new ParleyError('bad_request', `offset must not exceed ${limits.searchOffsetMax}`);
    }
    let channelIds: string[];
    if (query.channel !== undefined) {
      await this.#d.access.check(actor, query.channel);
      channelIds = [query.channel];
    } else {
      const visible = await store.listChannelsFor(actor.user.id);
      channelIds = visible.filter((c) => canRead(c.kind, c.role ?? undefined)).map((c) => c.id);
    }
    const found = await store.search({ channelIds, text: query.text, limit: limit + 1, offset });
    return {
      results: found.slice(0, limit).map((message) => ({
        message,
        highlights: highlightRanges(message.text, terms),
      })),
      next_offset: found.length > limit ? offset + limit : null,
    };
  }

  /**
   * Moves the actor's read position in a channel forward (to at most its last seq) and tells
   * every connection of the user.
   */
  async markRead(actor: Actor, channelId: string, seq: number): Promise<ReadPositionMoved> {
    const { store, bus } = this.#d;
    await this.#d.access.check(actor, channelId);
    const state = await store.getChannel(channelId);
    if (state === undefined) throw noAccess(channelId);
    const stored = await store.setReadPosition(channelId, actor.user.id, Math.min(seq, state.lastSeq));
    const event: ReadPositionMoved = { kind: 'read_position', channel: channelId, seq: stored };
    await bus.publish(CONTROL_TOPIC, { kind: 'user', user_id: actor.user.id, event });
    return event;
  }

  #pageSize(requested: number | undefined): number {
    const { historyDefault, historyPageMax } = this.#d.limits;
    return Math.min(Math.max(requested ?? historyDefault, 1), historyPageMax);
  }
}
