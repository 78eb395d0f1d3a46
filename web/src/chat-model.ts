/**
 * The page's state: channels, their messages, what is being sent, who is online and typing,
 * and the connection. It listens to the SDK (which resumes after a reconnect and hands each
 * message over once, in order) and keeps per channel one gap-free run of messages ending at
 * the latest, plus the messages of this user still on their way. Components read it and
 * re-render on `subscribe`; every change makes new objects for what changed.
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
import { mentions } from './text.js';

/** A message of this user not yet stored, or whose send failed. */
export interface PendingMessage {
  readonly clientMsgId: string;
  readonly text: string;
  readonly replyTo: string | undefined;
  readonly state: 'sending' | 'failed';
  readonly error?: string;
  readonly createdAt: number;
}

/** One channel as the page shows it. */
export interface ChannelState {
  readonly summary: ChannelDetail;
  /** Ascending by seq, no gaps, the last one the latest delivered. */
  readonly messages: readonly Message[];
  /** The latest page was loaded (or everything since the channel was empty). */
  readonly loaded: boolean;
  readonly hasMoreBefore: boolean;
  readonly loadingOlder: boolean;
  readonly pending: readonly PendingMessage[];
  /** Who is online, as far as told (only oneself in channels above the server's presenceMax). */
  readonly presence: readonly UserInfo[];
  /** How many are online (the server's count at subscribe, then joins and leaves as told). */
  readonly onlineCount: number;
  readonly typing: readonly UserInfo[];
}

const PAGE = 50;
const TYPING_SHOWN_MS = 6_000;
const TYPING_SENT_EVERY_MS = 3_000;
const READ_DELAY_MS = 400;
// How long after its ack a sent message may take to arrive on the subscription.
const ACK_GRACE_MS = 3_000;

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
  readonly #typingTimers = new Map<string, ReturnType<typeof setTimeout>>();
  readonly #typingSentAt = new Map<string, number>();
  readonly #disposers: (() => void)[] = [];
  #readTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #only: string | undefined;
  readonly #ackTimers = new Set<ReturnType<typeof setTimeout>>();
  #version = 0;

  constructor(options: ChatModelOptions) {
    this.me = options.me;
    this.#client = options.client;
    this.#api = options.api;
    this.#isVisible = options.isVisible ?? (() => true);
    this.#newId = options.newId ?? (() => crypto.randomUUID());
    this.#only = options.only;
    const c = this.#client;
    this.#connection = c.state;
    this.#disposers.push(
      c.on('state', (state) => {
        const back = state === 'open' && this.#connection === 'reconnecting';
        this.#connection = state;
        this.#changed();
        // Channels joined, left or renamed while away: the SDK resumes messages, not the list.
        if (back) void this.refreshChannels().catch((err) => this.#tell(err));
      }),
      c.on('message', (m) => this.#onMessage(m)),
      c.on('reset', (r) => this.#onReset(r.channel)),
      c.on('update', (u) => this.#onUpdate(u)),
      c.on('presence', (p) => this.#onPresence(p.channel, p.event, p.user)),
      c.on('typing', (t) => this.#onTyping(t.channel, t.user)),
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
    for (const t of this.#typingTimers.values()) clearTimeout(t);
    for (const t of this.#ackTimers) clearTimeout(t);
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
      this.#channels.set(summary.id, known === undefined ? fresh(summary) : { ...known, summary });
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
      await this.#loadLatest(id);
      return;
    }
    this.#subscribe(id, state.summary.last_seq);
    if (!state.loaded) await this.#loadLatest(id);
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
  async loadOlder(id: string): Promise<void> {
    const state = this.#channels.get(id);
    if (state === undefined || !state.hasMoreBefore || state.loadingOlder || state.messages.length === 0)
      return;
    this.#patch(id, { loadingOlder: true });
    const before = state.messages[0]?.seq ?? 1;
    try {
      const page = await this.#page(id, { before, limit: PAGE });
      const now = this.#channels.get(id);
      if (now === undefined) return;
      // A reset meanwhile started another run: this page does not join it.
      if (now.messages[0]?.seq !== before) return this.#patch(id, { loadingOlder: false });
      this.#patch(id, {
        messages: merge(page.messages, now.messages),
        hasMoreBefore: page.has_more,
        loadingOlder: false,
      });
    } catch (err) {
      this.#patch(id, { loadingOlder: false });
      this.#tell(err);
    }
  }

  // ─── sending ────────────────────────────────────────────────────────────────────────────

  /** Sends `text` to channel `id`: shown at once as pending, then as the stored message. */
  send(id: string, text: string, replyTo?: string): void {
    const pending: PendingMessage = {
      clientMsgId: this.#newId(),
      text,
      replyTo,
      state: 'sending',
      createdAt: Date.now(),
    };
    const state = this.#channels.get(id);
    if (state === undefined) return;
    this.#patch(id, { pending: [...state.pending, pending] });
    void this.#publish(id, pending);
  }

  /** Sends a failed message again, with the same id: stored at most once whatever happened. */
  retry(id: string, clientMsgId: string): void {
    const p = this.#channels.get(id)?.pending.find((x) => x.clientMsgId === clientMsgId);
    if (p === undefined || p.state !== 'failed') return;
    const again: PendingMessage = { ...p, state: 'sending' };
    delete (again as { error?: string }).error;
    this.#replacePending(id, again);
    void this.#publish(id, again);
  }

  /** Forgets a failed send. */
  discard(id: string, clientMsgId: string): void {
    const state = this.#channels.get(id);
    if (state === undefined) return;
    this.#patch(id, {
      pending: state.pending.filter((p) => p.clientMsgId !== clientMsgId || p.state !== 'failed'),
    });
  }

  async #publish(id: string, pending: PendingMessage): Promise<void> {
    try {
      await this.#client.publish(id, pending.text, {
        clientMsgId: pending.clientMsgId,
        ...(pending.replyTo === undefined ? {} : { replyTo: pending.replyTo }),
      });
      // The stored message arrives (or arrived) on the subscription and takes its place; should
      // it not come (the subscription failed), the latest page brings it.
      const state = this.#channels.get(id);
      if (state?.messages.some((m) => m.client_msg_id === pending.clientMsgId)) {
        this.#dropPending(id, pending.clientMsgId);
      } else {
        const timer = setTimeout(() => {
          this.#ackTimers.delete(timer);
          if (this.#channels.get(id)?.pending.some((p) => p.clientMsgId === pending.clientMsgId)) {
            void this.#loadLatest(id).then(() => this.#dropPending(id, pending.clientMsgId));
          }
        }, ACK_GRACE_MS);
        this.#ackTimers.add(timer);
      }
    } catch (err) {
      this.#replacePending(id, {
        ...pending,
        state: 'failed',
        error: (err as Error).message || 'not sent',
      });
    }
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
    const now = Date.now();
    if (now - (this.#typingSentAt.get(id) ?? 0) < TYPING_SENT_EVERY_MS) return;
    this.#typingSentAt.set(id, now);
    this.#client.typing(id);
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
    const last = state.messages[state.messages.length - 1];
    // Keep the run gap-free: a message that does not follow it starts it over (the SDK delivers
    // every seq in order, so this only happens before the latest page was loaded).
    const messages =
      last === undefined || m.seq === last.seq + 1
        ? [...state.messages, m]
        : m.seq <= last.seq
          ? state.messages
          : [m];
    const fromOther = m.user_id !== this.me.id;
    const seen = m.channel === this.#active && this.#isVisible();
    const summary: ChannelDetail = {
      ...state.summary,
      last_seq: Math.max(state.summary.last_seq, m.seq),
      ...(fromOther && !seen && m.seq > state.summary.last_read_seq
        ? {
            unread: state.summary.unread + 1,
            mentions: state.summary.mentions + (mentions(m.text, this.me.username) ? 1 : 0),
          }
        : {}),
    };
    const typing = state.typing.filter((u) => u.id !== m.user_id);
    const pending =
      m.client_msg_id === null || fromOther
        ? state.pending
        : state.pending.filter((p) => p.clientMsgId !== m.client_msg_id);
    this.#channels.set(m.channel, {
      ...state,
      summary,
      messages,
      loaded: state.loaded || (last === undefined && m.seq === 1),
      hasMoreBefore: messages === state.messages ? state.hasMoreBefore : (messages[0]?.seq ?? 1) > 1,
      typing,
      pending,
    });
    if (seen) this.noteVisible();
    this.#changed();
  }

  #onReset(id: string): void {
    // The server could not replay what was missed; the latest messages follow as `message`s.
    this.#patch(id, { messages: [], loaded: false, hasMoreBefore: true });
    if (id === this.#active) void this.#loadLatest(id);
  }

  #onUpdate(u: UpdateEvent): void {
    const state = this.#channels.get(u.channel);
    if (state === undefined) return;
    switch (u.type) {
      case 'message_edited':
        this.#patchMessage(u.channel, u.seq, (m) => ({ ...m, text: u.text, edited_at: u.edited_at }));
        return;
      case 'message_deleted':
        this.#patchMessage(u.channel, u.seq, (m) => {
          const { reactions: _r, ...rest } = m;
          return { ...rest, text: '', deleted: true };
        });
        return;
      case 'reaction':
        this.#patchMessage(u.channel, u.seq, (m) => {
          const list = [...(m.reactions ?? [])];
          const i = list.findIndex((r) => r.emoji === u.emoji);
          const before = list[i];
          const users = new Set(before?.user_ids ?? []);
          if (u.added) users.add(u.user_id);
          else users.delete(u.user_id);
          const next = { emoji: u.emoji, count: u.count, user_ids: [...users].sort() };
          if (i >= 0) {
            if (u.count > 0) list[i] = next;
            else list.splice(i, 1);
          } else if (u.count > 0) list.push(next);
          return { ...m, reactions: list };
        });
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

  #onTyping(id: string, user: UserInfo): void {
    const state = this.#channels.get(id);
    if (state === undefined || user.id === this.me.id) return;
    const key = `${id}\u0000${user.id}`;
    clearTimeout(this.#typingTimers.get(key));
    this.#typingTimers.set(
      key,
      setTimeout(() => {
        this.#typingTimers.delete(key);
        const now = this.#channels.get(id);
        if (now !== undefined) this.#patch(id, { typing: now.typing.filter((u) => u.id !== user.id) });
      }, TYPING_SHOWN_MS),
    );
    if (!state.typing.some((u) => u.id === user.id)) this.#patch(id, { typing: [...state.typing, user] });
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

  async #loadLatest(id: string): Promise<void> {
    try {
      const page = await this.#page(id, { limit: PAGE });
      const state = this.#channels.get(id);
      if (state === undefined) return;
      // Keep only the run that ends at the latest message (older loaded ones may not join it).
      const messages = tail(merge(page.messages, state.messages));
      const stored = new Set(messages.map((m) => m.client_msg_id));
      this.#patch(id, {
        messages,
        loaded: true,
        hasMoreBefore: page.has_more || (messages[0]?.seq ?? 1) > 1,
        summary: { ...state.summary, last_seq: Math.max(state.summary.last_seq, messages.at(-1)?.seq ?? 0) },
        // A send whose stored message came with the page (before its ack) is shown once.
        pending: state.pending.filter((p) => !stored.has(p.clientMsgId)),
      });
    } catch (err) {
      this.#tell(err);
    }
  }

  async #page(
    id: string,
    q: { before?: number; limit: number },
  ): Promise<{ messages: Message[]; has_more: boolean }> {
    return this.#api.get<{ messages: Message[]; has_more: boolean }>(channelPath(id, '/messages'), q);
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

  #replacePending(id: string, p: PendingMessage): void {
    const state = this.#channels.get(id);
    if (state === undefined) return;
    // Gone already when the stored message came first.
    if (!state.pending.some((x) => x.clientMsgId === p.clientMsgId)) return;
    this.#patch(id, { pending: state.pending.map((x) => (x.clientMsgId === p.clientMsgId ? p : x)) });
  }

  #dropPending(id: string, clientMsgId: string): void {
    const state = this.#channels.get(id);
    if (state !== undefined)
      this.#patch(id, { pending: state.pending.filter((p) => p.clientMsgId !== clientMsgId) });
  }

  #patchMessage(id: string, seq: number, fn: (m: Message) => Message): void {
    const state = this.#channels.get(id);
    if (state === undefined) return;
    const i = state.messages.findIndex((m) => m.seq === seq);
    if (i < 0) return;
    const messages = [...state.messages];
    messages[i] = fn(messages[i] as Message);
    this.#patch(id, { messages });
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

/** Who is online after a subscribe, this user included (listed or not, depending on timing). */
function online(
  result: { readonly presence: readonly UserInfo[]; readonly presence_count: number },
  me: UserInfo,
): Pick<ChannelState, 'presence' | 'onlineCount'> {
  const presence = [...result.presence.filter((u) => u.id !== me.id), me];
  return { presence, onlineCount: Math.max(result.presence_count, presence.length) };
}

function fresh(summary: ChannelDetail): ChannelState {
  return {
    summary,
    messages: [],
    loaded: false,
    hasMoreBefore: summary.last_seq > 0,
    loadingOlder: false,
    pending: [],
    presence: [],
    onlineCount: 0,
    typing: [],
  };
}

/** Two ascending lists as one, each seq once (the later list's object wins). */
export function merge(a: readonly Message[], b: readonly Message[]): Message[] {
  const bySeq = new Map<number, Message>();
  for (const m of a) bySeq.set(m.seq, m);
  for (const m of b) bySeq.set(m.seq, m);
  return [...bySeq.values()].sort((x, y) => x.seq - y.seq);
}

/** The gap-free run at the end of an ascending list. */
export function tail(messages: readonly Message[]): Message[] {
  let start = messages.length - 1;
  while (start > 0 && (messages[start - 1] as Message).seq === (messages[start] as Message).seq - 1) start--;
  return messages.slice(Math.max(0, start));
}
