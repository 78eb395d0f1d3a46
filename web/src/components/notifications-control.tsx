import { useEffect, useState } from 'preact/hooks';
import type { Api } from '../api.js';
import { channelPath } from '../api.js';
import { enablePush, type PushState, pushState, serverHasPush } from '../push-subscription.js';

type Level = 'all' | 'mentions' | 'none';

/**
 * A channel's notification control: until push is on in this browser, a button that turns it on
 * (the permission prompt comes from that click, never on load); then the channel's level (all
 * messages, mentions and DMs, none). Hidden when the server has no push or the browser cannot.
 */
export function NotificationsControl({ api, channel }: { api: Api; channel: string }) {
  const [state, setState] = useState<PushState | 'server-off' | undefined>(undefined);
  const [level, setLevel] = useState<Level | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);

  useEffect(() => {
    let live = true;
    void (async () => {
      try {
        // Asked first, so that a server without push is no failed request on every channel.
        if (!(await serverHasPush(api))) {
          if (live) setState('server-off');
          return;
        }
        const r = await api.get<{ level: Level }>(channelPath(channel, '/notifications'));
        if (!live) return;
        setLevel(r.level);
        setState(await pushState());
      } catch {
        // The channel's level could not be read: no control.
        if (live) setState('server-off');
      }
    })();
    return () => {
      live = false;
    };
  }, [channel]);

  if (state === undefined || state === 'server-off' || state === 'unsupported') return null;
  if (state !== 'on') {
    return (
      <button
        type="button"
        class="notifications-enable"
        disabled={state === 'denied'}
        title={
          state === 'denied' ? 'Notifications are blocked for this site in your browser settings' : undefined
        }
        onClick={() => {
          setError(undefined);
          enablePush(api).then(setState, (err: unknown) => setError((err as Error).message));
        }}
      >
        {state === 'denied' ? 'Notifications blocked' : 'Enable notifications'}
        {error !== undefined && <span class="error"> ({error})</span>}
      </button>
    );
  }
  return (
    <label class="notifications-level">
      <select
        aria-label="Notifications"
        value={level}
        onChange={(e) => {
          const next = e.currentTarget.value as Level;
          api.put<{ level: Level }>(channelPath(channel, '/notifications'), { level: next }).then(
            (r) => setLevel(r.level),
            (err: unknown) => setError((err as Error).message),
          );
        }}
      >
        <option value="all">All messages</option>
        <option value="mentions">Mentions and DMs</option>
        <option value="none">Nothing</option>
      </select>
    </label>
  );
}
