import { ParleyError } from '../../protocol/error-catalogue.js';
import { revocationOf } from '../core/revalidation.js';
import type { Store } from '../store/store.js';
import type { Identity, TokenVerifier } from './token-verifier.js';

/**
 * A TokenVerifier that also refuses the tokens of banned users and tokens issued before the
 * user's cut-off (`tokens_valid_after`, set by "log out everywhere" and bans), checked on every
 * WebSocket `auth` and `refresh` and every HTTP request. Reports each refusal's code. It keeps
 * no cache: every check reads the user's status from the Store, so a ban or logout applies to
 * the next token check on every node, whatever the bus lost. (Live connections are closed by
 * the `kick` event, and by the core's re-checks when that may have been lost.)
 */
export class RevocationCheckingVerifier implements TokenVerifier {
  readonly #inner: TokenVerifier;
  readonly #store: Pick<Store, 'getUserStatus'>;
  readonly #onRefused: (code: string) => void;

  constructor(
    inner: TokenVerifier,
    store: Pick<Store, 'getUserStatus'>,
    onRefused: (code: string) => void = () => {},
  ) {
    this.#inner = inner;
    this.#store = store;
    this.#onRefused = onRefused;
  }

  async verify(token: string): Promise<Identity> {
    try {
      const identity = await this.#inner.verify(token);
      const status = await this.#store.getUserStatus(identity.userId);
      const revoked = revocationOf(status, identity.issuedAt);
      if (revoked === 'banned') throw new ParleyError('auth_failed', 'this user is banned');
      if (revoked === 'revoked') throw new ParleyError('auth_failed', 'token was revoked; sign in again');
      return identity;
    } catch (err) {
      this.#onRefused(err instanceof ParleyError ? reason(err) : 'error');
      throw err;
    }
  }
}

function reason(err: ParleyError): string {
  if (err.message === 'this user is banned') return 'banned';
  if (err.message.startsWith('token was revoked')) return 'revoked';
  return err.code;
}
