/** The page's side of Web Push (docs/api.md § Web Push): the service worker, the opt-in, the routing of clicks. */
import type { Api } from './api.js';

/** Where the page stands with push in this browser. */
export type PushState = 'unsupported' | 'off' | 'denied' | 'on';

/** Whether this browser can do push, and whether this page's user turned it on here. */
export async function pushState(): Promise<PushState> {
  if (!('serviceWorker' in navigator) || !('PushManager' in window) || !('Notification' in window))
    return 'unsupported';
  if (Notification.permission === 'denied') return 'denied';
  const registration = await navigator.serviceWorker.getRegistration('./');
  const subscription = await registration?.pushManager.getSubscription();
  return subscription !== null && subscription !== undefined && Notification.permission === 'granted'
    ? 'on'
    : 'off';
}

let serverPush: Promise<boolean> | undefined;

/** Whether this server sends Web Push (asked once per page; false when it cannot be asked). */
export function serverHasPush(api: Api): Promise<boolean> {
  serverPush ??= api.get<{ enabled: boolean }>('api/push/vapid-public-key').then(
    (r) => r.enabled,
    () => false,
  );
  return serverPush;
}

/**
 * Turns push on for this browser: asks for permission (call it from a user's click, never on
 * load), registers the service worker, subscribes with the server's VAPID key and stores the
 * subscription for the signed-in user. Resolves with the state reached.
 */
export async function enablePush(api: Api): Promise<PushState> {
  if ((await pushState()) === 'unsupported') return 'unsupported';
  const permission = await Notification.requestPermission();
  if (permission !== 'granted') return permission === 'denied' ? 'denied' : 'off';
  const { public_key } = await api.get<{ public_key: string }>('api/push/vapid-public-key');
  await navigator.serviceWorker.register('sw.js', { scope: './' });
  const registration = await navigator.serviceWorker.ready;
  const subscription =
    (await registration.pushManager.getSubscription()) ??
    (await registration.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: fromBase64Url(public_key),
    }));
  await api.post('api/push/subscriptions', subscription.toJSON());
  return 'on';
}

/** Turns push off for this browser: the server forgets the subscription, the browser drops it. */
export async function disablePush(api: Api): Promise<PushState> {
  const registration = await navigator.serviceWorker.getRegistration('./');
  const subscription = await registration?.pushManager.getSubscription();
  if (subscription !== null && subscription !== undefined) {
    await api.delete('api/push/subscriptions', { endpoint: subscription.endpoint }).catch(() => undefined);
    await subscription.unsubscribe();
  }
  return 'off';
}

/** Calls `open` with the channel of each notification clicked (the service worker's message); returns the disposer. */
export function onNotificationClick(open: (channel: string) => Promise<void>): () => void {
  if (!('serviceWorker' in navigator)) return () => {};
  const listener = (e: MessageEvent) => {
    const data = e.data as { type?: unknown; channel?: unknown } | null;
    if (data?.type === 'parley:open' && typeof data.channel === 'string') void open(data.channel);
  };
  navigator.serviceWorker.addEventListener('message', listener);
  // Messages wait until the page says it listens.
  navigator.serviceWorker.startMessages();
  return () => navigator.serviceWorker.removeEventListener('message', listener);
}

function fromBase64Url(text: string): Uint8Array<ArrayBuffer> {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/');
  const raw = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  const bytes = new Uint8Array(new ArrayBuffer(raw.length));
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes;
}
