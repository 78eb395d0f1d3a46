import { useState } from 'preact/hooks';
import { type Api, ApiError } from '../api.js';
import { AccountSessionHolder } from '../session.js';

/** Username and password: sign in, or create an account (standalone mode). */
export function SignIn({
  api,
  onSession,
  reason,
}: {
  api: Api;
  onSession: (s: AccountSessionHolder) => void;
  reason?: string | undefined;
}) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | undefined>(reason);
  const [busy, setBusy] = useState(false);

  const submit = async (mode: 'login' | 'register') => {
    if (busy) return;
    setBusy(true);
    setError(undefined);
    try {
      onSession(await AccountSessionHolder.signIn(api, mode, username.trim(), password));
    } catch (err) {
      setError(
        err instanceof ApiError && err.code === 'rate_limited'
          ? 'Too many attempts; wait a minute and try again.'
          : (err as Error).message,
      );
      setBusy(false);
    }
  };

  return (
    <main class="sign-in">
      <form
        class="card"
        onSubmit={(e) => {
          e.preventDefault();
          void submit('login');
        }}
      >
        <h1>
          <img src="favicon.svg" alt="" width={28} height={28} /> Parley
        </h1>
        <label>
          Username
          <input
            name="username"
            autocomplete="username"
            required
            minLength={3}
            maxLength={32}
            value={username}
            onInput={(e) => setUsername(e.currentTarget.value)}
          />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autocomplete="current-password"
            required
            minLength={8}
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </label>
        {error !== undefined && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <div class="row">
          <button type="submit" class="primary" disabled={busy}>
            Sign in
          </button>
          <button
            type="button"
            disabled={busy}
            onClick={(e) => {
              const form = e.currentTarget.form;
              if (form?.reportValidity() !== false) void submit('register');
            }}
          >
            Create account
          </button>
        </div>
        <p class="hint">Signed in on your site? Open Parley from there and you are signed in here too.</p>
      </form>
    </main>
  );
}
