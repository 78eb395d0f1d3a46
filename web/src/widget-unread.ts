/**
 * The widget's unread count before its panel was ever opened (no frame, no WebSocket yet):
 * one `GET /api/channels` with the site's token, from the host page. It needs the host site in
 * `PARLEY_ALLOWED_ORIGINS` (CORS) and Parley in the site's `connect-src`; without them, or
 * with a token refused, there is no count (undefined) and the button shows none.
 */

interface ListedChannel {
  readonly id?: unknown;
  readonly role?: unknown;
  readonly unread?: unknown;
}

/**
 * Unread messages of `channel` (or of every channel the user is in); `'refused'` when the token
 * was (401: ask the site for a fresh one), undefined when unknown for another reason.
 */
export async function unreadBeforeOpen(
  base: URL,
  token: string,
  channel: string | undefined,
): Promise<number | 'refused' | undefined> {
  if (token === '') return undefined;
  try {
    const res = await fetch(new URL('api/channels', base), {
      headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' },
      credentials: 'omit',
    });
    if (res.status === 401) return 'refused';
    if (!res.ok) return undefined;
    const body = (await res.json()) as { channels?: unknown };
    if (!Array.isArray(body.channels)) return undefined;
    let n = 0;
    for (const c of body.channels as ListedChannel[]) {
      if (c.role === null || typeof c.unread !== 'number') continue;
      if (channel === undefined || c.id === channel) n += c.unread;
    }
    return n;
  } catch {
    return undefined;
  }
}
