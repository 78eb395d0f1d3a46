import { ParleyClientError } from './parley-client-error.js';

/** A timeout of the client's own: the reply did not come in time (the server did not say). */
export class RequestTimeoutError extends ParleyClientError {
  override readonly name: string = 'RequestTimeoutError';
}
