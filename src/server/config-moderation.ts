// The before-publish hook's settings (issue 17), read from the environment by `loadConfig`.
import { ParleyError } from '../protocol/error-catalogue.js';

/** Where the app's before-publish hook is, and what a missing answer means. */
export interface BeforePublishConfig {
  /** `PARLEY_BEFORE_PUBLISH_URL`: an http(s) URL each user post is POSTed to before it is stored. */
  readonly url: string;
  /**
   * `PARLEY_BEFORE_PUBLISH_FAIL`: `open` (default) accepts a post the hook did not answer in
   * time (or answered wrongly); `closed` refuses it with `unavailable`.
   */
  readonly failOpen: boolean;
}

/**
 * The before-publish settings, or undefined without `PARLEY_BEFORE_PUBLISH_URL`. The hook is
 * signed with `PARLEY_WEBHOOK_SECRET`, so it needs one (`hasSecret`).
 */
export function loadBeforePublish(
  env: NodeJS.ProcessEnv,
  hasSecret: boolean,
): BeforePublishConfig | undefined {
  const url = env.PARLEY_BEFORE_PUBLISH_URL || undefined;
  const fail = env.PARLEY_BEFORE_PUBLISH_FAIL || 'open';
  if (fail !== 'open' && fail !== 'closed') {
    throw new ParleyError(
      'bad_request',
      `PARLEY_BEFORE_PUBLISH_FAIL must be "open" or "closed", got "${fail}"`,
    );
  }
  if (url === undefined) return undefined;
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    throw new ParleyError('bad_request', `PARLEY_BEFORE_PUBLISH_URL: "${url}" is not a URL`);
  }
  if (protocol !== 'http:' && protocol !== 'https:') {
    throw new ParleyError('bad_request', `PARLEY_BEFORE_PUBLISH_URL: "${url}" must be an http(s) URL`);
  }
  if (!hasSecret) {
    throw new ParleyError(
      'bad_request',
      'PARLEY_BEFORE_PUBLISH_URL is set, so PARLEY_WEBHOOK_SECRET must be too (at least 32 random bytes): the hook is signed with it',
    );
  }
  return { url, failOpen: fail === 'open' };
}
