/** The reports queue: reported messages waiting for a decision, resolved or dismissed here. */
import { useEffect, useState } from 'preact/hooks';
import { type AdminApi, AdminApiError, failure, path } from './admin-api.js';

interface Report {
  readonly id: string;
  readonly channel?: string;
  readonly message_id?: string;
  readonly reporter?: string;
  readonly reason?: string;
  readonly created_at?: number;
  readonly state?: string;
}

export function ReportsView({ api }: { readonly api: AdminApi }) {
  const [reports, setReports] = useState<readonly Report[] | undefined>(undefined);
  const [unavailable, setUnavailable] = useState(false);
  const [note, setNote] = useState('');

  const load = async () => {
    try {
      setReports((await api.get<{ reports: Report[] }>('api/server/reports')).reports);
    } catch (err) {
      if (err instanceof AdminApiError && err.unavailable) setUnavailable(true);
      else setNote(failure(err));
    }
  };
  useEffect(() => {
    void load();
  }, [api]);

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
          <button type="button" onClick={() => load()}>
            Refresh
          </button>
          <p class="status" role="status">
            {note}
          </p>
          {reports !== undefined && reports.length === 0 && <p class="muted">No report is waiting.</p>}
          <ul class="cards">
            {(reports ?? []).map((r) => (
              <li key={r.id} class="card">
                <p>
                  {r.channel !== undefined && <strong>#{r.channel}</strong>}{' '}
                  <span class="mono">{r.message_id}</span>{' '}
                  {r.reporter !== undefined && <span>reported by {r.reporter}</span>}
                </p>
                {r.reason !== undefined && <p class="reason">{r.reason}</p>}
                <div class="actions">
                  <button type="button" onClick={() => decide(r, 'resolve')}>
                    Resolve
                  </button>
                  <button type="button" onClick={() => decide(r, 'dismiss')}>
                    Dismiss
                  </button>
                </div>
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
