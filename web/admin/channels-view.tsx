/** Channels: search, then manage one (channel-manage.tsx). */
import { useState } from 'preact/hooks';
import { type AdminApi, failure } from './admin-api.js';
import type { Features } from './admin-app.js';
import { type AdminChannel, ChannelManage } from './channel-manage.js';

export function ChannelsView({ api, features }: { readonly api: AdminApi; readonly features: Features }) {
  const [channels, setChannels] = useState<readonly AdminChannel[] | undefined>(undefined);
  const [query, setQuery] = useState('');
  const [open, setOpen] = useState<AdminChannel | undefined>(undefined);
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
              <button
                type="button"
                aria-expanded={open?.id === c.id}
                onClick={() => setOpen(open?.id === c.id ? undefined : c)}
              >
                Manage
              </button>
            </div>
            {open?.id === c.id && (
              <ChannelManage api={api} channel={c} features={features} onChanged={search} />
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
