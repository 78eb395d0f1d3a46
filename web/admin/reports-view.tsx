/** The reports queue: reported messages waiting for a decision, resolved or dismissed here. */
import { useEffect, useState } from 'preact/hooks';
import { type AdminApi, AdminApiError, failure, path } from './admin-api.js';

interface Report {
  readonly id: string;
  readonly channel?: string;
  readonly message_id?: string;
  readonly reporter_id?: string;
  readonly reason?: string;
  readonly created_at?: number;
  readonly state?: string;
}

export function ReportsView({ api, available }: { readonly api: AdminApi; readonly available: boolean }) {
  const [reports, setReports] = useState<readonly Report[] | undefined>(undefined);
  const [unavailable, setUnavailable] = useState(!available);
  const [note, setNote] = useState('');
  const [state, setState] = useState<'open' | 'resolved' | 'dismissed'>('open');

  const load = async (which = state) => {
    try {
      setReports(
        (await api.get<{ reports: Report[] }>('api/server/reports', { state: which, limit: 100 })).reports,
      );
    } catch (err) {
      if (err instanceof AdminApiError && err.unavailable) setUnavailable(true);
      else setNote(failure(err));
    }
  };
  useEffect(() => {
    if (available) void load(state);
  }, [api, state, available]);

  const decide = async (r: Report, how: 'resolve' | 'dismiss') => {
    try {
      await api.send('POST', path('api/server/reports', r.id, how), {});
      setNote(`Report ${r.id}: ${how === 'resolve' ? 'resolved' : 'dismissed'}.`);
      await load();
    } catch (err) {
      setNote(failure(err));
    }
  };

  return (
    <section aria-labelledby="reports-title">
      <h2 id="reports-title">Reports</h2>
      {unavailable ? (
        <p class="unavailable">Reports are not available on this server (it has no reports API).</p>
      ) : (
        <>
          <fieldset class="actions plain">
            <legend class="sr-only">Which reports</legend>
            {(['open', 'resolved', 'dismissed'] as const).map((s) => (
              <button key={s} type="button" aria-pressed={state === s} onClick={() => setState(s)}>
                {s === 'open' ? 'Waiting' : s === 'resolved' ? 'Resolved' : 'Dismissed'}
              </button>
            ))}
            <button type="button" onClick={() => load()}>
              Refresh
            </button>
          </fieldset>
          <p class="status" role="status">
            {note}
          </p>
          {reports !== undefined && reports.length === 0 && <p class="muted">No report here.</p>}
          <ul class="cards">
            {(reports ?? []).map((r) => (
              <li key={r.id} class="card">
                <p>
                  {r.channel !== undefined && <strong>#{r.channel}</strong>}{' '}
                  <span class="mono">{r.message_id}</span>{' '}
                  {r.reporter_id !== undefined && <span>reported by {r.reporter_id}</span>}
                </p>
                {r.reason !== undefined && <p class="reason">{r.reason}</p>}
                {state === 'open' && (
                  <div class="actions">
                    <button type="button" onClick={() => decide(r, 'resolve')}>
                      Resolve
                    </button>
                    <button type="button" onClick={() => decide(r, 'dismiss')}>
                      Dismiss
                    </button>
                  </div>
                )}
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
