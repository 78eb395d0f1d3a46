import { createHash } from 'node:crypto';
import { CHANNEL_ID_PATTERN } from '../../../protocol/field-rules.js';
import type { PusherApp } from '../../config-pusher.js';

/** What a Pusher channel name makes of a channel (by its prefix, as pusher-js does). */
export type PusherChannelKind = 'public' | 'private' | 'presence' | 'encrypted' | 'user' | 'cache';

const NAME = /^[A-Za-z0-9_\-=@,.;]+$/;
const USER_CHANNEL = '#server-to-user-';

/** The kind of a channel name; `cache-` channels are public ones that keep their last event. */
export function channelKind(name: string): PusherChannelKind {
  if (name.startsWith('private-encrypted-')) return 'encrypted';
  if (name.startsWith('private-')) return 'private';
  if (name.startsWith('presence-')) return 'presence';
  if (name.startsWith(USER_CHANNEL)) return 'user';
  if (name.startsWith('cache-')) return 'cache';
  return 'public';
}

/** Whether a subscriber needs the app's signature for the channel. */
export function needsAuth(kind: PusherChannelKind): boolean {
  return kind === 'private' || kind === 'presence' || kind === 'encrypted';
}

/** The channel a signed-in user's server-to-user events go to. */
export function userChannel(userId: string): string {
  return `${USER_CHANNEL}${userId}`;
}

/** Why a channel name is not acceptable for the app, or undefined when it is. */
export function invalidChannelName(app: PusherApp, name: unknown): string | undefined {
  if (typeof name !== 'string' || name === '') return 'a channel name must be a non-empty string';
  if (name.length > app.maxChannelNameChars)
    return `channel names are at most ${app.maxChannelNameChars} characters`;
  if (name.startsWith(USER_CHANNEL))
    return name.length > USER_CHANNEL.length ? undefined : 'no user id in the channel name';
  if (!NAME.test(name)) return 'channel names are made of A-Z, a-z, 0-9 and _ - = @ , . ;';
  return undefined;
}

/**
 * The Parley channel ids of Pusher channel names, and back. A name that is a valid Parley id
 * (with the app's prefix) is used as is, so `orders` is the Parley channel `orders`; any other
 * (longer than 100 characters, or with `=@,;#`) gets a stable hashed id `px:…`, and its Parley
 * title is the name. The reverse map holds every name this node has mapped.
 */
export class PusherChannelNames {
  readonly #names = new Map<string, { readonly app: PusherApp; readonly name: string }>();

  /** The Parley channel id of `name` in `app`. */
  idOf(app: PusherApp, name: string): string {
    const full = `${app.channelPrefix}${name}`;
    const id = CHANNEL_ID_PATTERN.test(full)
      ? full
      : `px:${createHash('sha256').update(full).digest('base64url').slice(0, 40)}`;
    if (!this.#names.has(id)) this.#names.set(id, { app, name });
    return id;
  }

  /** The Pusher name of a Parley channel id this node mapped, or undefined. */
  nameOf(id: string): string | undefined {
    return this.#names.get(id)?.name;
  }

  /** The app and name of a Parley channel id this node mapped, or undefined. */
  channelOf(id: string): { readonly app: PusherApp; readonly name: string } | undefined {
    return this.#names.get(id);
  }

  /** The names of `app`'s channels this node has mapped (subscribed or triggered through it). */
  namesOf(app: PusherApp): { readonly id: string; readonly name: string }[] {
    const found: { id: string; name: string }[] = [];
    for (const [id, c] of this.#names) if (c.app === app) found.push({ id, name: c.name });
    return found;
  }
}
