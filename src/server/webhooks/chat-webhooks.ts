import type { ChatObserver } from '../core/chat-observer.js';
import type { NewWebhook, Store } from '../store/store.js';
import type { ClusterOnline } from './cluster-online.js';
import type { WebhookSender } from './webhook-sender.js';

/**
 * The ChatObserver hooks of Parley-format webhooks. `message.created` and `member.*` are
 * written to the outbox by the Store in the change's own transaction (`Store.routeWebhooks`):
 * their hooks only wake the sender. `user.online` / `user.offline` (`{ user }`) are the
 * cluster's transitions: this node's go to `ClusterOnline`, which writes the event with the
 * transition when it is the user's first or last node.
 */
export function chatWebhooks(
  sender: WebhookSender,
  online: ClusterOnline,
): Required<Pick<ChatObserver, 'messageCreated' | 'memberChanged' | 'userOnline' | 'userOffline'>> {
  return {
    messageCreated: () => sender.wake(),
    memberChanged: () => sender.wake(),
    userOnline: (user) => online.connected(user),
    userOffline: (user) => online.disconnected(user),
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
