/** Channels: search; a channel's members and roles, slow mode, retention and archiving. */
import { useState } from 'preact/hooks';
import { type AdminApi, failure, path } from './admin-api.js';

interface AdminChannel {
  readonly id: string;
  readonly kind: string;
  readonly title: string;
  readonly last_seq: number;
  readonly archived: boolean;
}

interface Member {
  readonly user_id: string;
  readonly role: string;
}

const ROLES = ['owner', 'admin', 'member', 'readonly'] as const;

export function ChannelsView({ api }: { readonly api: AdminApi }) {
  const [channels, setChannels] = useState<readonly AdminChannel[] | undefined>(undefined);
  const [query, setQuery] = useState('');
  const [open, setOpen] = useState<AdminChannel | undefined>(undefined);
  const [members, setMembers] = useState<readonly Member[]>([]);
  const [note, setNote] = useState('');

  const search = async () => {
    try {
      const found = (await api.get<{ channels: AdminChannel[] }>('api/admin/channels', { q: query }))
        .channels;
      setChannels(found);
      if (open !== undefined) setOpen(found.find((c) => c.id === open.id));
    } catch (err) {
      setNote(failure(err));
    }
  };
  const show = async (c: AdminChannel) => {
    setOpen(c);
    try {
      setMembers(
        (await api.get<{ members: Member[] }>(path('api/server/channels', c.id, 'members'))).members,
      );
    } catch (err) {
      setMembers([]);
      setNote(failure(err));
    }
  };
  const act = async (label: string, run: () => Promise<unknown>) => {
    setNote(`${label}…`);
    try {
      await run();
      setNote(`${label}: done.`);
      await search();
      if (open !== undefined) await show(open);
    } catch (err) {
      setNote(`${label}: ${failure(err)}`);
    }
  };
  const numberFrom = (e: Event, name: string) =>
    Number(new FormData(e.currentTarget as HTMLFormElement).get(name) ?? 0);

  return (
    <section aria-labelledby="channels-title">
      <h2 id="channels-title">Channels</h2>
      <form
        class="search"
        onSubmit={(e) => {
          e.preventDefault();
          void search();
        }}
      >
        <label>
          Find channels <input type="search" value={query} onInput={(e) => setQuery(e.currentTarget.value)} />
        </label>
        <button type="submit">Search</button>
      </form>
      <p class="status" role="status">
        {note}
      </p>
      {channels !== undefined && channels.length === 0 && <p class="muted">No channel matches.</p>}
      <ul class="cards">
        {(channels ?? []).map((c) => (
          <li key={c.id} class="card">
            <p>
              <strong>#{c.id}</strong> {c.title !== c.id && <span>{c.title}</span>}{' '}
              <span class="muted">{c.kind}</span> <span class="muted">{c.last_seq} messages</span>
              {c.archived && <span class="badge">archived</span>}
            </p>
            <div class="actions">
              <button type="button" aria-expanded={open?.id === c.id} onClick={() => show(c)}>
                Manage
              </button>
            </div>
            {open?.id === c.id && (
              <div class="manage">
                <h3>Members of #{c.id}</h3>
                <ul class="members">
                  {members.map((m) => (
                    <li key={m.user_id}>
                      <span class="mono">{m.user_id}</span>{' '}
                      <label>
                        <span class="sr-only">Role of {m.user_id}</span>
                        <select
                          value={m.role}
                          onChange={(e) => {
                            const role = e.currentTarget.value;
                            void act(`Role of ${m.user_id}`, () =>
                              api.send('PUT', path('api/server/channels', c.id, 'members', m.user_id), {
                                role,
                              }),
                            );
                          }}
                        >
                          {ROLES.map((r) => (
                            <option key={r} value={r}>
                              {r}
                            </option>
                          ))}
                        </select>
                      </label>{' '}
                      <button
                        type="button"
                        onClick={() =>
                          act(`Remove ${m.user_id}`, () =>
                            api.send('DELETE', path('api/server/channels', c.id, 'members', m.user_id)),
                          )
                        }
                      >
                        Remove
                      </button>
                    </li>
                  ))}
                </ul>
                <form
                  class="inline"
                  onSubmit={(e) => {
                    e.preventDefault();
                    const seconds = numberFrom(e, 'slow');
                    void act(`Slow mode of #${c.id}`, () =>
                      api.send('PATCH', path('api/channels', c.id), { slow_mode_seconds: seconds }),
                    );
                  }}
                >
                  <label>
                    Slow mode (seconds) <input name="slow" type="number" min="0" defaultValue="0" />
                  </label>
                  <button type="submit">Set slow mode</button>
                </form>
                <form
                  class="inline"
                  onSubmit={(e) => {
                    e.preventDefault();
                    const days = numberFrom(e, 'days');
                    void act(`Retention of #${c.id}`, () =>
                      api.send('PATCH', path('api/server/channels', c.id), {
                        retention_days: days === 0 ? null : days,
                      }),
                    );
                  }}
                >
                  <label>
                    Keep messages (days, 0 = forever){' '}
                    <input name="days" type="number" min="0" defaultValue="0" />
                  </label>
                  <button type="submit">Set retention</button>
                </form>
                <button
                  type="button"
                  onClick={() =>
                    act(`${c.archived ? 'Unarchive' : 'Archive'} #${c.id}`, () =>
                      api.send('PATCH', path('api/server/channels', c.id), { archived: !c.archived }),
                    )
                  }
                >
                  {c.archived ? 'Unarchive' : 'Archive'}
                </button>
              </div>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
