/** Live: every node's connections and channels, who is online, and the debug console. */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { AdminApi } from './admin-api.js';
import { readEventStream } from './event-stream.js';

/** A node's figures (`NodeReport` on the server). */
interface NodeReport {
  readonly node: string;
  readonly at: number;
  readonly connections: number;
  readonly sessions: number;
  readonly channels: number;
  readonly busConnected: boolean;
  readonly users: readonly string[];
  readonly userCount: number;
}

/** A debug event (`TraceEntry` on the server). */
interface TraceEntry {
  readonly at: number;
  readonly node: string;
  readonly type: string;
  readonly channel?: string;
  readonly user?: string;
  readonly detail: string;
}

/** Lines the console keeps on screen; older ones go. */
const KEPT = 500;

interface Filter {
  readonly channel: string;
  readonly user: string;
}

export function LiveView({ api }: { readonly api: AdminApi }) {
  const [nodes, setNodes] = useState<readonly NodeReport[]>([]);
  const [entries, setEntries] = useState<readonly (TraceEntry & { readonly key: number })[]>([]);
  const [dropped, setDropped] = useState(0);
  const [filter, setFilter] = useState<Filter>({ channel: '', user: '' });
  const [state, setState] = useState<'connecting' | 'live' | 'paused' | 'failed'>('connecting');
  const [error, setError] = useState('');
  const paused = useRef(false);
  const counter = useRef(0);

  useEffect(() => {
    const abort = new AbortController();
    setState(paused.current ? 'paused' : 'connecting');
    readEventStream(
      api,
      filter,
      ({ event, data }) => {
        if (event === 'hello' || event === 'nodes') {
          setNodes((data as { nodes: NodeReport[] }).nodes);
          if (event === 'hello') setState(paused.current ? 'paused' : 'live');
        } else if (event === 'trace') {
          const t = data as { entries: TraceEntry[]; dropped: number };
          if (t.dropped > 0) setDropped((d) => d + t.dropped);
          if (paused.current || t.entries.length === 0) return;
          const added = t.entries.map((e) => ({ ...e, key: counter.current++ }));
          setEntries((old) => [...added.reverse(), ...old].slice(0, KEPT));
        }
      },
      abort.signal,
    ).then(
      () => !abort.signal.aborted && setState('failed'),
      (err: Error) => {
        if (abort.signal.aborted) return;
        setError(err.message);
        setState('failed');
      },
    );
    return () => abort.abort();
  }, [api, filter]);

  const applyFilter = (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    setEntries([]);
    setFilter({
      channel: String(form.get('channel') ?? '').trim(),
      user: String(form.get('user') ?? '').trim(),
    });
  };

  const online = [...new Set(nodes.flatMap((n) => n.users))].sort();
  const totalUsers = nodes.reduce((sum, n) => sum + n.userCount, 0);

  return (
    <section aria-labelledby="live-title">
      <h2 id="live-title">Live</h2>
      <div class="panel">
        <h3>Nodes</h3>
        <table class="nodes">
          <caption class="sr-only">Every node heard from in the last few seconds</caption>
          <thead>
            <tr>
              <th scope="col">Node</th>
              <th scope="col">Connections</th>
              <th scope="col">Sessions</th>
              <th scope="col">Channels</th>
              <th scope="col">Bus</th>
            </tr>
          </thead>
          <tbody>
            {nodes.map((n) => (
              <tr key={n.node}>
                <td class="mono">{n.node.slice(0, 8)}</td>
                <td>{n.connections}</td>
                <td>{n.sessions}</td>
                <td>{n.channels}</td>
                <td>{n.busConnected ? 'up' : 'down'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div class="panel">
        <h3>Online ({totalUsers})</h3>
        {online.length === 0 ? (
          <p class="muted">Nobody is connected.</p>
        ) : (
          <ul class="online">
            {online.map((u) => (
              <li key={u}>{u}</li>
            ))}
          </ul>
        )}
      </div>
      <div class="panel">
        <h3>Debug console</h3>
        <form class="filters" onSubmit={applyFilter}>
          <label>
            Channel <input name="channel" defaultValue={filter.channel} placeholder="any" />
          </label>
          <label>
            User <input name="user" defaultValue={filter.user} placeholder="any" />
          </label>
          <button type="submit">Apply filter</button>
          <button
            type="button"
            aria-pressed={paused.current}
            onClick={() => {
              paused.current = !paused.current;
              setState(paused.current ? 'paused' : 'live');
            }}
          >
            {paused.current ? 'Resume' : 'Pause'}
          </button>
          <button type="button" onClick={() => setEntries([])}>
            Clear
          </button>
        </form>
        <p class="status" role="status">
          {state === 'live' && 'Streaming'}
          {state === 'connecting' && 'Connecting…'}
          {state === 'paused' && 'Paused'}
          {state === 'failed' && `The stream stopped${error === '' ? '' : `: ${error}`}`}
          {(filter.channel !== '' || filter.user !== '') &&
            ` · filtered to ${[filter.channel && `#${filter.channel}`, filter.user && `user ${filter.user}`]
              .filter(Boolean)
              .join(', ')}`}
          {dropped > 0 && ` · ${dropped} events dropped`}
        </p>
        <ol class="trace" aria-label="Debug events, newest first">
          {entries.map((e) => (
            <li key={e.key} class={`trace-${e.type}`}>
              <time>{new Date(e.at).toLocaleTimeString()}</time> <span class="type">{e.type}</span>{' '}
              {e.channel !== undefined && <span class="channel">#{e.channel}</span>}{' '}
              {e.user !== undefined && <span class="user">{e.user}</span>}{' '}
              <span class="detail">{e.detail}</span> <span class="node mono">{e.node.slice(0, 8)}</span>
            </li>
          ))}
        </ol>
      </div>
    </section>
  );
}
