/**
 * Message text as segments to render as text nodes: plain text, http(s) links and @mentions.
 * Nothing here produces markup; the components put each segment in a text node or in the
 * `href` of an anchor, so what a user types can never run as script.
 */

export type Segment =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'link'; readonly text: string; readonly href: string }
  | { readonly kind: 'mention'; readonly text: string; readonly me: boolean };

// A URL runs to the next space or angle bracket or quote; trailing punctuation is not part of it.
const URL_OR_MENTION = /\bhttps?:\/\/[^\s<>"'`]+|(?<![\w@])@[A-Za-z0-9][A-Za-z0-9_.-]{0,63}/gi;
const TRAILING = /[.,;:!?'")\]}]+$/;

/** Splits `text` into segments; `me` (a username) marks mentions of the reader. */
export function segments(text: string, me?: string): Segment[] {
  const out: Segment[] = [];
  let last = 0;
  const pushText = (t: string) => {
    if (t === '') return;
    const prev = out[out.length - 1];
    if (prev?.kind === 'text') out[out.length - 1] = { kind: 'text', text: prev.text + t };
    else out.push({ kind: 'text', text: t });
  };
  for (const match of text.matchAll(URL_OR_MENTION)) {
    const start = match.index;
    let token = match[0];
    if (token.startsWith('@')) {
      // "@bob." at the end of a sentence mentions bob.
      token = token.replace(/[.-]+$/, '');
      pushText(text.slice(last, start));
      const name = token.slice(1).toLowerCase();
      out.push({ kind: 'mention', text: token, me: me !== undefined && name === me.toLowerCase() });
      last = start + token.length;
      continue;
    }
    token = trimTrailing(token);
    const href = safeHref(token);
    pushText(text.slice(last, start));
    if (href === undefined) pushText(token);
    else out.push({ kind: 'link', text: token, href });
    last = start + token.length;
  }
  pushText(text.slice(last));
  return out;
}

/** True when `text` mentions `username` (as `@username`, case-insensitively). */
export function mentions(text: string, username: string): boolean {
  return segments(text, username).some((s) => s.kind === 'mention' && s.me);
}

/** Splits `text` at `[start, end)` ranges (search highlights) into plain and marked parts. */
export function highlight(
  text: string,
  ranges: readonly (readonly [number, number])[],
): { readonly text: string; readonly marked: boolean }[] {
  const out: { text: string; marked: boolean }[] = [];
  let at = 0;
  for (const [start, end] of [...ranges].sort((a, b) => a[0] - b[0])) {
    const s = Math.max(at, Math.min(start, text.length));
    const e = Math.max(s, Math.min(end, text.length));
    if (s > at) out.push({ text: text.slice(at, s), marked: false });
    if (e > s) out.push({ text: text.slice(s, e), marked: true });
    at = e;
  }
  if (at < text.length) out.push({ text: text.slice(at), marked: false });
  return out;
}

function trimTrailing(url: string): string {
  let t = url.replace(TRAILING, '');
  // Keep a closing parenthesis that closes one in the URL (Wikipedia links).
  const opens = (url.match(/\(/g) ?? []).length;
  if (opens > 0 && url.length > t.length && url[t.length] === ')') {
    const closes = (t.match(/\)/g) ?? []).length;
    if (closes < opens) t = url.slice(0, t.length + 1);
  }
  return t;
}

/** The URL as an href when it parses as http(s); anything else stays text. */
function safeHref(candidate: string): string | undefined {
  try {
    const url = new URL(candidate);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}
