import type { ChannelState, ChatModel } from '../chat-model.js';
import { Avatar } from './avatar.js';
import { Icon } from './icon.js';

function Badge({ state }: { state: ChannelState }) {
  const { unread, mentions } = state.summary;
  if (state.summary.role === null || unread === 0) return null;
  return (
    <span
      class={mentions > 0 ? 'badge badge-mention' : 'badge'}
      data-unread={unread}
      data-mentions={mentions}
    >
      <span aria-hidden="true">{mentions > 0 ? `@${mentions}` : unread > 99 ? '99+' : unread}</span>
      <span class="sr-only">
        {unread} unread{mentions > 0 ? `, ${mentions} mentioning you` : ''}
      </span>
    </span>
  );
}

function ChannelLink({
  state,
  active,
  onOpen,
}: {
  state: ChannelState;
  active: boolean;
  onOpen: (id: string) => void;
}) {
  const s = state.summary;
  const prefix = s.kind === 'dm' ? '@' : s.kind === 'private' ? <Icon name="lock" /> : '#';
  return (
    <li>
      <button
        type="button"
        class={`channel-link${active ? ' active' : ''}${s.unread > 0 && s.role !== null ? ' unread' : ''}`}
        aria-current={active ? 'page' : undefined}
        data-channel={s.id}
        onClick={() => onOpen(s.id)}
      >
        <span class="prefix" aria-hidden="true">
          {prefix}
        </span>
        <span class="name">{s.title || s.id}</span>
        <Badge state={state} />
      </button>
    </li>
  );
}

/** Channels, direct messages and the public channels to join. */
export function Sidebar({
  model,
  onOpen,
  onNewChannel,
  onNewDm,
  onSignOut,
}: {
  model: ChatModel;
  onOpen: (id: string) => void;
  onNewChannel: () => void;
  onNewDm: () => void;
  onSignOut: (() => void) | undefined;
}) {
  const all = model.channels;
  const mine = all.filter((c) => c.summary.role !== null && c.summary.kind !== 'dm');
  const dms = all.filter((c) => c.summary.kind === 'dm');
  const other = all.filter((c) => c.summary.role === null);
  const active = model.activeId;
  return (
    <nav class="sidebar" aria-label="Channels">
      <div class="me">
        <Avatar userId={model.me.id} name={model.me.username} />
        <span class="me-name" title={model.me.id}>
          {model.me.username}
        </span>
        {onSignOut !== undefined && (
          <button type="button" class="link" onClick={onSignOut}>
            Sign out
          </button>
        )}
      </div>
      <section>
        <header>
          <h2>Channels</h2>
          <button
            type="button"
            class="icon"
            aria-label="Create a channel"
            title="Create a channel"
            onClick={onNewChannel}
          >
            <Icon name="plus" />
          </button>
        </header>
        <ul>
          {mine.map((c) => (
            <ChannelLink key={c.summary.id} state={c} active={c.summary.id === active} onOpen={onOpen} />
          ))}
        </ul>
      </section>
      <section>
        <header>
          <h2>Direct messages</h2>
          <button
            type="button"
            class="icon"
            aria-label="Start a direct message"
            title="Start a direct message"
            onClick={onNewDm}
          >
            <Icon name="plus" />
          </button>
        </header>
        <ul>
          {dms.map((c) => (
            <ChannelLink key={c.summary.id} state={c} active={c.summary.id === active} onOpen={onOpen} />
          ))}
        </ul>
      </section>
      {other.length > 0 && (
        <section>
          <header>
            <h2>More channels</h2>
          </header>
          <ul>
            {other.map((c) => (
              <ChannelLink key={c.summary.id} state={c} active={c.summary.id === active} onOpen={onOpen} />
            ))}
          </ul>
        </section>
      )}
    </nav>
  );
}
