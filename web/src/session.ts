/**
 * Who the page talks as: an account session from login (kept in localStorage and refreshed
 * before it expires) or a token handed over by the host site in the URL fragment
 * (`#token=…`, never sent to any server but Parley's WebSocket and API, and kept for this tab
 * only). Inside the widget's frame, an expiring handed-over token is asked of the host page.
 */
import { type Api, ApiError } from './api.js';
import type { HostLink } from './host-link.js';

/** A user as the accounts API names one. */
export interface UserRef {
  readonly id: string;
  readonly username: string;
}

/** The answer of login, register and refresh. */
export interface AccountSession {
  readonly user: UserRef;
  readonly token: string;
  readonly expires_at: number;
  readonly refresh_token: string;
  readonly refresh_expires_at: number;
}

const ACCOUNT_KEY = 'parley.session';
const HANDED_KEY = 'parley.token';
// Refresh this long before the access token expires.
const REFRESH_AHEAD_MS = 60_000;
const PARENT_TIMEOUT_MS = 10_000;

/** Thrown when the session cannot give a valid token any more: the user must sign in again. */
export class SessionExpiredError extends Error {
  constructor(message = 'Your session has expired. Sign in again.') {
    super(message);
    this.name = 'SessionExpiredError';
  }
}

/** Where the page's tokens come from. */
export abstract class Session {
  /** A token to authenticate with, refreshed when it is about to expire. */
  abstract token(): Promise<string>;
  /** Forgets the session (and revokes its refresh token when it has one). */
  abstract signOut(): Promise<void>;
  /** Whether the user can sign out here (a handed-over token belongs to the host site). */
  abstract readonly canSignOut: boolean;
}

/** A session from `POST /api/auth/login` or `/register`. */
export class AccountSessionHolder extends Session {
  readonly canSignOut = true;
  #session: AccountSession;
  #refreshing: Promise<string> | undefined;
  readonly #api: Api;

  constructor(session: AccountSession, api: Api) {
    super();
    this.#session = session;
    this.#api = api;
  }

  /** Who is signed in. */
  get user(): UserRef {
    return this.#session.user;
  }

  /** The session saved in this browser, unless its refresh token has expired. */
  static restore(api: Api): AccountSessionHolder | undefined {
    const raw = readStorage('localStorage', ACCOUNT_KEY);
    if (raw === undefined) return undefined;
    try {
      const session = JSON.parse(raw) as AccountSession;
      if (typeof session.refresh_token !== 'string' || session.refresh_expires_at < Date.now())
        return undefined;
      return new AccountSessionHolder(session, api);
    } catch {
      return undefined;
    }
  }

  /** Logs in or registers, and saves the session in this browser. */
  static async signIn(api: Api, mode: 'login' | 'register', username: string, password: string) {
    const session = await api.post<AccountSession>(`api/auth/${mode}`, { username, password });
    writeStorage('localStorage', ACCOUNT_KEY, JSON.stringify(session));
    return new AccountSessionHolder(session, api);
  }

  token(): Promise<string> {
    if (this.#session.expires_at - Date.now() > REFRESH_AHEAD_MS) return Promise.resolve(this.#session.token);
    this.#refreshing ??= this.#refresh().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  async #refresh(): Promise<string> {
    try {
      const session = await this.#api.post<AccountSession>('api/auth/refresh', {
        refresh_token: this.#session.refresh_token,
      });
      this.#session = session;
      writeStorage('localStorage', ACCOUNT_KEY, JSON.stringify(session));
      return session.token;
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        removeStorage('localStorage', ACCOUNT_KEY);
        throw new SessionExpiredError();
      }
      // Offline or the server is down: the old token may still be good; the server decides.
      return this.#session.token;
    }
  }

  async signOut(): Promise<void> {
    removeStorage('localStorage', ACCOUNT_KEY);
    await this.#api.post('api/auth/logout', { refresh_token: this.#session.refresh_token }).catch(() => {});
  }
}

/** Where a handed-over token may come from. */
export interface HandedTokenOptions {
  /** The page is the embedded one (`/embed`, or inside a frame). */
  readonly embed: boolean;
  /** The framing site, when framed: it hands fresh tokens over. */
  readonly host: HostLink | undefined;
  /** A saved account session exists; on the full page it wins over a token in a link. */
  readonly hasAccount: boolean;
}

/** A token the host site signed and handed over in the URL fragment (or by postMessage). */
export class HandedTokenSession extends Session {
  readonly canSignOut: boolean;
  #token: string;
  #asking: Promise<string> | undefined;
  readonly #host: HostLink | undefined;
  readonly #dispose: (() => void) | undefined;

  constructor(token: string, host: HostLink | undefined) {
    super();
    this.#token = token;
    this.#host = host;
    // The host site signs its users in and out; on the full page the user may sign out here.
    this.canSignOut = host === undefined;
    this.#dispose = host?.on((m) => {
      if (m.type === 'parley:token') this.#set(m.token);
    });
  }

  /**
   * The token of `#token=…` (then removed from the address bar), or the one this tab had.
   * In the embed, a `token` in the fragment always decides, even empty (the site signed its
   * user out): no older token of the tab is used then. On the full page, a token in a link
   * does not replace a saved account session (someone else's link must not switch accounts).
   */
  static fromLocation(options: HandedTokenOptions): HandedTokenSession | undefined {
    const params = new URLSearchParams(location.hash.slice(1));
    const fromHash = params.get('token');
    if (fromHash !== null) {
      params.delete('token');
      const rest = params.toString();
      history.replaceState(
        null,
        '',
        `${location.pathname}${location.search}${rest === '' ? '' : `#${rest}`}`,
      );
      if (!options.embed && options.hasAccount) return undefined;
      if (fromHash === '') {
        removeStorage('sessionStorage', HANDED_KEY);
        return undefined;
      }
      writeStorage('sessionStorage', HANDED_KEY, fromHash);
      return new HandedTokenSession(fromHash, options.host);
    }
    if (!options.embed && options.hasAccount) return undefined;
    const kept = readStorage('sessionStorage', HANDED_KEY);
    return kept === undefined ? undefined : new HandedTokenSession(kept, options.host);
  }

  #set(token: string): void {
    this.#token = token;
    writeStorage('sessionStorage', HANDED_KEY, token);
  }

  token(): Promise<string> {
    const exp = expiresAt(this.#token);
    if (exp === undefined || exp - Date.now() > REFRESH_AHEAD_MS || this.#host?.origin === undefined) {
      return Promise.resolve(this.#token);
    }
    this.#asking ??= this.#askHost(this.#host).finally(() => {
      this.#asking = undefined;
    });
    return this.#asking;
  }

  /** Asks the host page (widget.js with data-token-url) for a fresh token. */
  #askHost(host: HostLink): Promise<string> {
    const before = this.#token;
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        stop();
        resolve(this.#token);
      };
      const stop = host.on(() => {
        if (this.#token !== before) done();
      });
      const timer = setTimeout(done, PARENT_TIMEOUT_MS);
      host.post({ type: 'parley:token-request' });
    });
  }

  async signOut(): Promise<void> {
    this.#dispose?.();
    removeStorage('sessionStorage', HANDED_KEY);
  }
}

/** The `exp` of a JWT in ms, when it has one (read only to know when to ask for a new one). */
export function expiresAt(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (payload === undefined) return undefined;
  try {
    const json = JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/'))) as { exp?: unknown };
    return typeof json.exp === 'number' ? json.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

// Storage can be unavailable (privacy modes, sandboxed frames): the page then forgets on reload.
// (Even reading `window.localStorage` can throw there, so it is read inside the try.)
type StorageName = 'localStorage' | 'sessionStorage';
function readStorage(storage: StorageName, key: string): string | undefined {
  try {
    return window[storage].getItem(key) ?? undefined;
  } catch {
    return undefined;
  }
}
function writeStorage(storage: StorageName, key: string, value: string): void {
  try {
    window[storage].setItem(key, value);
  } catch {}
}
function removeStorage(storage: StorageName, key: string): void {
  try {
    window[storage].removeItem(key);
  } catch {}
}
