/**
 * The chat page's service worker (served as /sw.js, scope: the page's directory): shows a
 * Parley push (docs/api.md § Web Push) as a notification, one per channel (its tag), and on a
 * click focuses an open page and tells it to open the channel, or opens the page on it. It
 * renders nothing but notification text, and fetches nothing.
 */

// The service worker globals this file uses (the page's tsconfig has the DOM's, not a worker's).
interface PushMessage {
  json(): unknown;
}
interface ShownNotification {
  readonly data: unknown;
  close(): void;
}
interface WindowClient {
  readonly url: string;
  focus(): Promise<unknown>;
  postMessage(message: unknown): void;
}
interface WorkerScope {
  readonly registration: {
    readonly scope: string;
    showNotification(title: string, options: Record<string, unknown>): Promise<void>;
  };
  readonly clients: {
    matchAll(options: { type: 'window'; includeUncontrolled: boolean }): Promise<readonly WindowClient[]>;
    openWindow(url: string): Promise<unknown>;
    claim(): Promise<void>;
  };
  skipWaiting(): Promise<void>;
  addEventListener(
    type: 'install' | 'activate',
    fn: (e: { waitUntil(p: Promise<unknown>): void }) => void,
  ): void;
  addEventListener(
    type: 'push',
    fn: (e: { readonly data: PushMessage | null; waitUntil(p: Promise<unknown>): void }) => void,
  ): void;
  addEventListener(
    type: 'notificationclick',
    fn: (e: { readonly notification: ShownNotification; waitUntil(p: Promise<unknown>): void }) => void,
  ): void;
}

interface Payload {
  readonly type?: unknown;
  readonly channel?: unknown;
  readonly kind?: unknown;
  readonly title?: unknown;
  readonly messages?: unknown;
  readonly urgent?: unknown;
  readonly latest?: { readonly username?: unknown; readonly text?: unknown } | null;
}

const sw = self as unknown as WorkerScope;

sw.addEventListener('install', (e) => e.waitUntil(sw.skipWaiting()));
sw.addEventListener('activate', (e) => e.waitUntil(sw.clients.claim()));

sw.addEventListener('push', (e) => {
  let p: Payload;
  try {
    p = (e.data?.json() ?? {}) as Payload;
  } catch {
    return;
  }
  if (p.type !== 'parley.messages' || typeof p.channel !== 'string') return;
  e.waitUntil(sw.registration.showNotification(notificationTitle(p), notificationOptions(p, p.channel)));
});

sw.addEventListener('notificationclick', (e) => {
  e.notification.close();
  const data = e.notification.data as { readonly channel?: unknown } | null;
  const channel = typeof data?.channel === 'string' ? data.channel : undefined;
  e.waitUntil(openChannel(channel));
});

function notificationTitle(p: Payload): string {
  const title = typeof p.title === 'string' ? p.title : 'Parley';
  return p.kind === 'dm' ? title : `#${title}`;
}

function notificationOptions(p: Payload, channel: string): Record<string, unknown> {
  const n = typeof p.messages === 'number' ? p.messages : 1;
  const latest = p.latest;
  const line =
    latest !== null && latest !== undefined && typeof latest.text === 'string' && latest.text !== ''
      ? `${String(latest.username ?? '')}: ${latest.text}`
      : `${n} new message${n === 1 ? '' : 's'}`;
  return {
    body: n > 1 && latest?.text ? `${line} (+${n - 1} more)` : line,
    // One notification per channel: a newer push replaces it.
    tag: `parley:${channel}`,
    renotify: p.urgent === true,
    data: { channel },
    icon: new URL('favicon.svg', sw.registration.scope).href,
  };
}

async function openChannel(channel: string | undefined): Promise<void> {
  const scope = new URL(sw.registration.scope);
  const pages = await sw.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const page = pages.find((c) => new URL(c.url).pathname.startsWith(scope.pathname));
  if (page !== undefined) {
    if (channel !== undefined) page.postMessage({ type: 'parley:open', channel });
    // Allowed during a notification click; refused otherwise, which changes nothing else.
    await page.focus().catch(() => undefined);
    return;
  }
  const url = new URL('./', scope);
  if (channel !== undefined) url.searchParams.set('channel', channel);
  await sw.clients.openWindow(url.href);
}
