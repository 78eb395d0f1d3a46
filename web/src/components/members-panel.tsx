import { useEffect, useState } from 'preact/hooks';
import type { Role, UserInfo } from '../../../src/client/index.js';
import type { ChannelState, ChatModel } from '../chat-model.js';
import { Icon } from './icon.js';
import { exactlyNamed, UserPicker } from './user-picker.js';

interface Member {
  readonly user_id: string;
  readonly username: string;
  readonly role: Role;
}

/** Who is in the channel and who is online; message someone; add members; leave. */
export function MembersPanel({
  model,
  state,
  onClose,
}: {
  model: ChatModel;
  state: ChannelState;
  onClose: () => void;
}) {
  const [members, setMembers] = useState<Member[] | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [adding, setAdding] = useState('');
  const [chosen, setChosen] = useState<UserInfo | undefined>(undefined);
  const s = state.summary;
  // In a big channel the subscribe listed only oneself and joins and leaves are not told: ask
  // for the full list when the panel opens. Otherwise the told list is the live one.
  const [asked, setAsked] = useState<readonly UserInfo[] | undefined>(undefined);
  useEffect(() => {
    model.online(s.id).then(setAsked, () => setAsked(undefined));
  }, [s.id]);
  const told = state.onlineCount <= state.presence.length;
  const online = new Set((told ? state.presence : (asked ?? state.presence)).map((u) => u.id));
  const canManage = (s.role === 'owner' || s.role === 'admin') && s.kind !== 'dm';

  const load = () => {
    model.members(s.id).then(setMembers, (err: Error) => setError(err.message));
  };
  useEffect(load, [s.id, s.role]);

  const list: Member[] =
    members ?? state.presence.map((u) => ({ user_id: u.id, username: u.username, role: 'member' as const }));
  const sorted = [...list].sort(
    (a, b) =>
      Number(online.has(b.user_id)) - Number(online.has(a.user_id)) || a.username.localeCompare(b.username),
  );

  return (
    <aside class="members" aria-label="Members">
      <header>
        <h2>Members</h2>
        <button type="button" class="icon" aria-label="Close members" onClick={onClose}>
          <Icon name="close" />
        </button>
      </header>
      {error !== undefined && <p class="error">{error}</p>}
      <ul>
        {sorted.map((m) => (
          <li key={m.user_id}>
            <span class={`dot${online.has(m.user_id) ? ' online' : ''}`} aria-hidden="true" />
            <span class="sr-only">{online.has(m.user_id) ? 'online' : 'offline'}</span>
            <span class="name" title={m.user_id}>
              {m.username}
            </span>
            {m.role !== 'member' && <span class="role">{m.role}</span>}
            {m.user_id !== model.me.id && (
              <button
                type="button"
                class="small link"
                onClick={() => void model.openDm(m.user_id).then(onClose)}
              >
                Message
              </button>
            )}
          </li>
        ))}
      </ul>
      {canManage && (
        <form
          class="add-member"
          onSubmit={(e) => {
            e.preventDefault();
            if (adding.trim() === '') return;
            setError(undefined);
            const add = async () => {
              const user = chosen ?? exactlyNamed(await model.findUsers(adding.trim()), adding);
              if (typeof user === 'string') throw new Error(user);
              await model.addMember(s.id, user.id);
            };
            add().then(
              () => {
                setAdding('');
                setChosen(undefined);
                load();
              },
              (err: Error) => setError(err.message),
            );
          }}
        >
          <UserPicker
            model={model}
            label="Add someone by username"
            value={adding}
            onInput={(text) => {
              setAdding(text);
              setChosen(undefined);
            }}
            onChoose={(user) => {
              setAdding(user.username);
              setChosen(user);
            }}
          />
          <button type="submit" class="small">
            Add
          </button>
        </form>
      )}
      {s.kind !== 'dm' && s.role !== null && s.role !== 'owner' && (
        <button type="button" class="small danger leave" onClick={() => void model.leave(s.id).then(onClose)}>
          Leave channel
        </button>
      )}
    </aside>
  );
}
