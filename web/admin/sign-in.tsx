/** Signing in to the console: a server admin's account, or the server API key. */
import { useState } from 'preact/hooks';
import { type Credential, failure } from './admin-api.js';

export function SignIn({
  base,
  onSigned,
}: {
  readonly base: URL;
  readonly onSigned: (credential: Credential) => Promise<void>;
}) {
  const [mode, setMode] = useState<'account' | 'key'>('account');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    setBusy(true);
    setError('');
    try {
      if (mode === 'key') {
        await onSigned({ kind: 'key', key: String(form.get('key') ?? '') });
      } else {
        const res = await fetch(new URL('api/auth/login', base), {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
          credentials: 'omit',
          body: JSON.stringify({ username: form.get('username'), password: form.get('password') }),
        });
        const data = (await res.json().catch(() => ({}))) as { token?: string; error?: { message?: string } };
        if (!res.ok || data.token === undefined) throw new Error(data.error?.message ?? `HTTP ${res.status}`);
        await onSigned({ kind: 'token', token: data.token });
      }
    } catch (err) {
      setError(failure(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="sign-in">
      <h1>Parley admin</h1>
      <form onSubmit={submit} aria-describedby={error === '' ? undefined : 'sign-in-error'}>
        <fieldset>
          <legend>Sign in with</legend>
          <label>
            <input
              type="radio"
              name="mode"
              checked={mode === 'account'}
              onChange={() => setMode('account')}
            />{' '}
            An admin account
          </label>
          <label>
            <input type="radio" name="mode" checked={mode === 'key'} onChange={() => setMode('key')} /> The
            server API key
          </label>
        </fieldset>
        {mode === 'account' ? (
          <>
            <label>
              Username <input name="username" autocomplete="username" required />
            </label>
            <label>
              Password <input name="password" type="password" autocomplete="current-password" required />
            </label>
          </>
        ) : (
          <label>
            API key <input name="key" type="password" autocomplete="off" required />
          </label>
        )}
        <button type="submit" disabled={busy}>
          Sign in
        </button>
        {error !== '' && (
          <p id="sign-in-error" role="alert" class="error">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}
