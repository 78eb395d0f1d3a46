import type { UserInfo } from '../../protocol/frames.js';
import type { ChatObserver } from '../core/chat-observer.js';
import type { NewWebhook, Store, WebhookRouting } from '../store/store.js';
import { parleyWebhooks } from '../store/webhook-rows.js';
import type { WebhookSender } from './webhook-sender.js';

/**
 * The ChatObserver hooks of Parley-format webhooks. `message.created` and `member.*` are
 * written to the outbox by the Store in the change's own transaction (`Store.routeWebhooks`):
 * their hooks only wake the sender. `user.online` / `user.offline` (`{ user }`) have no
 * transaction: they are written to the outbox here, then sent.
 */
export function chatWebhooks(
  store: Store,
  routing: WebhookRouting,
  sender: WebhookSender,
  onError: (err: unknown, what: string) => void,
): Required<Pick<ChatObserver, 'messageCreated' | 'memberChanged' | 'userOnline' | 'userOffline'>> {
  const presence = (type: 'user.online' | 'user.offline', user: UserInfo) =>
    enqueue(store, sender, parleyWebhooks(routing, type, { user }, Date.now()), onError);
  return {
    messageCreated: () => sender.wake(),
    memberChanged: () => sender.wake(),
    userOnline: (user) => presence('user.online', user),
    userOffline: (user) => presence('user.offline', user),
  };
}

/** Writes deliveries to the outbox, then wakes the sender; a failure is reported, not thrown. */
export function enqueue(
  store: Store,
  sender: WebhookSender,
  deliveries: readonly NewWebhook[],
  onError: (err: unknown, what: string) => void,
): void {
  store.enqueueWebhooks(deliveries).then(
    () => sender.wake(),
    (err) => onError(err, 'webhook outbox write'),
  );
}
