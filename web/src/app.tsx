import { useEffect, useState } from 'preact/hooks';
import { ParleyClient, type ParleyClientError } from '../../src/client/index.js';
import { Api } from './api.js';
import { ChatModel } from './chat-model.js';
import { ChannelView } from './components/channel-view.js';
import { NewChannelDialog, NewDmDialog } from './components/dialogs.js';
import { Icon } from './components/icon.js';
import { SearchPanel } from './components/search-panel.js';
import { Sidebar } from './components/sidebar.js';
import { SignIn } from './components/sign-in.js';
import type { HostLink } from './host-link.js';
import { onNotificationClick } from './push-subscription.js';
import { AccountSessionHolder, HandedTokenSession, type Session, SessionExpiredError } from './session.js';

/** How the page was opened: the full app at `/`, or inside a host site's frame at `/embed`. */
export interface PageMode {
  /** Parley's base URL (the page's directory). */
  readonly base: URL;
  readonly embed: boolean;
  /** The site framing the page, when framed. */
  readonly host: HostLink | undefined;
  /** `?channel=`: the channel to open (in the embed: the only one shown). */
  readonly channel: string | undefined;
  /** In the widget's frame: whether the host page shows it (its panel is open). */
  readonly shownByHost: () => boolean;
}

const LAST_CHANNEL_KEY = 'parley.channel';

const PHONE = '(max-width: 720px)';

type Phase =
  | { readonly kind: 'signed-out'; readonly reason?: string | undefined }
  | { readonly kind: 'connecting' }
  | {
      readonly kind: 'ready';
      readonly model: ChatModel;
      readonly client: ParleyClient;
      readonly session: Session;
    };

/** The page: sign-in, then the chat, for the whole session. */
export function App({ mode }: { mode: PageMode }) {
  const api = new Api(mode.base);
  const [phase, setPhase] = useState<Phase>({ kind: 'connecting' });

  const start = async (session: Session) => {
    setPhase({ kind: 'connecting' });
    const wsUrl = new URL('ws', mode.base);
    wsUrl.protocol = mode.base.protocol === 'https:' ? 'wss:' : 'ws:';
    const client = new ParleyClient({ url: wsUrl.href, token: () => session.token() });
    let welcome: Awaited<ReturnType<ParleyClient['connect']>>;
    try {
      welcome = await client.connect();
    } catch (err) {
      // connect() gives up only when the server refuses the token (or the page closes it).
      await client.close().catch(() => {});
      await session.signOut();
      setPhase({ kind: 'signed-out', reason: explain(err) });
      return;
    }
    const model = new ChatModel({
      client,
      api: api.withToken(() => session.token()),
      me: welcome.user,
      maxMessageChars: welcome.limits.max_message_chars,
      only: mode.embed ? mode.channel : undefined,
      isVisible: () =>
        document.visibilityState === 'visible' && (mode.embed ? mode.shownByHost() : document.hasFocus()),
    });
    setPhase({ kind: 'ready', model, client, session });
    await model.start(mode.channel ?? lastChannel());
  };

  useEffect(() => {
    const account = AccountSessionHolder.restore(api);
    const handed = HandedTokenSession.fromLocation({
      embed: mode.embed,
      host: mode.host,
      hasAccount: account !== undefined,
    });
    const session = handed ?? account;
    if (session === undefined) setPhase({ kind: 'signed-out' });
    else void start(session);
  }, []);

  if (phase.kind === 'connecting') {
    return (
      <main class="splash" aria-busy="true">
        <p>Connecting…</p>
      </main>
    );
  }
  if (phase.kind === 'signed-out') {
    if (mode.embed && phase.reason !== undefined) {
      return (
        <main class="splash">
          <p class="error" role="alert">
            {phase.reason}
          </p>
        </main>
      );
    }
    return <SignIn api={api} reason={phase.reason} onSession={(s) => void start(s)} />;
  }
  return (
    <Chat
      model={phase.model}
      mode={mode}
      onSignOut={
        phase.session.canSignOut
          ? () => {
              phase.model.dispose();
              void phase.client.close();
              void phase.session.signOut();
              setPhase({ kind: 'signed-out' });
            }
          : undefined
      }
    />
  );
}

function Chat({
  model,
  mode,
  onSignOut,
}: {
  model: ChatModel;
  mode: PageMode;
  onSignOut: (() => void) | undefined;
}) {
  const [, setVersion] = useState(0);
  const [dialog, setDialog] = useState<'channel' | 'dm' | undefined>(undefined);
  const [query, setQuery] = useState('');
  const [searching, setSearching] = useState<string | undefined>(undefined);
  const [drawer, setDrawer] = useState(false);
  const [phone, setPhone] = useState(() => window.matchMedia(PHONE).matches);

  useEffect(() => {
    const update = () => setVersion(model.version);
    const stop = model.subscribe(update);
    // Changes made between the first render and this subscription (a fast channel load) would
    // otherwise never be shown.
    update();
    return stop;
  }, [model]);
  useEffect(() => {
    const mq = window.matchMedia(PHONE);
    const on = () => setPhone(mq.matches);
    mq.addEventListener('change', on);
    return () => mq.removeEventListener('change', on);
  }, []);
  // The unread count in the tab title, and for the widget's launcher badge.
  const unread = model.totalUnread;
  useEffect(() => {
    document.title = unread > 0 ? `(${unread}) Parley` : 'Parley';
    mode.host?.post({ type: 'parley:unread', count: unread });
  }, [unread]);
  useEffect(() => {
    if (!drawer) return;
    // The drawer takes focus when it opens and closes on Escape, as a dialog would.
    document.querySelector<HTMLElement>('.sidebar .channel-link')?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== 'Escape') return;
      e.preventDefault(); // first (capture): the widget's panel stays open
      setDrawer(false);
    };
    document.addEventListener('keydown', onKey, true);
    return () => document.removeEventListener('keydown', onKey, true);
  }, [drawer]);
  useEffect(() => {
    if (mode.host?.isWidget !== true) return;
    // Escape closes the widget's panel (keys typed in here never reach the host page).
    const onKey = (e: KeyboardEvent) => {
      const target = e.target as HTMLElement | null;
      const typing = target?.closest('input, textarea, dialog') != null;
      if (e.key === 'Escape' && !e.defaultPrevented && !typing) mode.host?.post({ type: 'parley:close' });
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);
  useEffect(() => {
    if (model.activeId !== undefined && !mode.embed) rememberChannel(model.activeId);
  }, [model.activeId]);
  // A push notification clicked while the page is open: its channel (maybe new to the list, a DM).
  useEffect(
    () =>
      onNotificationClick(async (id) => {
        if (model.channel(id) === undefined) await model.refreshChannels();
        await model.open(id);
      }),
    [model],
  );

  const onlyChannel = mode.embed && mode.channel !== undefined;
  const active = model.active;
  const fatal = model.fatal;
  const banner =
    fatal !== undefined
      ? `Disconnected: ${fatal.message}. Reload the page to reconnect.`
      : model.connection === 'reconnecting' || model.connection === 'connecting'
        ? 'Connection lost. Reconnecting…'
        : undefined;
  const open = (id: string) => {
    setDrawer(false);
    setSearching(undefined);
    void model.open(id);
  };

  return (
    <div
      class={`app${onlyChannel ? ' only-channel' : ''}${drawer ? ' drawer-open' : ''}${phone ? ' phone' : ''}`}
    >
      {banner !== undefined && (
        <div class={`banner${fatal !== undefined ? ' fatal' : ''}`} role="status">
          {banner}
        </div>
      )}
      {model.notice !== undefined && (
        <div class="notice" role="alert">
          {model.notice}
          <button type="button" class="icon" aria-label="Dismiss" onClick={() => model.clearNotice()}>
            <Icon name="close" />
          </button>
        </div>
      )}
      {!onlyChannel && (
        <Sidebar
          model={model}
          onOpen={open}
          onNewChannel={() => setDialog('channel')}
          onNewDm={() => setDialog('dm')}
          onSignOut={onSignOut}
        />
      )}
      {drawer && (
        <button type="button" class="scrim" aria-label="Close channels" onClick={() => setDrawer(false)} />
      )}
      <div class="main">
        <form
          class="topbar"
          onSubmit={(e) => {
            e.preventDefault();
            if (query.trim() !== '') setSearching(query.trim());
          }}
        >
          <input
            type="search"
            aria-label="Search messages"
            placeholder={onlyChannel ? 'Search' : 'Search all your channels'}
            value={query}
            onInput={(e) => setQuery(e.currentTarget.value)}
          />
          {mode.embed && (
            <a class="open-full" href={new URL('./', mode.base).href} target="_blank" rel="noopener">
              Open Parley <Icon name="external" />
            </a>
          )}
          {mode.host?.isWidget === true && (
            <button
              type="button"
              class="icon"
              aria-label="Close chat"
              onClick={() => mode.host?.post({ type: 'parley:close' })}
            >
              <Icon name="close" />
            </button>
          )}
        </form>
        {searching !== undefined ? (
          <SearchPanel model={model} query={searching} onClose={() => setSearching(undefined)} />
        ) : active !== undefined ? (
          <ChannelView
            key={active.summary.id}
            model={model}
            state={active}
            compact={phone}
            onMenu={onlyChannel || !phone ? undefined : () => setDrawer(true)}
          />
        ) : (
          <p class="empty">Choose a channel, or create one.</p>
        )}
      </div>
      {dialog === 'channel' && <NewChannelDialog model={model} onClose={() => setDialog(undefined)} />}
      {dialog === 'dm' && <NewDmDialog model={model} onClose={() => setDialog(undefined)} />}
    </div>
  );
}

function explain(err: unknown): string {
  if (err instanceof SessionExpiredError) return err.message;
  const e = err as ParleyClientError;
  if (e.code === 'auth_failed' || e.code === 'token_expired') {
    return `You are signed out: ${e.message}.`;
  }
  return `Could not connect: ${(err as Error).message}`;
}

function lastChannel(): string | undefined {
  try {
    return localStorage.getItem(LAST_CHANNEL_KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

function rememberChannel(id: string): void {
  try {
    localStorage.setItem(LAST_CHANNEL_KEY, id);
  } catch {}
}
