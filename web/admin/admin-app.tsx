/** The admin console: sign-in, then one screen at a time picked in the navigation. */
import { useState } from 'preact/hooks';
import { AdminApi, type Credential } from './admin-api.js';
import { ChannelsView } from './channels-view.js';
import { LiveView } from './live-view.js';
import { MetricsView } from './metrics-view.js';
import { ReportsView } from './reports-view.js';
import { SignIn } from './sign-in.js';
import { UsersView } from './users-view.js';
import { WebhooksView } from './webhooks-view.js';

const SCREENS = [
  ['live', 'Live'],
  ['users', 'Users'],
  ['channels', 'Channels'],
  ['reports', 'Reports'],
  ['webhooks', 'Webhooks'],
  ['metrics', 'Metrics'],
] as const;

type Screen = (typeof SCREENS)[number][0];

/** What this server's API offers beyond the core, as `GET /api/admin/me` says. */
export interface Features {
  readonly channel_bans: boolean;
  readonly reports: boolean;
  readonly exports: boolean;
  readonly erasure: boolean;
  readonly retention: boolean;
}

/** Who is signed in, as `GET /api/admin/me` said. */
export interface Signed {
  readonly api: AdminApi;
  /** "API key", or the admin's username. */
  readonly who: string;
  readonly features: Features;
}

export function AdminApp({ base }: { readonly base: URL }) {
  const [signed, setSigned] = useState<Signed | undefined>(undefined);
  const [screen, setScreen] = useState<Screen>('live');
  if (signed === undefined) {
    return (
      <SignIn
        base={base}
        onSigned={async (credential: Credential) => {
          const api = new AdminApi(base, credential);
          const me = await api.get<{ via: string; user: { username: string } | null; features: Features }>(
            'api/admin/me',
          );
          setSigned({ api, who: me.user?.username ?? 'API key', features: me.features });
        }}
      />
    );
  }
  const { api, features } = signed;
  return (
    <div class="admin">
      <header class="admin-header">
        <h1>Parley admin</h1>
        <nav aria-label="Screens">
          <ul>
            {SCREENS.map(([id, label]) => (
              <li key={id}>
                <button
                  type="button"
                  aria-current={screen === id ? 'page' : undefined}
                  onClick={() => setScreen(id)}
                >
                  {label}
                </button>
              </li>
            ))}
          </ul>
        </nav>
        <p class="who">
          Signed in as <strong>{signed.who}</strong>{' '}
          <button type="button" class="link" onClick={() => setSigned(undefined)}>
            Sign out
          </button>
        </p>
      </header>
      <main class="admin-main">
        {screen === 'live' && <LiveView api={api} />}
        {screen === 'users' && <UsersView api={api} features={features} />}
        {screen === 'channels' && <ChannelsView api={api} features={features} />}
        {screen === 'reports' && <ReportsView api={api} available={features.reports} />}
        {screen === 'webhooks' && <WebhooksView api={api} />}
        {screen === 'metrics' && <MetricsView api={api} />}
      </main>
    </div>
  );
}
