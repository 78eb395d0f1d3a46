import type { ChatObserver } from '../core/chat-observer.js';
import type { WebhookDispatcher } from './webhook-dispatcher.js';

/**
 * The ChatObserver hooks that turn chat events into webhooks: `message.created` (the message
 * object as history shows it), `member.added` / `member.updated` / `member.removed`
 * (`{ channel, user_id, role, previous_role }`), `user.online` / `user.offline` (`{ user }`).
 */
export function chatWebhooks(
  dispatcher: WebhookDispatcher,
): Required<Pick<ChatObserver, 'messageCreated' | 'memberChanged' | 'userOnline' | 'userOffline'>> {
  return {
    messageCreated: (message) => dispatcher.send('message.created', { message }),
    memberChanged: (channel, userId, role, previous) =>
      dispatcher.send(
        role === null ? 'member.removed' : previous === undefined ? 'member.added' : 'member.updated',
        {
          channel,
          user_id: userId,
          role,
          previous_role: previous ?? null,
        },
      ),
    userOnline: (user) => dispatcher.send('user.online', { user }),
    userOffline: (user) => dispatcher.send('user.offline', { user }),
  };
}
