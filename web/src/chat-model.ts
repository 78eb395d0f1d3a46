/**
 * The page's state: channels, their messages, what is being sent, who is online and typing,
 * and the connection. It listens to the SDK (which resumes after a reconnect and hands each
 * message over once, in order) and keeps per channel one gap-free run of messages ending at
 * the latest, plus the messages of this user still on their way. Components read it and
 * re-render on `subscribe`; every change makes new objects for what changed.
 *
 * Past 500 lines, it stays one file because it is one state machine over one map of channels:
 * what can be told apart already lives beside it (channel-messages, pending-sends,
 * typing-indicator, channel-state); the rest is the glue between SDK events and that map.
 */
import type {
  ChannelDetail,
  ConnectionState,
  Message,
  ParleyClient,
  ParleyClientError,
  Role,
  SearchHit,
  UpdateEvent,
  UserInfo,
} from '../../src/client/index.js';
import { type Api, channelPath } from './api.js';
import { AttachmentFiles } from './attachment-files.js';
import { ChannelMessages, type ChannelMessagesHost } from './channel-messages.js';
import { type ChannelState, freshChannel, online, withMessage } from './channel-state.js';
import { PendingSends, type PendingSendsHost } from './pending-sends.js';
import { type TypingHost, TypingIndicator } from './typing-indicator.js';

export { merge, tail } from './channel-messages.js';
export type { ChannelState, PendingMessage } from './channel-state.js';

const READ_DELAY_MS = 400;

/** What a ChatModel runs on. */
export interface ChatModelOptions {
  readonly client: ParleyClient;
  readonly api: Api;
  readonly me: UserInfo;
  /** Whether the reader can see the active channel now (tab visible, window focused). */
  readonly isVisible?: () => boolean;
  /** A fresh client message id. */
  readonly newId?: () => string;
  /**
   * Show only this channel (the widget's `data-channel`): subscribe to it alone and count its
   * unread messages alone.
   */
  readonly only?: string | undefined;
  /** The longest text the server takes (its `welcome`'s `max_message_chars`); 0: unknown. */
  readonly maxMessageChars?: number;
}

type Listener = () => void;

/** The page's state, fed by the SDK and the HTTP API; see the file comment. */
export class ChatModel {
  readonly me: UserInfo;
  #channels = new Map<string, ChannelState>();
  #active: string | undefined;
  #connection: ConnectionState = 'idle';
  #fatal: ParleyClientError | undefined;
  #notice: string | undefined;
  readonly #client: ParleyClient;
  readonly #api: Api;
  readonly #isVisible: () => boolean;
  readonly #newId: () => string;
  readonly #listeners = new Set<Listener>();
  readonly #disposers: (() => void)[] = [];
  #readTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #only: string | undefined;
  readonly #messages: ChannelMessages;
  readonly #sends: PendingSends;
  readonly #typing: TypingIndicator;
  #files: AttachmentFiles | undefined;
  // Channels whose presence was known before a disconnection: asked again when opened.
  readonly #presenceStale = new Set<string>();
  // Texts the server refused for their length, per channel, for its composer to take back.
  readonly #drafts = new Map<string, string>();
  /** The longest text the server takes; 0 when not known. */
  readonly maxMessageChars: number;
  #version = 0;

  constructor(options: ChatModelOptions) {
    this.me = options.me;
    this.#client = options.client;
    this.#api = options.api;
    this.#isVisible = options.isVisible ?? (() => true);
    this.#newId = options.newId ?? (() => crypto.randomUUID());
    this.#only = options.only;
    this.maxMessageChars = options.maxMessageChars ?? 0;
    const host: ChannelMessagesHost & PendingSendsHost & TypingHost = {
      channel: (id) => this.#channels.get(id),
      patch: (id, patch) => this.#patch(id, patch),
      tell: (err) => this.#tell(err),
      loadLatest: (id) => this.#messages.loadLatest(id),
      restore: (id, text, reason) => {
        this.#drafts.set(id, text);
        this.#notice = `Not sent: ${reason}. The text is back in the composer to shorten.`;
        this.#changed();
      },
    };
    this.#messages = new ChannelMessages(this.#api, host);
    this.#sends = new PendingSends(this.#client, this.#newId, host);
    this.#typing = new TypingIndicator(this.#client, this.me, host);
    const c = this.#client;
    this.#connection = c.state;
    this.#disposers.push(
      c.on('state', (state) => {
        const back = state === 'open' && this.#connection === 'reconnecting';
        this.#connection = state;
        // Who came and went while away was never told: unknown until asked again.
        if (state !== 'open') this.#forgetPresence();
        this.#changed();
        // Channels joined, left or renamed while away: the SDK resumes messages, not the list.
        if (back) {
          void this.refreshChannels().catch((err) => this.#tell(err));
          if (this.#active !== undefined) void this.#askPresence(this.#active);
        }
      }),
      c.on('message', (m) => this.#onMessage(m)),
      c.on('reset', (r) => this.#onReset(r.channel)),
      c.on('update', (u) => this.#onUpdate(u)),
      c.on('presence', (p) => this.#onPresence(p.channel, p.event, p.user)),
      c.on('typing', (t) => this.#typing.onTyping(t.channel, t.user)),
      c.on('member', (m) => void this.#onMember(m.channel, m.user_id, m.role)),
      c.on('unsubscribed', (u) => {
        if (u.reason === 'removed') this.#onRemoved(u.channel);
      }),
      c.on('closed', (e) => {
        this.#fatal = e.error;
        this.#changed();
      }),
    );
  }

  // ─── reading ────────────────────────────────────────────────────────────────────────────

  /** A number that changes with every change (for components). */
  get version(): number {
    return this.#version;
  }
  /** The SDK's connection state. */
  get connection(): ConnectionState {
    return this.#connection;
  }
  /** Why the connection ended for good (auth refused, kicked…), once it has. */
  get fatal(): ParleyClientError | undefined {
    return this.#fatal;
  }
  /** A passing message for the reader (a failed action). */
  get notice(): string | undefined {
    return this.#notice;
  }
  /** The id of the channel on screen. */
  get activeId(): string | undefined {
    return this.#active;
  }
  /** The channel on screen. */
  get active(): ChannelState | undefined {
    return this.#active === undefined ? undefined : this.#channels.get(this.#active);
  }
  /** A known channel by id. */
  /** The HTTP API as the signed-in user. */
  get api(): Api {
    return this.#api;
  }

  channel(id: string): ChannelState | undefined {
    return this.#channels.get(id);
  }
  /** Every known channel, by kind and title. */
  get channels(): readonly ChannelState[] {
    return [...this.#channels.values()].sort((a, b) =>
      a.summary.title.localeCompare(b.summary.title, undefined, { sensitivity: 'base' }),
    );
  }
  /** Unread messages in the member channels. */
  get totalUnread(): number {
    let n = 0;
    for (const c of this.#channels.values()) {
      if (c.summary.role !== null && (this.#only === undefined || c.summary.id === this.#only))
        n += c.summary.unread;
    }
    return n;
  }

  /** Calls `listener` after every change; returns its disposer. */
  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  // ─── lifecycle ──────────────────────────────────────────────────────────────────────────

  /** Loads the channel list, connects, subscribes to the member channels and opens one. */
  async start(preferred?: string): Promise<void> {
    try {
      await this.#client.connect();
      await this.refreshChannels();
    } catch (err) {
      this.#tell(err);
      return;
    }
    const ids = [...this.#channels.keys()];
    const pick =
      (preferred !== undefined && ids.includes(preferred) ? preferred : undefined) ??
      ids.find((id) => id === 'general' && this.#channels.get(id)?.summary.role !== null) ??
      this.channels.find((c) => c.summary.role !== null)?.summary.id ??
      ids[0];
    if (pick === undefined) return;
    // A newcomer who belongs nowhere yet joins the channel they land in (usually #general).
    const first = !this.channels.some((c) => c.summary.role !== null);
    if (first && this.#channels.get(pick)?.summary.kind === 'public') await this.join(pick);
    else await this.open(pick);
  }

  /** Stops listening to the SDK and every timer (the caller closes the client). */
  dispose(): void {
    for (const d of this.#disposers) d();
    this.#typing.dispose();
    this.#sends.dispose();
    clearTimeout(this.#readTimer);
    this.#listeners.clear();
  }

  /** Reloads the channel list and subscribes to member channels not yet subscribed. */
  async refreshChannels(): Promise<void> {
    const { channels } = await this.#api.get<{ channels: ChannelDetail[] }>('api/channels');
    const seen = new Set<string>();
    for (const summary of channels) {
      seen.add(summary.id);
      const known = this.#channels.get(summary.id);
      this.#channels.set(summary.id, known === undefined ? freshChannel(summary) : { ...known, summary });
      const wanted = this.#only === undefined || summary.id === this.#only;
      if (summary.role !== null && wanted)
        this.#subscribe(summary.id, known?.summary.last_seq ?? summary.last_seq);
    }
    for (const id of [...this.#channels.keys()]) if (!seen.has(id)) this.#channels.delete(id);
    this.#changed();
  }

  // ─── channels ───────────────────────────────────────────────────────────────────────────

  /** Makes `id` the channel on screen: loads its latest messages and marks them read. */
  async open(id: string): Promise<void> {
    const state = this.#channels.get(id);
    if (state === undefined) return;
    this.#active = id;
    this.#changed();
    if (state.summary.role === null && state.summary.kind === 'public') {
      // Looking at a public channel is free; subscribing would join it. Show it read-only.
      await this.#messages.loadLatest(id);
      return;
    }
    this.#subscribe(id, state.summary.last_seq);
    if (this.#presenceStale.has(id) && this.#connection === 'open') void this.#askPresence(id);
    if (!state.loaded) await this.#messages.loadLatest(id);
    this.noteVisible();
  }

  /** Joins a public channel (subscribing makes the user a member). */
  async join(id: string): Promise<void> {
    await this.#attempt(async () => {
      const state = this.#channels.get(id);
      const result = await this.#client.subscribe(id, {
        recover: 'history',
        // From what is on screen (a preview loaded the latest), not from the list's old count.
        since: Math.max(state?.summary.last_seq ?? 0, state?.messages.at(-1)?.seq ?? 0),
      });
      this.#patchSummary(id, { role: result.role ?? 'member' });
      this.#patch(id, online(result, this.me));
      await this.open(id);
    });
  }

  /** Leaves a channel (removes oneself). */
  async leave(id: string): Promise<void> {
    await this.#attempt(async () => {
      await this.#client.removeMember(id, this.me.id);
      await this.#client.unsubscribe(id).catch(() => {});
      this.#onRemoved(id);
    });
  }

  /** Creates a channel owned by this user and opens it. */
  async createChannel(name: string, options: { title?: string; private?: boolean }): Promise<void> {
    const info = await this.#client.createChannel(name, {
      ...(options.title === undefined || options.title === '' ? {} : { title: options.title }),
      private: options.private ?? false,
    });
    await this.refreshChannels();
    await this.open(info.id);
  }

  /** Opens (or creates) the direct-message channel with a user. */
  async openDm(userId: string): Promise<void> {
    const info = await this.#client.openDm(userId);
    await this.refreshChannels();
    await this.open(info.id);
  }

  /** Users whose name starts with `prefix` (id and name; a few at most). */
  async findUsers(prefix: string): Promise<readonly UserInfo[]> {
    const { users } = await this.#api.get<{ users: UserInfo[] }>('api/users', { q: prefix });
    return users;
  }

  /** Adds a user to a channel (owners and admins). */
  async addMember(id: string, userId: string): Promise<void> {
    await this.#client.addMember(id, userId);
  }

  /** The members of a channel with their roles. */
  async members(id: string): Promise<{ user_id: string; username: string; role: Role }[]> {
    const { members } = await this.#api.get<{ members: { user_id: string; username: string; role: Role }[] }>(
      channelPath(id, '/members'),
    );
    return members;
  }

  /** Everyone online in a channel (the full list, also above presenceMax). */
  async online(id: string): Promise<readonly UserInfo[]> {
    return this.#client.presence(id);
  }

  /** Searches the channels this user may read (newest first). */
  async search(q: string): Promise<SearchHit[]> {
    const { results } = await this.#api.get<{ results: SearchHit[] }>('api/search', { q, limit: 30 });
    return results;
  }

  /** Loads the page of messages before the first one loaded. */
  loadOlder(id: string): Promise<void> {
    return this.#messages.loadOlder(id);
  }

  // ─── sending ────────────────────────────────────────────────────────────────────────────

  /** Sends `text` to channel `id`: shown at once as pending, then as the stored message. */
  send(id: string, text: string, replyTo?: string, attachments?: readonly string[]): void {
    this.#sends.send(id, text, replyTo, attachments);
  }

  /** Uploads and download tickets of attachments (issue 16). */
  get files(): AttachmentFiles {
    this.#files ??= new AttachmentFiles(this.#api);
    return this.#files;
  }

  /** Sends a failed message again, with the same id: stored at most once whatever happened. */
  retry(id: string, clientMsgId: string): void {
    this.#sends.retry(id, clientMsgId);
  }

  /** A text of channel `id` given back after a refusal for its length (once), else undefined. */
  takeDraft(id: string): string | undefined {
    const text = this.#drafts.get(id);
    this.#drafts.delete(id);
    return text;
  }

  /** Forgets a failed send. */
  discard(id: string, clientMsgId: string): void {
    this.#sends.discard(id, clientMsgId);
  }

  /** Replaces a message's text; resolves false (and shows why) when that failed. */
  async edit(id: string, messageId: string, text: string): Promise<boolean> {
    try {
      this.#onUpdate({ type: 'message_edited', ...(await this.#client.edit(id, messageId, text)) });
      return true;
    } catch (err) {
      this.#tell(err);
      return false;
    }
  }

  /** Deletes a message (the author, or a channel admin or owner). */
  async remove(id: string, messageId: string): Promise<void> {
    await this.#attempt(async () =>
      this.#onUpdate({ type: 'message_deleted', ...(await this.#client.deleteMessage(id, messageId)) }),
    );
  }

  /** Toggles this user's reaction. */
  async react(id: string, messageId: string, emoji: string): Promise<void> {
    await this.#attempt(async () =>
      this.#onUpdate({ type: 'reaction', ...(await this.#client.react(id, messageId, emoji)) }),
    );
  }

  /** Tells the others this user is typing (at most every few seconds). */
  typing(id: string): void {
    this.#typing.typing(id);
  }

  /** The reader may have seen the active channel's latest messages: mark them read soon. */
  noteVisible(): void {
    clearTimeout(this.#readTimer);
    this.#readTimer = setTimeout(() => void this.#markRead(), READ_DELAY_MS);
  }

  /** Dismisses the notice. */
  clearNotice(): void {
    this.#notice = undefined;
    this.#changed();
  }

  // ─── events ─────────────────────────────────────────────────────────────────────────────

  #onMessage(m: Message): void {
    const state = this.#channels.get(m.channel);
    if (state === undefined) return;
    const seen = m.channel === this.#active && this.#isVisible();
    this.#channels.set(m.channel, withMessage(state, m, this.me, seen));
    if (seen) this.noteVisible();
    this.#changed();
  }

  #onReset(id: string): void {
    // The server could not replay what was missed; the latest messages follow as `message`s.
    this.#patch(id, { messages: [], loaded: false, hasMoreBefore: true });
    if (id === this.#active) void this.#messages.loadLatest(id);
  }

  #onUpdate(u: UpdateEvent): void {
    const state = this.#channels.get(u.channel);
    if (state === undefined) return;
    switch (u.type) {
      case 'message_edited':
      case 'message_deleted':
      case 'reaction':
        this.#messages.apply(u);
        return;
      case 'read_position':
        if (u.seq >= state.summary.last_read_seq) {
          const caughtUp = u.seq >= state.summary.last_seq;
          this.#patchSummary(u.channel, {
            last_read_seq: u.seq,
            ...(caughtUp ? { unread: 0, mentions: 0 } : {}),
          });
        }
        return;
      case 'channel_updated':
        this.#patchSummary(u.channel, { title: u.title, topic: u.topic, archived: u.archived });
        return;
      case 'moderation':
        // Bans and mutes show as the refusals their user gets; the page shows nothing else yet.
        return;
      default:
        // Every update kind is handled above (a new one fails to compile here).
        u satisfies never;
    }
  }

  #onPresence(id: string, event: 'join' | 'leave', user: UserInfo): void {
    const state = this.#channels.get(id);
    if (state === undefined) return;
    const others = state.presence.filter((u) => u.id !== user.id);
    const was = others.length !== state.presence.length;
    const change = event === 'join' ? (was ? 0 : 1) : was ? -1 : 0;
    this.#patch(id, {
      presence: event === 'join' ? [...others, user] : others,
      onlineCount: Math.max(0, state.onlineCount + change),
    });
  }

  async #onMember(id: string, userId: string, role: Role | null): Promise<void> {
    if (userId !== this.me.id) return;
    if (role === null) this.#onRemoved(id);
    else if (this.#channels.get(id)?.summary.role == null)
      await this.refreshChannels().catch((e) => this.#tell(e));
    else this.#patchSummary(id, { role });
  }

  #onRemoved(id: string): void {
    const state = this.#channels.get(id);
    if (state === undefined) return;
    if (state.summary.kind === 'public') this.#patchSummary(id, { role: null, unread: 0, mentions: 0 });
    else {
      this.#channels.delete(id);
      if (this.#active === id) this.#active = undefined;
      this.#changed();
    }
  }

  // ─── helpers ────────────────────────────────────────────────────────────────────────────

  #subscribe(id: string, since: number): void {
    if (this.#client.subscriptions.includes(id)) return;
    // `recover: 'history'`: after a long disconnection every missed message is fetched, in order.
    this.#client.subscribe(id, { since, recover: 'history' }).then(
      (result) => this.#patch(id, online(result, this.me)),
      (err) => this.#tell(err),
    );
  }

  #forgetPresence(): void {
    for (const [id, state] of this.#channels) {
      if (!state.presenceKnown) continue;
      this.#channels.set(id, { ...state, presenceKnown: false });
      this.#presenceStale.add(id);
    }
  }

  /** Asks who is online in a subscribed channel (after a reconnection, or on opening it then). */
  async #askPresence(id: string): Promise<void> {
    try {
      const users = await this.#client.presence(id);
      if (this.#connection !== 'open') return;
      this.#presenceStale.delete(id);
      this.#patch(id, online({ presence: users, presence_count: users.length }, this.me));
    } catch {
      // Disconnected again, or not subscribed: it stays unknown; the next open asks again.
    }
  }

  async #markRead(): Promise<void> {
    const state = this.active;
    if (state === undefined || state.summary.role === null || !this.#isVisible()) return;
    const last = state.messages[state.messages.length - 1]?.seq ?? state.summary.last_seq;
    if (last <= state.summary.last_read_seq && state.summary.unread === 0) return;
    this.#patchSummary(state.summary.id, {
      last_read_seq: Math.max(last, state.summary.last_read_seq),
      unread: 0,
      mentions: 0,
    });
    await this.#client.markRead(state.summary.id, last).catch(() => {});
  }

  async #attempt(fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.#tell(err);
    }
  }

  #tell(err: unknown): void {
    this.#notice = err instanceof Error ? err.message : String(err);
    this.#changed();
  }

  #patchSummary(id: string, patch: Partial<ChannelDetail>): void {
    const state = this.#channels.get(id);
    if (state !== undefined) this.#patch(id, { summary: { ...state.summary, ...patch } });
  }

  #patch(id: string, patch: Partial<ChannelState>): void {
    const state = this.#channels.get(id);
    if (state === undefined) return;
    this.#channels.set(id, { ...state, ...patch });
    this.#changed();
  }

  #changed(): void {
    this.#version++;
    for (const l of this.#listeners) l();
  }
}
