import { isIP } from 'node:net';

/**
 * The address of the client behind a request. The socket's peer, unless that peer is one of
 * `trusted` (your reverse proxies): then the nearest address in `X-Forwarded-For` that is not a
 * trusted proxy, read from the right, since only the entries your proxies appended can be
 * believed (a client can send any `X-Forwarded-For` it likes). A malformed entry stops the
 * walk at the last address known good.
 */
export function clientIp(
  peer: string | undefined,
  forwardedFor: string | readonly string[] | undefined,
  trusted: ReadonlySet<string>,
): string {
  let ip = normalize(peer ?? '');
  if (!trusted.has(ip) || forwardedFor === undefined) return ip;
  const hops = (typeof forwardedFor === 'string' ? forwardedFor : forwardedFor.join(','))
    .split(',')
    .map((s) => normalize(s.trim()));
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i] as string;
    if (isIP(hop) === 0) break;
    ip = hop;
    if (!trusted.has(hop)) break;
  }
  return ip;
}

/** The proxies of `PARLEY_TRUSTED_PROXIES`: IP addresses, or `loopback` for this machine's. */
export function trustedProxySet(addresses: readonly string[]): ReadonlySet<string> {
  const set = new Set<string>();
  for (const a of addresses) {
    if (a === 'loopback') for (const l of ['127.0.0.1', '::1']) set.add(l);
    else set.add(normalize(a));
  }
  return set;
}

// An IPv4 peer of a dual-stack socket shows as ::ffff:1.2.3.4; one spelling per address.
function normalize(ip: string): string {
  return ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip.toLowerCase();
}
