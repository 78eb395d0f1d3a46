/** Users: search, then ban, log out, export, erase, or make an admin. */
import { useState } from 'preact/hooks';
import { type AdminApi, download, failure, path } from './admin-api.js';
import type { Features } from './admin-app.js';

interface AdminUser {
  readonly id: string;
  readonly username: string;
  readonly created_at: number;
  readonly banned: boolean;
  readonly admin: boolean;
}

export function UsersView({ api, features }: { readonly api: AdminApi; readonly features: Features }) {
  const [users, setUsers] = useState<readonly AdminUser[] | undefined>(undefined);
  const [query, setQuery] = useState('');
  const [note, setNote] = useState('');

  const search = async (q = query) => {
    try {
      setUsers((await api.get<{ users: AdminUser[] }>('api/admin/users', { q })).users);
    } catch (err) {
      setNote(failure(err));
    }
  };

  const act = async (label: string, run: () => Promise<unknown>) => {
    setNote(`${label}…`);
    try {
      await run();
      setNote(`${label}: done.`);
      await search();
    } catch (err) {
      setNote(`${label}: ${failure(err)}`);
    }
  };

  const exportUser = async (u: AdminUser) => {
    download(await api.blob(path('api/server/users', u.id, 'export')), `parley-user-${u.id}.ndjson`);
  };
  const erase = (u: AdminUser, messages: 'delete' | 'anonymize') => {
    const what = messages === 'delete' ? 'delete their messages' : 'keep their messages without their name';
    if (!confirm(`Erase ${u.id} and ${what}? This cannot be undone.`)) return;
    void act(`Erase ${u.id}`, () =>
      api.send('DELETE', `${path('api/server/users', u.id)}?messages=${messages}`),
    );
  };

  return (
    <section aria-labelledby="users-title">
      <h2 id="users-title">Users</h2>
      <form
        class="search"
        onSubmit={(e) => {
          e.preventDefault();
          void search();
        }}
      >
        <label>
          Find users <input type="search" value={query} onInput={(e) => setQuery(e.currentTarget.value)} />
        </label>
        <button type="submit">Search</button>
      </form>
      <p class="status" role="status">
        {note}
      </p>
      {users !== undefined && users.length === 0 && <p class="muted">No user matches.</p>}
      {users !== undefined && users.length > 0 && (
        <ul class="cards">
          {users.map((u) => (
            <li key={u.id} class="card">
              <p>
                <strong>{u.username}</strong> <span class="mono">{u.id}</span>
                {u.admin && <span class="badge">admin</span>}
                {u.banned && <span class="badge danger">banned</span>}
              </p>
              <div class="actions">
                {u.banned ? (
                  <button
                    type="button"
                    onClick={() =>
                      act(`Unban ${u.id}`, () => api.send('POST', path('api/server/users', u.id, 'unban')))
                    }
                  >
                    Unban
                  </button>
                ) : (
                  <button
                    type="button"
                    onClick={() =>
                      act(`Ban ${u.id}`, () => api.send('POST', path('api/server/users', u.id, 'ban'), {}))
                    }
                  >
                    Ban
                  </button>
                )}
                <button
                  type="button"
                  onClick={() =>
                    act(`Log out ${u.id}`, () =>
                      api.send('POST', path('api/server/users', u.id, 'logout'), {}),
                    )
                  }
                >
                  Log out
                </button>
                {features.exports ? (
                  <button type="button" onClick={() => act(`Export ${u.id}`, () => exportUser(u))}>
                    Export
                  </button>
                ) : (
                  <span class="unavailable-action">Export: not available on this server</span>
                )}
                {features.erasure ? (
                  <>
                    <button type="button" class="danger" onClick={() => erase(u, 'delete')}>
                      Erase with messages
                    </button>
                    <button type="button" class="danger" onClick={() => erase(u, 'anonymize')}>
                      Erase, keep messages
                    </button>
                  </>
                ) : (
                  <span class="unavailable-action">Erase: not available on this server</span>
                )}
                <button
                  type="button"
                  onClick={() =>
                    act(`${u.admin ? 'Revoke admin of' : 'Make admin'} ${u.id}`, () =>
                      api.send('PUT', path('api/server/users', u.id, 'admin'), { admin: !u.admin }),
                    )
                  }
                >
                  {u.admin ? 'Revoke admin' : 'Make admin'}
                </button>
              </div>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
