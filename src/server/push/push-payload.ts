import { createHash } from 'node:crypto';
import type { ChannelKind, Message } from '../../protocol/frames.js';

/** The longest message text a push carries (the start of the newest message). */
export const PUSH_TEXT_MAX = 140;
/** The longest title a push carries. */
const TITLE_MAX = 100;

/**
 * What a push holds (docs/api.md § Web Push), the JSON the service worker reads: the channel
 * and how the user sees it, how many messages it stands for, whether one was a DM or mentioned
 * them, and the newest message's id, seq, sender and the start of its text (none once deleted).
 * It is built at send time, after the check that the user may still read the channel.
 */
export interface PushPayload {
  readonly type: 'parley.messages';
  readonly channel: string;
  readonly kind: ChannelKind;
  readonly title: string;
  readonly messages: number;
  readonly urgent: boolean;
  readonly latest: {
    readonly id: string;
    readonly seq: number;
    readonly username: string;
    readonly text: string;
  } | null;
}

/** The payload of a collapsed push. */
export function pushPayload(input: {
  readonly channel: { readonly id: string; readonly kind: ChannelKind; readonly title: string };
  readonly messages: number;
  readonly urgent: boolean;
  readonly latest: Message | undefined;
}): PushPayload {
  const { channel, latest } = input;
  // A DM is named after the other member, who sent its messages.
  const title = channel.kind === 'dm' && latest !== undefined ? latest.username : channel.title;
  return {
    type: 'parley.messages',
    channel: channel.id,
    kind: channel.kind,
    title: cut(title, TITLE_MAX),
    messages: input.messages,
    urgent: input.urgent,
    latest:
      latest === undefined
        ? null
        : {
            id: latest.id,
            seq: latest.seq,
            username: cut(latest.username, TITLE_MAX),
            text: latest.deleted === true ? '' : cut(latest.text, PUSH_TEXT_MAX),
          },
  };
}

/**
 * The push `Topic` of a channel: a push service keeps only the newest undelivered push of one
 * topic, so a user's pushes collapse per channel there too. 32 base64url characters.
 */
export function pushTopic(channelId: string): string {
  return createHash('sha256').update(channelId).digest('base64url').slice(0, 32);
}

// Cut at a code point, with an ellipsis when anything was cut.
function cut(text: string, max: number): string {
  const points = [...text];
  return points.length <= max ? text : `${points.slice(0, max - 1).join('')}…`;
}

/** Mentions are `@name`, any case, not followed by a letter, digit or `_` (as unread counts read them). */
export function mentions(text: string, username: string): boolean {
  const escaped = username.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`@${escaped}(?![\\p{L}\\p{N}_])`, 'iu').test(text);
}

/** Most `@` mentions looked up in one message, and most names looked up for them. */
const MENTIONS_MAX = 20;
const NAMES_MAX = 100;

/**
 * The lower-cased names a text may mention: for each `@` (the first `MENTIONS_MAX`), every run
 * of non-space characters after it that ends where a mention may end (before a character that
 * is not a letter, digit or `_`, or at the end). Usernames with spaces are not found.
 */
export function mentionedNames(text: string): string[] {
  const names = new Set<string>();
  let found = 0;
  for (const m of text.matchAll(/@(\S{1,200})/gu)) {
    if (++found > MENTIONS_MAX) break;
    const word = [...(m[1] as string)];
    for (let end = 1; end <= word.length; end++) {
      const next = word[end];
      if (next === undefined || !/[\p{L}\p{N}_]/u.test(next))
        names.add(word.slice(0, end).join('').toLowerCase());
    }
  }
  return [...names].slice(0, NAMES_MAX);
}
