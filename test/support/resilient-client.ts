import type WebSocket from 'ws';
import { ParleyClient } from '../../src/client/index.js';
import { DroppableWebSocket } from './droppable-web-socket.js';

/**
 * Connects an SDK client the fault tests can cut (DroppableWebSocket) and that keeps trying:
 * short reconnect delays, a long publish deadline. Adds it to `clients` for the test to close.
 */
export async function connectResilientClient(
  url: string,
  token: () => Promise<string>,
  clients: ParleyClient[],
): Promise<ParleyClient> {
  const c = new ParleyClient({
    url,
    token,
    WebSocket: DroppableWebSocket as unknown as typeof WebSocket,
    minDelayMs: 50,
    maxDelayMs: 500,
    publishTimeoutMs: 60_000,
  });
  clients.push(c);
  await c.connect();
  return c;
}
