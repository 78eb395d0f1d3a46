import type { UserInfo } from '../../protocol/frames.js';

/** What the app's before-publish hook is asked about: a user's message, before it is stored. */
export interface BeforePublishRequest {
  readonly channel: string;
  readonly user: UserInfo;
  /** The text as it would be stored (after the word filters). */
  readonly text: string;
}

/** The hook's answer: store the message as it is, refuse it, or store another text instead. */
export type BeforePublishAnswer =
  | { readonly action: 'accept' }
  | { readonly action: 'reject'; readonly reason?: string | undefined }
  | { readonly action: 'replace'; readonly text: string };

/**
 * The app's say on each user message before it is stored (issue 17). When the app does not
 * answer in time, or answers something else, the implementation's fail-open / fail-closed
 * setting decides: `check` resolves `accept`, or rejects with `ParleyError('unavailable')`.
 * Messages the server API posts (the app's own) are not asked about.
 */
export interface BeforePublish {
  check(request: BeforePublishRequest): Promise<BeforePublishAnswer>;
}
