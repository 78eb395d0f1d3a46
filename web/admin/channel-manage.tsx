/** One channel managed: members and roles, bans and mutes, slow mode, retention, archive, export. */
import { useEffect, useState } from 'preact/hooks';
import { type AdminApi, download, failure, path } from './admin-api.js';
import type { Features } from './admin-app.js';

/** A channel as `GET /api/admin/channels` lists it. */
export interface AdminChannel {
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

interface Sanction {
  readonly user_id: string;
  readonly kind: 'ban' | 'mute';
  readonly until: number | null;
}

const ROLES = ['owner', 'admin', 'moderator', 'member', 'readonly'] as const;
/** How long the console's mute lasts. */
const MUTE_MS = 60 * 60_000;

export function ChannelManage({
  api,
  channel: c,
  features,
  onChanged,
}: {
  readonly api: AdminApi;
  readonly channel: AdminChannel;
  readonly features: Features;
  readonly onChanged: () => Promise<void>;
}) {
  const [members, setMembers] = useState<readonly Member[]>([]);
  const [sanctions, setSanctions] = useState<readonly Sanction[] | undefined>(undefined);
  const [note, setNote] = useState('');
  const base = path('api/server/channels', c.id);

  const load = async () => {
    try {
      setMembers((await api.get<{ members: Member[] }>(`${base}/members`)).members);
    } catch (err) {
      setNote(failure(err));
    }
    if (!features.channel_bans) return;
    try {
      const [bans, mutes] = await Promise.all([
        api.get<{ bans: Sanction[] }>(`${base}/bans`),
        api.get<{ mutes: Sanction[] }>(`${base}/mutes`),
      ]);
      setSanctions([...bans.bans, ...mutes.mutes]);
    } catch {
      // Without the moderation API there are none to show; its actions say so when used.
      setSanctions(undefined);
    }
  };
  useEffect(() => {
    void load();
  }, [api, c.id]);

  const act = async (label: string, run: () => Promise<unknown>) => {
    setNote(`${label}…`);
    try {
      await run();
      setNote(`${label}: done.`);
      await onChanged();
      await load();
    } catch (err) {
      setNote(`${label}: ${failure(err)}`);
    }
  };
  const numberFrom = (e: Event, name: string) =>
    Number(new FormData(e.currentTarget as HTMLFormElement).get(name) ?? 0);
  const sanctionOf = (userId: string, kind: Sanction['kind']) =>
    sanctions?.find((s) => s.user_id === userId && s.kind === kind);

  return (
    <div class="manage">
      <p class="status" role="status">
        {note}
      </p>
      <h3>Members of #{c.id}</h3>
      <ul class="members">
        {members.map((m) => {
          const banned = sanctionOf(m.user_id, 'ban') !== undefined;
          const muted = sanctionOf(m.user_id, 'mute') !== undefined;
          return (
            <li key={m.user_id}>
              <span class="mono">{m.user_id}</span>{' '}
              <label>
                <span class="sr-only">Role of {m.user_id}</span>
                <select
                  value={m.role}
                  onChange={(e) => {
                    const role = e.currentTarget.value;
                    void act(`Role of ${m.user_id}`, () =>
                      api.send('PUT', `${base}/members/${encodeURIComponent(m.user_id)}`, { role }),
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
              {features.channel_bans && (
                <>
                  <button
                    type="button"
                    onClick={() =>
                      act(`${banned ? 'Unban' : 'Ban'} ${m.user_id} in #${c.id}`, () =>
                        api.send(
                          banned ? 'DELETE' : 'POST',
                          `${base}/bans/${encodeURIComponent(m.user_id)}`,
                          banned ? undefined : {},
                        ),
                      )
                    }
                  >
                    {banned ? 'Lift ban' : 'Ban here'}
                  </button>{' '}
                  <button
                    type="button"
                    onClick={() =>
                      act(`${muted ? 'Unmute' : 'Mute'} ${m.user_id} in #${c.id}`, () =>
                        api.send(
                          muted ? 'DELETE' : 'POST',
                          `${base}/mutes/${encodeURIComponent(m.user_id)}`,
                          muted ? undefined : { until: Date.now() + MUTE_MS },
                        ),
                      )
                    }
                  >
                    {muted ? 'Unmute' : 'Mute 1 h'}
                  </button>{' '}
                </>
              )}
              <button
                type="button"
                onClick={() =>
                  act(`Remove ${m.user_id}`, () =>
                    api.send('DELETE', `${base}/members/${encodeURIComponent(m.user_id)}`),
                  )
                }
              >
                Remove
              </button>
              {banned && <span class="badge danger">banned</span>}
              {muted && <span class="badge">muted</span>}
            </li>
          );
        })}
      </ul>
      <form
        class="inline"
        onSubmit={(e) => {
          e.preventDefault();
          const seconds = numberFrom(e, 'slow');
          void act(`Slow mode of #${c.id}`, () => api.send('PATCH', base, { slow_mode_seconds: seconds }));
        }}
      >
        <label>
          Slow mode (seconds) <input name="slow" type="number" min="0" max="3600" defaultValue="0" />
        </label>
        <button type="submit">Set slow mode</button>
      </form>
      {features.retention ? (
        <form
          class="inline"
          onSubmit={(e) => {
            e.preventDefault();
            const days = numberFrom(e, 'days');
            void act(`Retention of #${c.id}`, () =>
              api.send('PATCH', base, { retention_days: days === 0 ? null : days }),
            );
          }}
        >
          <label>
            Keep messages (days, 0 = the server's default){' '}
            <input name="days" type="number" min="0" defaultValue="0" />
          </label>
          <button type="submit">Set retention</button>
        </form>
      ) : (
        <p class="unavailable-action">Retention: not available on this server</p>
      )}
      <div class="actions">
        <button
          type="button"
          onClick={() =>
            act(`${c.archived ? 'Unarchive' : 'Archive'} #${c.id}`, () =>
              api.send('PATCH', base, { archived: !c.archived }),
            )
          }
        >
          {c.archived ? 'Unarchive' : 'Archive'}
        </button>
        {features.exports && (
          <button
            type="button"
            onClick={() =>
              act(`Export #${c.id}`, async () =>
                download(await api.blob(`${base}/export`), `parley-channel-${c.id}.ndjson`),
              )
            }
          >
            Export
          </button>
        )}
      </div>
    </div>
  );
}
