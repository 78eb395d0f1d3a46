/** Webhook deliveries: waiting (first try or retried) and dead, with replay of the dead. */
import { useEffect, useState } from 'preact/hooks';
import { type AdminApi, AdminApiError, failure } from './admin-api.js';

interface Delivery {
  readonly id: string;
  readonly type: string;
  readonly url: string;
  readonly state: string;
  readonly attempts: number;
  readonly created_at: number;
  readonly next_attempt_at: number;
  readonly last_error: string | null;
}

export function WebhooksView({ api }: { readonly api: AdminApi }) {
  const [state, setState] = useState<'pending' | 'dead'>('pending');
  const [deliveries, setDeliveries] = useState<readonly Delivery[] | undefined>(undefined);
  const [note, setNote] = useState('');
  const [off, setOff] = useState(false);

  const load = async (which = state) => {
    try {
      setDeliveries(
        (await api.get<{ deliveries: Delivery[] }>('api/server/webhooks', { state: which, limit: 100 }))
          .deliveries,
      );
    } catch (err) {
      if (err instanceof AdminApiError && err.status === 404) setOff(true);
      else setNote(failure(err));
    }
  };
  useEffect(() => {
    void load(state);
  }, [api, state]);

  const replay = async (ids?: string[]) => {
    try {
      const { replayed } = await api.send<{ replayed: number }>(
        'POST',
        'api/server/webhooks/replay',
        ids === undefined ? {} : { ids },
      );
      setNote(`${replayed} deliveries sent again.`);
      await load();
    } catch (err) {
      setNote(failure(err));
    }
  };

  if (off) {
    return (
      <section aria-labelledby="webhooks-title">
        <h2 id="webhooks-title">Webhooks</h2>
        <p class="unavailable">No webhooks are configured on this server (PARLEY_WEBHOOK_URLS).</p>
      </section>
    );
  }
  const waiting = deliveries?.filter((d) => d.attempts === 0).length ?? 0;
  return (
    <section aria-labelledby="webhooks-title">
      <h2 id="webhooks-title">Webhooks</h2>
      <fieldset class="actions plain">
        <legend class="sr-only">Which deliveries</legend>
        <button type="button" aria-pressed={state === 'pending'} onClick={() => setState('pending')}>
          Waiting and retried
        </button>
        <button type="button" aria-pressed={state === 'dead'} onClick={() => setState('dead')}>
          Dead
        </button>
        {state === 'dead' && (deliveries?.length ?? 0) > 0 && (
          <button type="button" onClick={() => replay()}>
            Replay all dead
          </button>
        )}
      </fieldset>
      <p class="status" role="status">
        {note}
        {state === 'pending' &&
          deliveries !== undefined &&
          ` ${waiting} waiting for a first try, ${deliveries.length - waiting} retried.`}
      </p>
      {deliveries !== undefined && deliveries.length === 0 && <p class="muted">None.</p>}
      <ul class="cards">
        {(deliveries ?? []).map((d) => (
          <li key={d.id} class="card">
            <p>
              <strong>{d.type}</strong> <span class="mono">{d.url}</span>
            </p>
            <p class="muted">
              {d.attempts} attempts{d.last_error !== null && ` · last error: ${d.last_error}`}
              {d.state === 'pending' && ` · next at ${new Date(d.next_attempt_at).toLocaleTimeString()}`}
            </p>
            {d.state === 'dead' && (
              <div class="actions">
                <button type="button" onClick={() => replay([d.id])}>
                  Replay
                </button>
              </div>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
